/** The catalogue as a table (`chaos list`) and as JSON rows (`chaos list --json`). */
import Table from 'cli-table3'
import type { ChalkInstance } from 'chalk'
import { formatDuration } from '../duration.js'
import type { LoadedScenario } from '../scenario/loader.js'

/** One catalogue row, snake_case like the scenario files. */
export interface CatalogueEntry {
  id: string
  name: string
  category: string
  fault_type: string
  probability: number
  blast_radius: string
  target_service: string
  duration_seconds: number
  enabled: boolean
  tags: string[]
  file: string
}

export function catalogueEntries(scenarios: readonly LoadedScenario[]): CatalogueEntry[] {
  return scenarios.map(({ scenario: s, display }) => ({
    id: s.id,
    name: s.name,
    category: s.category,
    fault_type: s.fault_config.fault_type,
    probability: s.fault_config.probability,
    blast_radius: s.fault_config.blast_radius,
    target_service: s.target_service,
    duration_seconds: s.duration_seconds,
    enabled: s.fault_config.enabled,
    tags: s.tags,
    file: display,
  }))
}

/** `30%`, `2.5%`, `100%`. */
export function formatProbability(p: number): string {
  return `${Number((p * 100).toFixed(2))}%`
}

/** A cli-table3 table of the entries (colour only when `color` has a level). */
export function catalogueTable(entries: readonly CatalogueEntry[], color: ChalkInstance): string {
  const table = new Table({
    head: ['id', 'category', 'fault', 'probability', 'blast radius', 'target', 'duration'].map((h) =>
      color.bold(h),
    ),
    style: { head: [], border: [] },
    // No rule between rows: 27 rows stay readable.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  })
  for (const e of entries) {
    table.push([
      e.enabled ? e.id : `${e.id} ${color.dim('(disabled)')}`,
      e.category,
      e.fault_type,
      formatProbability(e.probability),
      e.blast_radius === 'ENTIRE_SYSTEM' ? color.yellow(e.blast_radius) : e.blast_radius,
      e.target_service,
      formatDuration(e.duration_seconds * 1000),
    ])
  }
  return table.toString()
}
