/**
 * The GameDay summary: a GameDay is one run of every chosen category (one run report holds every
 * experiment), summed up per category so a cron log or a CI job shows at a glance what held.
 */
import type { ChalkInstance } from 'chalk'
import Table from 'cli-table3'
import type { RunRecord } from '../src/record.js'

/** One category of a GameDay, snake_case like the report. */
export interface CategorySummary {
  category: string
  experiments: number
  /** Completed with the hypothesis held. */
  held: number
  /** Completed with the hypothesis not held. */
  not_held: number
  /** Completed but inconclusive: a check not evaluated, or no fault injected. */
  inconclusive: number
  /** Aborted (safety, preflight refusal), failed (runtime error) or interrupted. */
  stopped: number
  /** Not reached: the suite stopped before them. */
  skipped: number
}

/** Per-category counts, in the order the categories first appear in the run. */
export function summarizeByCategory(record: RunRecord): CategorySummary[] {
  const byCategory = new Map<string, CategorySummary>()
  for (const e of record.experiments) {
    let s = byCategory.get(e.category)
    if (!s) {
      s = {
        category: e.category,
        experiments: 0,
        held: 0,
        not_held: 0,
        inconclusive: 0,
        stopped: 0,
        skipped: 0,
      }
      byCategory.set(e.category, s)
    }
    s.experiments++
    if (e.state === 'SKIPPED') s.skipped++
    else if (e.state !== 'COMPLETED') s.stopped++
    else if (e.hypothesis_held === true) s.held++
    else if (e.hypothesis_held === null) s.inconclusive++
    else s.not_held++
  }
  return [...byCategory.values()]
}

/** The per-category table with a total row. */
export function categoryTable(summaries: readonly CategorySummary[], color: ChalkInstance): string {
  const table = new Table({
    head: ['category', 'experiments', 'held', 'not held', 'inconclusive', 'aborted/failed', 'skipped'].map(
      (h) => color.bold(h),
    ),
    style: { head: [], border: [] },
  })
  const total: CategorySummary = {
    category: 'total',
    experiments: 0,
    held: 0,
    not_held: 0,
    inconclusive: 0,
    stopped: 0,
    skipped: 0,
  }
  const row = (s: CategorySummary) => [
    s.category,
    String(s.experiments),
    s.held === s.experiments ? color.green(String(s.held)) : String(s.held),
    s.not_held > 0 ? color.red(String(s.not_held)) : '0',
    s.inconclusive > 0 ? color.yellow(String(s.inconclusive)) : '0',
    s.stopped > 0 ? color.red(String(s.stopped)) : '0',
    s.skipped > 0 ? color.yellow(String(s.skipped)) : '0',
  ]
  for (const s of summaries) {
    table.push(row(s))
    total.experiments += s.experiments
    total.held += s.held
    total.not_held += s.not_held
    total.inconclusive += s.inconclusive
    total.stopped += s.stopped
    total.skipped += s.skipped
  }
  if (summaries.length > 1) table.push(row(total))
  return table.toString()
}
