/**
 * How `chaos run` ends in a terminal, a pipe or a CI log alike: the summary table (narrowed to the
 * terminal), the digest (verdict, failed checks, what to do) and where the reports are, then the
 * outcome. The whole text report is in the `.txt` file (`chaos report latest` prints it), not on
 * the screen: 200 lines scrolled past would hide the verdict.
 */
import { basename, dirname, isAbsolute, relative, sep } from 'node:path'
import { runDigest } from '../../reports/digest.js'
import { runSummaryTable } from '../../reports/run-table.js'
import type { RunRecord } from '../record.js'
import { wrapCell } from '../render/table.js'
import type { WrittenRun } from '../store/report-store.js'
import type { Output } from './output.js'

/**
 * A fault that may still be live is said on the screen whatever else is shown, with the command
 * that removes it (exit 4's next step, README "Exit codes").
 */
export function unverifiedRollbackLines(record: RunRecord, c: Output['color']): string[] {
  const unverified = record.experiments.filter((e) => e.rollback.attempted && !e.rollback.verified)
  if (unverified.length === 0) return []
  return [
    c.red(
      `ROLLBACK NOT VERIFIED for ${unverified.map((e) => e.id).join(', ')}: the fault may still be live; run chaos stop --all`,
    ),
  ]
}

/**
 * Where the reports are: their folder (relative to `cwd` when inside it), then one file a line, the
 * text report first (the one to read). A folder line and bare names fit a narrow terminal where
 * whole paths would not.
 */
export function reportPathLines(written: Pick<WrittenRun, 'files' | 'text'>, cwd: string): string[] {
  const dir = dirname(written.text)
  const rel = relative(cwd, dir)
  const shown = rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? dir : rel
  const names = [written.text, ...Object.values(written.files).filter((f) => f !== written.text)].map(
    (file) => `  ${dirname(file) === dir ? basename(file) : file}`,
  )
  return [`reports in ${shown}${sep}`, ...names]
}

/** The lines `chaos run` ends with; with `quiet`, only the outcome and the text report's path (as before). */
export function runEndLines(
  record: RunRecord,
  written: Pick<WrittenRun, 'files' | 'text'>,
  out: Pick<Output, 'color' | 'columns'>,
  options: { cwd: string; quiet?: boolean },
): string[] {
  const outcome = `${record.outcome} (exit ${record.exit_code})`
  if (options.quiet) return [`${outcome} · report: ${written.text}`]
  const table = record.experiments.length > 0 ? [runSummaryTable(record, out.color, out.columns)] : []
  return [
    '',
    ...table,
    // The digest is never cut on the screen: a line wider than the terminal wraps, indented.
    ...runDigest(record).flatMap((line) =>
      wrapCell(line, out.columns - 2).map((part, i) => (i === 0 ? part : `  ${part}`)),
    ),
    ...unverifiedRollbackLines(record, out.color),
    ...reportPathLines(written, options.cwd),
    outcome,
  ]
}
