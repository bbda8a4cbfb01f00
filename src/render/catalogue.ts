/** The catalogue as a table (`chaos list`) and as JSON rows (`chaos list --json`). */
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

// ANSI colour codes (chalk writes only SGR sequences) take no columns on screen.
// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[0-9;]*m/g
const visibleWidth = (text: string) => text.replace(SGR, '').length

/**
 * A boxed table exactly as cli-table3 laid it out here (one space of padding; no rule under the head
 * or between rows, so 27 rows stay readable), written by hand because cli-table3's first layout
 * cost `chaos list` ~30 ms of start-up. Widths count characters, which is exact here: every cell is
 * ASCII (ids and service names are snake_case by the schema, the rest enum values, numbers, units).
 * test/render-catalogue.test.ts holds it to cli-table3's output.
 */
function boxTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = head.map((h, i) => Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? ''))))
  const rule = (left: string, mid: string, right: string) =>
    left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + right
  const line = (cells: readonly string[]) =>
    '│' +
    widths.map((w, i) => ` ${cells[i] ?? ''}${' '.repeat(w - visibleWidth(cells[i] ?? ''))} `).join('│') +
    '│'
  return [rule('┌', '┬', '┐'), line(head), ...rows.map(line), rule('└', '┴', '┘')].join('\n')
}

/** The entries as a table (colour only when `color` has a level). */
export function catalogueTable(entries: readonly CatalogueEntry[], color: ChalkInstance): string {
  const head = ['id', 'category', 'fault', 'probability', 'blast radius', 'target', 'duration'].map((h) =>
    color.bold(h),
  )
  const rows = entries.map((e) => [
    e.enabled ? e.id : `${e.id} ${color.dim('(disabled)')}`,
    e.category,
    e.fault_type,
    formatProbability(e.probability),
    e.blast_radius === 'ENTIRE_SYSTEM' ? color.yellow(e.blast_radius) : e.blast_radius,
    e.target_service,
    formatDuration(e.duration_seconds * 1000),
  ])
  return boxTable(head, rows)
}
