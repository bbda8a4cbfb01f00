/**
 * Phase 5, rollback — always, whatever happened before, and never cut short by the abort signal:
 * DELETE with retries and backoff on every injected instance at once (bounded by `max_parallel`),
 * each verified on its own by reading back its `GET /chaos`; where that does not verify, the
 * emergency stop-all route on that instance, verified again (an instance that verified is not
 * retried, and the record names the ones that did not). A
 * read-back is the target's word only: "verified" also needs the evidence of a settle window in
 * which neither the target's counters nor the tagged workload show a new fault.
 *
 * The whole phase has a budget ({@link rollbackBudgetMs}: the lease, at most 15 s): a frozen or
 * dead target cannot hold the runner longer, and after the lease the agent removes the fault by
 * itself. Each control call is bounded by {@link CONTROL_TIMEOUT_MS} too, and each failed attempt
 * is journaled as `chaos_rollback_retry`.
 */
import { setMaxListeners } from 'node:events'
import { sleep, type Clock } from '../../clock.js'
import type { RollbackRecord } from '../../record.js'
import {
  CONTROL_TIMEOUT_MS,
  ControlError,
  ControlTimeoutError,
  type ControlClient,
} from '../control-client.js'
import { counterDelta } from '../probe.js'
import { fanOut, listenerBound } from '../fan-out.js'
import { instanceState, isoNow, log, progress, sampleAll, type ExperimentContext } from './context.js'

/** Waits between rollback attempts (ms): five attempts over ~4 s. */
export const ROLLBACK_BACKOFF_MS = [0, 250, 500, 1000, 2000] as const

/** How long after the read-back the runner watches for faults that outlive the rollback. */
export const ROLLBACK_SETTLE_MS = 1000

/**
 * The settle window after Ctrl-C or SIGTERM: short, so the brake answers within a second. The
 * evidence is checked again once the workload has stopped, and the agent's lease stays the
 * backstop.
 */
export const INTERRUPTED_SETTLE_MS = 300

/** The longest budget of a rollback phase (ms), whatever the lease. */
export const ROLLBACK_BUDGET_MAX_MS = 15_000

/**
 * The budget of the whole rollback phase (DELETE retries, read-back, stop-all, evidence settle):
 * the lease, at most {@link ROLLBACK_BUDGET_MAX_MS}. Never longer than the lease, so by the time
 * the runner gives up the agent's lease has expired (or is about to) and removed the fault itself.
 */
export function rollbackBudgetMs(leaseSeconds: number): number {
  return Math.min(leaseSeconds * 1000, ROLLBACK_BUDGET_MAX_MS)
}

/** Bounds of one rollback: its budget (aborts every call and wait) and where retries are told. */
export interface RollbackBounds {
  /** Aborted when the budget is spent. */
  signal: AbortSignal
  budgetMs: number
  leaseSeconds: number
  /** Bound on concurrent control calls (default 64). */
  maxParallel?: number
  /** Called after each failed attempt (the journal's `chaos_rollback_retry`). */
  onRetry?: (fields: {
    target: string
    method: 'DELETE' | 'STOP_ALL'
    attempt: number
    error: string
  }) => void
}

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
  // Not the run's abort signal from here on (a rollback must finish even after Ctrl-C): its budget.
  const leaseSeconds = ctx.options.leaseSeconds
  const budgetMs = rollbackBudgetMs(leaseSeconds)
  const budget = new AbortController()
  setMaxListeners(listenerBound(ctx.options.maxParallel), budget.signal)
  const timer = ctx.clock.setTimeout(
    () => budget.abort(new Error(`rollback budget of ${budgetMs / 1000} s spent`)),
    budgetMs,
  )
  const bounds: RollbackBounds = {
    signal: budget.signal,
    budgetMs,
    leaseSeconds,
    maxParallel: ctx.options.maxParallel,
    onRetry: (fields) =>
      ctx.deps.events.warn('chaos_rollback_retry', {
        experiment_id: ctx.scenario.id,
        injected_as: ctx.id,
        ...fields,
      }),
  }
  let result: Awaited<ReturnType<typeof rollback>>
  try {
    ctx.probe.atRollback = await sampleAll(ctx, budget.signal)
    result = await rollback(ctx.injected, ctx.id, ctx.clock, ctx.lastSeenFaults, bounds)
    ctx.record.rollback = result.record
    ctx.faultsFromAgent = result.faultsInjected
    for (const r of result.instances) {
      const state = instanceState(ctx, r.target)
      state.rollbackVerified = r.verified
      state.rollbackError = r.error
      if (r.faults !== null) state.faults = r.faults
      if (r.calls !== null) state.calls = r.calls
    }
    ctx.marks.rolledBack = ctx.clock.monotonic()
    ctx.record.rolled_back_at = isoNow(ctx)
    // A lagging probe (Prometheus) first catches up with what was counted before the rollback; not
    // before atRollback: that would delay stopping the faults by up to one scrape interval.
    const rolledBackAtMs = ctx.clock.now()
    await Promise.all(ctx.probes.map(async (p) => p.settle?.(rolledBackAtMs, budget.signal)))
    ctx.afterRollback = await sampleAll(ctx, budget.signal)
    if (result.record.verified) {
      await sleep(
        ctx.signal.aborted ? INTERRUPTED_SETTLE_MS : ROLLBACK_SETTLE_MS,
        budget.signal,
        ctx.clock,
      ).catch(() => undefined)
      const controlApi = await controlApiFaultsAfter(ctx, result.perInstance, budget.signal)
      if (!budget.signal.aborted) await checkNoFaultAfterRollback(ctx, controlApi, budget.signal)
      // Verified only with the evidence: a settle cut short by the budget is not.
      if (budget.signal.aborted && result.record.verified) {
        result.record.verified = false
        result.record.error = budgetError(bounds, 'the evidence after the read-back was not complete')
      }
    }
  } finally {
    ctx.clock.clearTimeout(timer)
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
  signal?: AbortSignal,
): Promise<void> {
  const { record, marks, workload } = ctx
  if (marks.rolledBack === undefined || !record.rollback.attempted) return
  const now = await sampleAll(ctx, signal)
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
    evidence.metrics ? `${evidence.metrics} in ${ctx.deps.fleetProbe ? 'Prometheus' : '/metrics'}` : null,
    evidence.tagged ? `${evidence.tagged} in tagged responses` : null,
    evidence.control ? `${evidence.control} in the control API` : null,
  ].filter(Boolean)
  const error = `faults continued after the rollback (${parts.join(', ')}): the target still injects`
  if (record.rollback.verified) log(ctx, 'chaos_rollback_failed', { error, faults_after_rollback: after })
  record.rollback.verified = false
  record.rollback.error = error
}

/**
 * Faults the control API counts beyond what the DELETE answered, over the injected instances
 * (asked at once, bounded). An instance that still counts more is marked not verified on its line.
 */
export async function controlApiFaultsAfter(
  ctx: ExperimentContext,
  atDelete: ReadonlyMap<string, number>,
  budget: AbortSignal = new AbortController().signal,
): Promise<number | null> {
  const asked = ctx.injected.filter((c) => atDelete.has(c.target))
  const settled = await fanOut(
    asked,
    (client) => bounded(ctx.clock, budget, client.target, (s) => client.get(ctx.id, s)),
    { maxParallel: ctx.options.maxParallel },
  )
  let extra = 0
  let known = false
  settled.forEach((s, i) => {
    // 404/410 (forgotten or ended) or unreachable: the control API has nothing more to say.
    if (s.status === 'rejected') return
    const target = asked[i]!.target
    const view = s.value
    known = true
    const more =
      Math.max(0, view.faults_injected - atDelete.get(target)!) + (view.state === 'RUNNING' ? 1 : 0)
    extra += more
    if (more > 0) {
      const state = instanceState(ctx, target)
      state.rollbackVerified = false
      state.rollbackError = `the control API still counts faults after the rollback (${view.state}, ${view.faults_injected} faults)`
    }
  })
  return known ? extra : null
}

/** How the rollback went on one instance. */
export interface InstanceRollback {
  target: string
  /** The read-back (`GET /chaos`) no longer lists the experiment there. */
  verified: boolean
  /** Why it is not verified (null when verified). */
  error: string | null
  /** DELETE, or STOP_ALL when the read-back after the DELETEs still listed it. */
  method: 'DELETE' | 'STOP_ALL'
  /** Control calls sent to roll it back (DELETE and stop-all attempts). */
  attempts: number
  /** The agent's count of faults: the DELETE answer, else what it last said when it had lost it; null unknown. */
  faults: number | null
  /** The agent's count of calls seen, from the DELETE answer; null unknown. */
  calls: number | null
}

/**
 * Rolls back every instance concurrently (bounded by `bounds.maxParallel`), each verified on its
 * own: DELETE with retries, read back `GET /chaos`; when that still lists the experiment, the
 * stop-all route on that instance only, read back again. An instance that verified is not
 * retried. Returns the rollback record (verified when every instance is; the error names the
 * instances that are not), the faults the agents counted (null when any instance could not say;
 * an instance that had lost the experiment counts what it last said), each instance's count at
 * DELETE, and each instance's outcome. With `bounds`, every call and wait stops when its budget
 * is spent: the record is then not verified and says so.
 */
export async function rollback(
  clients: readonly ControlClient[],
  id: string,
  clock: Clock,
  lastSeen: ReadonlyMap<string, number> = new Map(),
  bounds?: RollbackBounds,
): Promise<{
  record: RollbackRecord
  faultsInjected: number | null
  perInstance: Map<string, number>
  instances: InstanceRollback[]
}> {
  const perInstance = new Map<string, number>()
  const budget = bounds?.signal ?? new AbortController().signal
  // Every concurrent call listens to the budget: as many listeners as calls in flight, not a leak.
  setMaxListeners(listenerBound(bounds?.maxParallel), budget)
  const one = async (client: ControlClient): Promise<InstanceRollback> => {
    const target = client.target
    const r: InstanceRollback = {
      target,
      verified: false,
      error: null,
      method: 'DELETE',
      attempts: 0,
      faults: null,
      calls: null,
    }
    const call = <T>(fn: (signal: AbortSignal) => Promise<T>) => bounded(clock, budget, target, fn)
    const failed = (method: 'DELETE' | 'STOP_ALL', error: string) => {
      r.error = error.startsWith(target) ? error : `${target}: ${error}`
      bounds?.onRetry?.({ target, method, attempt: r.attempts, error })
    }
    const readBack = () => isClear(client, id, call)
    try {
      for (const delay of ROLLBACK_BACKOFF_MS) {
        if (delay) await sleep(delay, budget, clock)
        r.attempts++
        try {
          const view = await call((s) => client.stop(id, s))
          r.faults = view.faults_injected
          r.calls = view.calls_seen
          perInstance.set(target, view.faults_injected)
          break
        } catch (err) {
          if (err instanceof ControlError && (err.status === 404 || err.status === 410)) {
            r.faults = lastSeen.get(target) ?? null
            break
          }
          budget.throwIfAborted()
          failed('DELETE', (err as Error).message)
        }
      }
      if (await readBack()) return { ...r, verified: true, error: null }
      budget.throwIfAborted()
      r.method = 'STOP_ALL'
      for (const delay of ROLLBACK_BACKOFF_MS) {
        if (delay) await sleep(delay, budget, clock)
        r.attempts++
        await call((s) => client.stopAll(s)).catch((err: Error) => {
          if (!budget.aborted) failed('STOP_ALL', err.message)
        })
        budget.throwIfAborted()
        if (await readBack()) return { ...r, verified: true, error: null }
      }
      r.error = `experiment ${id} still listed as active after ${r.attempts} attempts${r.error ? ` (last error: ${r.error})` : ''}`
    } catch (err) {
      if (!budget.aborted || !bounds) throw err
      r.error = budgetError(bounds, r.error ? `last error: ${r.error}` : null)
    }
    return r
  }
  const settled = await fanOut(clients, one, { maxParallel: bounds?.maxParallel })
  const unexpected = settled.find((s) => s.status === 'rejected')
  if (unexpected) throw unexpected.reason
  const instances = settled.map((s) => (s as PromiseFulfilledResult<InstanceRollback>).value)
  const failing = instances.filter((r) => !r.verified)
  const record: RollbackRecord = {
    attempted: true,
    verified: failing.length === 0,
    attempts: instances.reduce((n, r) => n + r.attempts, 0),
    method: instances.some((r) => r.method === 'STOP_ALL') ? 'STOP_ALL' : 'DELETE',
    error: failing.length === 0 ? null : describeFailing(failing, instances.length, bounds),
    faults_after_rollback: null,
  }
  const faultsInjected = instances.some((r) => r.faults === null)
    ? null
    : instances.reduce((n, r) => n + r.faults!, 0)
  return { record, faultsInjected, perInstance, instances }
}

/**
 * The rollback record's error: the one instance's own (its message names it), or how many of the
 * fleet are not verified and each one's reason (the first five).
 */
function describeFailing(
  failing: readonly InstanceRollback[],
  total: number,
  bounds: RollbackBounds | undefined,
): string {
  if (failing.length === 1) {
    const only = failing[0]!
    return total === 1 || only.error!.startsWith(only.target) ? only.error! : `${only.target}: ${only.error!}`
  }
  if (bounds?.signal.aborted) {
    const last = failing.find((r) => r.error?.includes('last error'))?.error
    return `${failing.length} of ${total} instances not verified: ${last ?? budgetError(bounds, null)}`
  }
  const shown = failing.slice(0, 5).map((r) => `${r.target}: ${r.error!}`)
  const more = failing.length > 5 ? `; and ${failing.length - 5} more` : ''
  return `${failing.length} of ${total} instances not verified: ${shown.join('; ')}${more}`
}

/** Why a rollback gave up: its budget, and that the lease removes the fault. */
function budgetError(bounds: RollbackBounds, detail: string | null): string {
  return `rollback gave up after its budget of ${bounds.budgetMs / 1000} s${detail ? ` (${detail})` : ''}; the agent's lease (${bounds.leaseSeconds} s) removes the fault by itself: check with chaos status, or run chaos stop --all`
}

/**
 * One control call, bounded by {@link CONTROL_TIMEOUT_MS} on `clock` and by `budget`. Also raced,
 * so a client that ignores its signal cannot hold the rollback either.
 */
function bounded<T>(
  clock: Clock,
  budget: AbortSignal,
  target: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController()
  const onBudget = () => controller.abort(budget.reason)
  if (budget.aborted) onBudget()
  else budget.addEventListener('abort', onBudget, { once: true })
  const timer = clock.setTimeout(
    () => controller.abort(new ControlTimeoutError(target, CONTROL_TIMEOUT_MS)),
    CONTROL_TIMEOUT_MS,
  )
  const aborted = new Promise<never>((_, reject) => {
    if (controller.signal.aborted) reject(controller.signal.reason as Error)
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), {
      once: true,
    })
  })
  return Promise.race([fn(controller.signal), aborted]).finally(() => {
    clock.clearTimeout(timer)
    budget.removeEventListener('abort', onBudget)
  })
}

/** Reads back `GET /chaos` on one instance: true when it no longer lists the experiment as active. */
async function isClear(
  client: ControlClient,
  id: string,
  call: <T>(fn: (signal: AbortSignal) => Promise<T>) => Promise<T>,
): Promise<boolean> {
  try {
    const info = await call((s) => client.info(s))
    return !info.active_experiments.some((e) => e.id === id)
  } catch {
    return false
  }
}
