/** One line per stored run (`chaos report list`): as JSON rows and as a table. */
import type { ChalkInstance } from 'chalk'
import Table from 'cli-table3'
import type { RunOutcome, RunRecord } from '../src/record.js'

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

/** The table of past runs, newest first as given. */
export function runListTable(summaries: readonly RunSummary[], color: ChalkInstance): string {
  const table = new Table({
    head: ['run_id', 'started', 'selection', 'outcome', 'experiments', 'passed/failed'].map((h) =>
      color.bold(h),
    ),
    style: { head: [], border: [] },
  })
  for (const s of summaries) {
    const outcome =
      s.outcome === 'PASSED'
        ? color.green(s.outcome)
        : s.outcome === 'INTERRUPTED' || s.outcome === 'INCONCLUSIVE'
          ? color.yellow(s.outcome)
          : color.red(s.outcome)
    table.push([
      s.run_id,
      shortTime(s.started_at),
      s.selection.join(' '),
      s.partial ? `${outcome} (partial)` : outcome,
      s.skipped > 0 ? `${s.experiments} (${s.skipped} skipped)` : String(s.experiments),
      `${s.passed}/${s.failed}`,
    ])
  }
  return table.toString()
}
