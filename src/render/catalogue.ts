/** The catalogue as a table (`chaos list`) and as JSON rows (`chaos list --json`). */
import type { ChalkInstance } from 'chalk'
import { formatDuration } from '../duration.js'
import type { LoadedScenario } from '../scenario/loader.js'
import { fitTable, type TableColumn } from './table.js'

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

/** A blast radius in a word, for narrow tables: `SINGLE_REQUEST` → `request`, `ENTIRE_SYSTEM` → `system`. */
export function shortBlastRadius(value: string): string {
  const words = value.toLowerCase().split('_')
  return words[0] === 'single' || words[0] === 'entire' ? (words[1] ?? value) : (words[0] ?? value)
}

/**
 * The catalogue's columns: at a narrow width the short headings first, then the category (the
 * heading of `chaos list CATEGORY` names it already) and the duration go; ids and targets wrap.
 */
const COLUMNS: readonly TableColumn[] = [
  { head: 'id', min: 16 },
  { head: 'category', expendable: true },
  { head: 'fault', min: 10 },
  { head: 'probability', short: 'p', priority: 4 },
  { head: 'blast radius', short: 'blast', shortCell: shortBlastRadius, priority: 3 },
  { head: 'target', min: 10, priority: 5 },
  { head: 'duration', short: 'time', priority: 2 },
]

/**
 * The entries as a table (colour only when `color` has a level), narrowed to `width` columns when
 * given (see {@link fitTable}); at its natural width it is exactly what cli-table3 drew.
 */
export function catalogueTable(
  entries: readonly CatalogueEntry[],
  color: ChalkInstance,
  width?: number,
): string {
  const columns = COLUMNS.map((col) => ({
    ...col,
    head: color.bold(col.head),
    ...(col.short !== undefined && { short: color.bold(col.short) }),
  }))
  const rows = entries.map((e) => [
    e.enabled ? e.id : `${e.id} ${color.dim('(disabled)')}`,
    e.category,
    e.fault_type,
    formatProbability(e.probability),
    e.blast_radius === 'ENTIRE_SYSTEM' ? color.yellow(e.blast_radius) : e.blast_radius,
    e.target_service,
    formatDuration(e.duration_seconds * 1000),
  ])
  return fitTable(columns, rows, { width })
}
