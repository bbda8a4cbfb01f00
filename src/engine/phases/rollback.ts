/**
 * Phase 5, rollback — always, whatever happened before, and never cut short by the abort signal:
 * DELETE with retries and backoff on every injected instance, verified by reading back
 * `GET /chaos`; when that does not verify, the emergency stop-all route, verified again. A
 * read-back is the target's word only: "verified" also needs the evidence of a settle window in
 * which neither the target's counters nor the tagged workload show a new fault.
 */
import { sleep, type Clock } from '../../clock.js'
import type { RollbackRecord } from '../../record.js'
import { ControlError, type ControlClient } from '../control-client.js'
import { counterDelta } from '../probe.js'
import { isoNow, log, progress, sampleAll, type ExperimentContext } from './context.js'

/** Waits between rollback attempts (ms): five attempts over ~4 s. */
export const ROLLBACK_BACKOFF_MS = [0, 250, 500, 1000, 2000] as const

/** How long after the read-back the runner watches for faults that outlive the rollback. */
export const ROLLBACK_SETTLE_MS = 1000

/** Rolls back what was injected (nothing to do when no start call was sent). */
export async function rollbackPhase(ctx: ExperimentContext): Promise<void> {
  if (ctx.injected.length === 0) return
  progress(
    ctx,
    'rollback',
    null,
    undefined,
    null,
    ctx.signal.aborted ? 'rolling back (Ctrl-C again will not skip it)' : undefined,
  )
  ctx.marks.rollback = ctx.clock.monotonic()
  // No abort signal from here on: a rollback must finish even after Ctrl-C.
  ctx.probe.atRollback = await sampleAll(ctx)
  const result = await rollback(ctx.injected, ctx.id, ctx.clock, ctx.lastSeenFaults)
  ctx.record.rollback = result.record
  ctx.faultsFromAgent = result.faultsInjected
  ctx.marks.rolledBack = ctx.clock.monotonic()
  ctx.record.rolled_back_at = isoNow(ctx)
  ctx.afterRollback = await sampleAll(ctx)
  if (result.record.verified) {
    await sleep(ROLLBACK_SETTLE_MS, undefined, ctx.clock)
    await checkNoFaultAfterRollback(ctx, await controlApiFaultsAfter(ctx, result.perInstance))
  }
  log(ctx, 'chaos_experiment_completed', {
    faults_injected: result.faultsInjected,
    state: ctx.stop?.state ?? 'COMPLETED',
    abort_reason: ctx.stop?.message ?? null,
  })
  if (!result.record.verified) log(ctx, 'chaos_rollback_failed', { error: result.record.error })
  log(ctx, 'chaos_experiment_context_exited', {
    rollback_verified: result.record.verified,
    method: result.record.method,
  })
}

/**
 * Faults seen after the rollback, from every source that can tell: the target's counters
 * (`/metrics`), the tagged workload (requests sent after the rollback that met a fault) and the
 * control API. Any of them above 0 means the fault outlived its experiment: the rollback is not
 * verified. Called once after the settle window and again when the workload has stopped.
 */
export async function checkNoFaultAfterRollback(
  ctx: ExperimentContext,
  controlApi: number | null,
): Promise<void> {
  const { record, marks, workload } = ctx
  if (marks.rolledBack === undefined || !record.rollback.attempted) return
  const now = await sampleAll(ctx)
  const metrics = counterDelta(ctx.afterRollback, now, (s) => s.faults_injected)
  const slice = workload?.timeline.summary(marks.rolledBack)
  const tagged = slice && slice.tagged_responses > 0 ? slice.faults_seen : null
  // Each source keeps the most it ever showed: a later check must not drop what an earlier one saw.
  const evidence = ctx.afterRollbackEvidence
  for (const [source, n] of [
    ['metrics', metrics],
    ['tagged', tagged],
    ['control', controlApi],
  ] as const)
    if (n !== null) evidence[source] = Math.max(evidence[source] ?? 0, n)
  const seen = Object.values(evidence).filter((n): n is number => n !== undefined)
  if (seen.length > 0) record.rollback.faults_after_rollback = Math.max(...seen)
  const after = record.rollback.faults_after_rollback ?? 0
  if (after === 0) return
  const parts = [
    evidence.metrics ? `${evidence.metrics} in /metrics` : null,
    evidence.tagged ? `${evidence.tagged} in tagged responses` : null,
    evidence.control ? `${evidence.control} in the control API` : null,
  ].filter(Boolean)
  const error = `faults continued after the rollback (${parts.join(', ')}): the target still injects`
  if (record.rollback.verified) log(ctx, 'chaos_rollback_failed', { error, faults_after_rollback: after })
  record.rollback.verified = false
  record.rollback.error = error
}

/** Faults the control API counts beyond what the DELETE answered, over the injected instances. */
export async function controlApiFaultsAfter(
  ctx: ExperimentContext,
  atDelete: ReadonlyMap<string, number>,
): Promise<number | null> {
  let extra = 0
  let known = false
  for (const client of ctx.injected) {
    const before = atDelete.get(client.target)
    if (before === undefined) continue
    try {
      const view = await client.get(ctx.id)
      known = true
      extra += Math.max(0, view.faults_injected - before) + (view.state === 'RUNNING' ? 1 : 0)
    } catch {
      // 404/410 (forgotten or ended) or unreachable: the control API has nothing more to say.
    }
  }
  return known ? extra : null
}

/**
 * DELETE on every instance, then verify; falls back to stop-all. Returns the rollback record, the
 * faults the agents counted (null when any instance could not say; an instance that had lost the
 * experiment counts what it last said), and each instance's count at DELETE.
 */
export async function rollback(
  clients: readonly ControlClient[],
  id: string,
  clock: Clock,
  lastSeen: ReadonlyMap<string, number> = new Map(),
): Promise<{ record: RollbackRecord; faultsInjected: number | null; perInstance: Map<string, number> }> {
  const record: RollbackRecord = {
    attempted: true,
    verified: false,
    attempts: 0,
    method: 'DELETE',
    error: null,
    faults_after_rollback: null,
  }
  let faults: number | null = 0
  const perInstance = new Map<string, number>()
  for (const client of clients) {
    let gone = false
    for (const delay of ROLLBACK_BACKOFF_MS) {
      if (delay) await sleep(delay, undefined, clock)
      record.attempts++
      try {
        const view = await client.stop(id)
        faults = faults === null ? null : faults + view.faults_injected
        perInstance.set(client.target, view.faults_injected)
        gone = true
        break
      } catch (err) {
        if (err instanceof ControlError && (err.status === 404 || err.status === 410)) {
          gone = true
          const last = lastSeen.get(client.target)
          faults = faults === null || last === undefined ? null : faults + last
          break
        }
        record.error = `${client.target}: ${(err as Error).message}`
      }
    }
    if (!gone) faults = null
  }
  if (await verifyNothingActive(clients, id)) {
    record.verified = true
    record.error = null
    return { record, faultsInjected: faults, perInstance }
  }
  record.method = 'STOP_ALL'
  for (const delay of ROLLBACK_BACKOFF_MS) {
    if (delay) await sleep(delay, undefined, clock)
    record.attempts++
    await Promise.all(clients.map((c) => c.stopAll().catch((err: Error) => (record.error = err.message))))
    if (await verifyNothingActive(clients, id)) {
      record.verified = true
      record.error = null
      break
    }
  }
  if (!record.verified)
    record.error = `experiment ${id} still listed as active after ${record.attempts} attempts${record.error ? ` (last error: ${record.error})` : ''}`
  return { record, faultsInjected: faults, perInstance }
}

/** Reads back `GET /chaos` on every instance: true when none lists the experiment as active. */
async function verifyNothingActive(clients: readonly ControlClient[], id: string): Promise<boolean> {
  try {
    const infos = await Promise.all(clients.map((c) => c.info()))
    return infos.every((info) => !info.active_experiments.some((e) => e.id === id))
  } catch {
    return false
  }
}
