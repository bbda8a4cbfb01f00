/**
 * The run's summary table (one row per experiment): the end of the text report, and what a run
 * prints when it ends. Narrowed to the terminal when given a width (src/render/table.ts).
 */
import type { ChalkInstance } from 'chalk'
import type { RunRecord } from '../src/record.js'
import { fitTable, type TableColumn } from '../src/render/table.js'
import { ms, pct, seconds } from '../src/wording.js'

/** A run outcome or experiment state in its colour: green passed, yellow undecided, red failed. */
export function outcomeColor(c: ChalkInstance, outcome: string): string {
  if (outcome === 'PASSED' || outcome === 'COMPLETED') return c.green(outcome)
  if (outcome === 'INTERRUPTED' || outcome === 'SKIPPED' || outcome === 'INCONCLUSIVE')
    return c.yellow(outcome)
  return c.red(outcome)
}

/**
 * The columns: at a narrow width, short headings first, then the least telling measures go
 * (trips, p95, MTTR, error rate, availability, state); the experiment, hypothesis and rollback stay.
 */
const COLUMNS: readonly TableColumn[] = [
  { head: 'Experiment', min: 20 },
  { head: 'State', priority: 6, shortCell: (s) => (s === 'COMPLETED' ? 'done' : s) },
  { head: 'Hypothesis', short: 'Hyp.' },
  { head: 'Availability', short: 'Avail.', priority: 5 },
  { head: 'Error rate', short: 'Errors', priority: 4 },
  { head: 'p95', priority: 2 },
  { head: 'Trips', priority: 1 },
  { head: 'MTTR', priority: 3 },
  { head: 'Rollback', shortCell: (s) => (s === 'verified' ? 'ok' : s) },
]

/** The summary table of `record`; `width` narrows it (a terminal), absent keeps it whole (a file). */
export function runSummaryTable(record: RunRecord, c: ChalkInstance, width?: number): string {
  const columns = COLUMNS.map((col) => ({
    ...col,
    head: c.bold(col.head),
    ...(col.short !== undefined && { short: c.bold(col.short) }),
  }))
  const rows = record.experiments.map((e) => {
    const m = e.metrics.during
    return [
      e.id,
      outcomeColor(c, e.state),
      e.state === 'COMPLETED' && e.hypothesis_held === null
        ? c.yellow('inconclusive')
        : e.hypothesis_held === null
          ? '-'
          : e.hypothesis_held
            ? 'held'
            : c.red('NOT held'),
      m ? pct(m.availability) : '-',
      m ? pct(m.error_rate) : '-',
      m ? ms(m.latency_ms.p95) : '-',
      m && m.circuit_breaker_trips !== null ? String(m.circuit_breaker_trips) : '-',
      e.metrics.mttr_seconds !== null ? seconds(e.metrics.mttr_seconds) : e.metrics.recovery ? 'never' : '-',
      e.rollback.attempted ? (e.rollback.verified ? 'verified' : c.red('NOT verified')) : '-',
    ]
  })
  return fitTable(columns, rows, { width, rowRules: true })
}
