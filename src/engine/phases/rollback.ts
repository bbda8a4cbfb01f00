/**
 * Phase 5, rollback — always, whatever happened before, and never cut short by the abort signal:
 * DELETE with retries and backoff on every injected instance, verified by reading back
 * `GET /chaos`; when that does not verify, the emergency stop-all route, verified again. A
 * read-back is the target's word only: "verified" also needs the evidence of a settle window in
 * which neither the target's counters nor the tagged workload show a new fault.
 *
 * The whole phase has a budget ({@link rollbackBudgetMs}: the lease, at most 15 s): a frozen or
 * dead target cannot hold the runner longer, and after the lease the agent removes the fault by
 * itself. Each control call is bounded by {@link CONTROL_TIMEOUT_MS} too, and each failed attempt
 * is journaled as `chaos_rollback_retry`.
 */
import { sleep, type Clock } from '../../clock.js'
import type { RollbackRecord } from '../../record.js'
import {
  CONTROL_TIMEOUT_MS,
  ControlError,
  ControlTimeoutError,
  type ControlClient,
} from '../control-client.js'
import { counterDelta } from '../probe.js'
import { isoNow, log, progress, sampleAll, type ExperimentContext } from './context.js'

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
  const timer = ctx.clock.setTimeout(
    () => budget.abort(new Error(`rollback budget of ${budgetMs / 1000} s spent`)),
    budgetMs,
  )
  const bounds: RollbackBounds = {
    signal: budget.signal,
    budgetMs,
    leaseSeconds,
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
    ctx.marks.rolledBack = ctx.clock.monotonic()
    ctx.record.rolled_back_at = isoNow(ctx)
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
  budget: AbortSignal = new AbortController().signal,
): Promise<number | null> {
  let extra = 0
  let known = false
  for (const client of ctx.injected) {
    const before = atDelete.get(client.target)
    if (before === undefined) continue
    try {
      const view = await bounded(ctx.clock, budget, client.target, (s) => client.get(ctx.id, s))
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
 * experiment counts what it last said), and each instance's count at DELETE. With `bounds`, every
 * call and wait stops when its budget is spent: the record is then not verified and says so.
 */
export async function rollback(
  clients: readonly ControlClient[],
  id: string,
  clock: Clock,
  lastSeen: ReadonlyMap<string, number> = new Map(),
  bounds?: RollbackBounds,
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
  const budget = bounds?.signal ?? new AbortController().signal
  const call = <T>(client: ControlClient, fn: (signal: AbortSignal) => Promise<T>) =>
    bounded(clock, budget, client.target, fn)
  const verify = () => verifyNothingActive(clients, id, call)
  const failed = (target: string, method: 'DELETE' | 'STOP_ALL', error: string) => {
    record.error = error.startsWith(target) ? error : `${target}: ${error}`
    bounds?.onRetry?.({ target, method, attempt: record.attempts, error })
  }
  try {
    for (const client of clients) {
      let gone = false
      for (const delay of ROLLBACK_BACKOFF_MS) {
        if (delay) await sleep(delay, budget, clock)
        record.attempts++
        try {
          const view = await call(client, (s) => client.stop(id, s))
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
          budget.throwIfAborted()
          failed(client.target, 'DELETE', (err as Error).message)
        }
      }
      if (!gone) faults = null
    }
    if (await verify()) {
      record.verified = true
      record.error = null
      return { record, faultsInjected: faults, perInstance }
    }
    budget.throwIfAborted()
    record.method = 'STOP_ALL'
    for (const delay of ROLLBACK_BACKOFF_MS) {
      if (delay) await sleep(delay, budget, clock)
      record.attempts++
      await Promise.all(
        clients.map((c) =>
          call(c, (s) => c.stopAll(s)).catch((err: Error) => {
            if (!budget.aborted) failed(c.target, 'STOP_ALL', err.message)
          }),
        ),
      )
      budget.throwIfAborted()
      if (await verify()) {
        record.verified = true
        record.error = null
        break
      }
    }
    if (!record.verified)
      record.error = `experiment ${id} still listed as active after ${record.attempts} attempts${record.error ? ` (last error: ${record.error})` : ''}`
  } catch (err) {
    if (!budget.aborted || !bounds) throw err
    record.verified = false
    record.error = budgetError(bounds, record.error ? `last error: ${record.error}` : null)
  }
  return { record, faultsInjected: faults, perInstance }
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

/** Reads back `GET /chaos` on every instance: true when none lists the experiment as active. */
async function verifyNothingActive(
  clients: readonly ControlClient[],
  id: string,
  call: <T>(client: ControlClient, fn: (signal: AbortSignal) => Promise<T>) => Promise<T>,
): Promise<boolean> {
  try {
    const infos = await Promise.all(clients.map((c) => call(c, (s) => c.info(s))))
    return infos.every((info) => !info.active_experiments.some((e) => e.id === id))
  } catch {
    return false
  }
}
