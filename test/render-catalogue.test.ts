/** `chaos list`'s table, written by hand for start-up time, is byte for byte what cli-table3 drew. */
import { Chalk, type ChalkInstance } from 'chalk'
import Table from 'cli-table3'
import { describe, expect, it } from 'vitest'
import {
  catalogueEntries,
  catalogueTable,
  formatProbability,
  type CatalogueEntry,
} from '../src/render/catalogue.js'
import { loadCatalogue } from '../src/scenario/catalogue.js'
import { formatDuration } from '../src/duration.js'

/** The cli-table3 rendering `chaos list` used before. */
function cliTable3(entries: readonly CatalogueEntry[], color: ChalkInstance): string {
  const table = new Table({
    head: ['id', 'category', 'fault', 'probability', 'blast radius', 'target', 'duration'].map((h) =>
      color.bold(h),
    ),
    style: { head: [], border: [] },
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

describe('catalogueTable', () => {
  it('matches cli-table3 with and without colour, for the catalogue, one row and none', async () => {
    const { scenarios } = await loadCatalogue({ cwd: process.cwd() })
    const entries = catalogueEntries(scenarios)
    // A disabled scenario (dimmed suffix) and an ENTIRE_SYSTEM one (yellow) widen their columns.
    entries[0] = { ...entries[0]!, enabled: false }
    entries[1] = { ...entries[1]!, blast_radius: 'ENTIRE_SYSTEM', duration_seconds: 90.4 }
    for (const level of [0, 1, 3] as const) {
      const color = new Chalk({ level })
      for (const shown of [entries, entries.slice(1, 2), []]) {
        expect(catalogueTable(shown, color)).toBe(cliTable3(shown, color))
      }
    }
  })
})
