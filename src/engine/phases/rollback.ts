/**
 * Phase 5, rollback — always, whatever happened before, and never cut short by the abort signal:
 * DELETE with retries and backoff on every injected instance, verified by reading back
 * `GET /chaos`; when that does not verify, the emergency stop-all route, verified again.
 */
import { sleep, type Clock } from '../../clock.js'
import type { RollbackRecord } from '../../record.js'
import { ControlError, type ControlClient } from '../control-client.js'
import { isoNow, log, progress, sampleAll, type ExperimentContext } from './context.js'

/** Waits between rollback attempts (ms): five attempts over ~4 s. */
export const ROLLBACK_BACKOFF_MS = [0, 250, 500, 1000, 2000] as const

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
  const result = await rollback(ctx.injected, ctx.id, ctx.clock)
  ctx.record.rollback = result.record
  ctx.faultsFromAgent = result.faultsInjected
  ctx.marks.rolledBack = ctx.clock.monotonic()
  ctx.record.rolled_back_at = isoNow(ctx)
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
 * DELETE on every instance, then verify; falls back to stop-all. Returns the rollback record and
 * the faults the agents counted (null when any instance could not say).
 */
export async function rollback(
  clients: readonly ControlClient[],
  id: string,
  clock: Clock,
): Promise<{ record: RollbackRecord; faultsInjected: number | null }> {
  const record: RollbackRecord = {
    attempted: true,
    verified: false,
    attempts: 0,
    method: 'DELETE',
    error: null,
  }
  let faults: number | null = 0
  for (const client of clients) {
    let gone = false
    for (const delay of ROLLBACK_BACKOFF_MS) {
      if (delay) await sleep(delay, undefined, clock)
      record.attempts++
      try {
        const view = await client.stop(id)
        faults = faults === null ? null : faults + view.faults_injected
        gone = true
        break
      } catch (err) {
        if (err instanceof ControlError && (err.status === 404 || err.status === 410)) {
          gone = true
          faults = null
          break
        }
        record.error = (err as Error).message
      }
    }
    if (!gone) faults = null
  }
  if (await verifyNothingActive(clients, id)) {
    record.verified = true
    record.error = null
    return { record, faultsInjected: faults }
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
    record.error ??= `experiment ${id} still listed as active after ${record.attempts} attempts`
  return { record, faultsInjected: faults }
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
