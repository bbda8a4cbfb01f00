/** One line per stored run (`chaos report list`): as JSON rows and as a table. */
import type { ChalkInstance } from 'chalk'
import type { RunOutcome, RunRecord } from '../src/record.js'
import { fitTable, type TableColumn } from '../src/render/table.js'

/** A past run in brief, snake_case like the report. */
export interface RunSummary {
  run_id: string
  started_at: string
  finished_at: string
  selection: string[]
  outcome: RunOutcome
  partial: boolean
  exit_code: number
  /** Experiments in the run, including skipped ones. */
  experiments: number
  /** Completed with the hypothesis held. */
  passed: number
  /** Run but not passed: hypothesis not held, aborted, interrupted or failed. */
  failed: number
  skipped: number
  file: string
}

export function summarizeRun(record: RunRecord, file: string): RunSummary {
  const ran = record.experiments.filter((e) => e.state !== 'SKIPPED')
  const passed = ran.filter((e) => e.state === 'COMPLETED' && e.hypothesis_held === true).length
  return {
    run_id: record.run_id,
    started_at: record.started_at,
    finished_at: record.finished_at,
    selection: record.selection,
    outcome: record.outcome,
    partial: record.partial,
    exit_code: record.exit_code,
    experiments: record.experiments.length,
    passed,
    failed: ran.length - passed,
    skipped: record.experiments.length - ran.length,
    file,
  }
}

/** One summary per stored run (`ReportStore.listRuns`), in the order given. */
export function summarizeRuns(runs: readonly { file: string; record: RunRecord }[]): RunSummary[] {
  return runs.map((r) => summarizeRun(r.record, r.file))
}

/** `2026-11-28 11:22:33Z`: the start time, short enough for a table. */
function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
}

/**
 * The columns of `report list`: at a narrow width the start time goes first (the run id starts
 * with it), then short headings; the selection wraps; then passed/failed and the count go.
 */
const RUN_LIST_COLUMNS: readonly TableColumn[] = [
  { head: 'run_id' },
  { head: 'started', expendable: true },
  { head: 'selection', min: 10 },
  { head: 'outcome', shortCell: (s) => s.replace(' (partial)', ' (part.)') },
  { head: 'experiments', short: 'exp.', priority: 2, shortCell: (s) => s.replace(' skipped)', ' sk.)') },
  { head: 'passed/failed', short: 'ok/fail', priority: 1 },
]

/** The table of past runs, newest first as given; `width` narrows it to a terminal. */
export function runListTable(summaries: readonly RunSummary[], color: ChalkInstance, width?: number): string {
  const columns = RUN_LIST_COLUMNS.map((col) => ({
    ...col,
    head: color.bold(col.head),
    ...(col.short !== undefined && { short: color.bold(col.short) }),
  }))
  const rows = summaries.map((s) => {
    const outcome =
      s.outcome === 'PASSED'
        ? color.green(s.outcome)
        : s.outcome === 'INTERRUPTED' || s.outcome === 'INCONCLUSIVE'
          ? color.yellow(s.outcome)
          : color.red(s.outcome)
    return [
      s.run_id,
      shortTime(s.started_at),
      s.selection.join(' '),
      s.partial ? `${outcome} (partial)` : outcome,
      s.skipped > 0 ? `${s.experiments} (${s.skipped} skipped)` : String(s.experiments),
      `${s.passed}/${s.failed}`,
    ]
  })
  return fitTable(columns, rows, { width, rowRules: true })
}
