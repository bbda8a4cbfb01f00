/**
 * Which two stored runs `chaos report diff [A] [B]` compares (the comparison itself is
 * `reports/run-diff.ts`, a pure function of the two records).
 */
import { InvalidInputError } from '../errors.js'
import type { RunRecord } from '../record.js'
import type { ReportStore, StoredRun } from './report-store.js'

function sameSelection(a: RunRecord, b: RunRecord): boolean {
  return a.selection.length === b.selection.length && a.selection.every((s, i) => s === b.selection[i])
}

function selectionText(record: RunRecord): string {
  return record.selection.join(' ') || '-'
}

/**
 * The two runs `chaos report diff [A] [B]` compares, as [then, now]. None named: the newest run and
 * the previous run of the same selection. One named: that run and the newest run of its selection
 * (when it is that newest run itself, the previous run of its selection and it). Two named: A then,
 * B now, in the order given. `refs` are what `ReportStore.readRun` accepts. Throws
 * {@link InvalidInputError} (exit 2) when there is nothing to compare.
 */
export async function pickRunsToDiff(
  store: ReportStore,
  refs: readonly string[],
): Promise<[StoredRun, StoredRun]> {
  if (refs.length >= 2) return [await store.readRun(refs[0]!), await store.readRun(refs[1]!)]
  const runs = await store.listRuns()
  const named = refs.length === 1 ? await store.readRun(refs[0]!) : runs[0]
  if (!named)
    throw new InvalidInputError(`no run reports in ${store.dir} to compare`, 'run `chaos run` twice first')
  // Newest first, as listRuns gives them; the named run is found by its id (a file outside the
  // reports directory is not among them: it is compared with the newest run of its selection).
  const peers = runs.filter((r) => sameSelection(r.record, named.record))
  const at = peers.findIndex((r) => r.record.run_id === named.record.run_id)
  const others = peers.filter((r) => r.record.run_id !== named.record.run_id)
  if (refs.length === 1 && at !== 0 && others[0]) return [named, others[0]]
  const older = peers.slice(at + 1).find((r) => r.record.run_id !== named.record.run_id)
  if (older) return [older, named]
  throw new InvalidInputError(
    `no other run of "${selectionText(named.record)}" in ${store.dir} to compare ${named.record.run_id} with`,
    `run it again (\`chaos run ${selectionText(named.record)}\`), or name two runs: \`chaos report diff A B\` (see \`chaos report list\`)`,
  )
}
