/** Phase 3, inject: the fault goes live on every instance it reaches at once, under a renewed lease. */
import type { Clock } from '../../clock.js'
import type { Logger } from '../../logger.js'
import type { StartExperimentRequest } from '../../protocol/schemas.js'
import type { ControlClient, ControlError } from '../control-client.js'
import { renewAll, startAll } from '../fan-out.js'
import { instanceState, isoNow, log, noteView, Stop, type ExperimentContext } from './context.js'

/**
 * Starts the experiment on every reached instance at once (bounded by `max_parallel`), all or
 * nothing. Each instance is listed in `ctx.injected` before its start call, so one whose start
 * timed out or failed after the target may have taken it is rolled back too. A 4xx answer means
 * the target did not take it: the instance leaves `ctx.injected`, so the rollback never touches
 * it (its stop-all fallback could end another runner's experiment). When any instance refuses
 * (a 4xx but 400), the experiment is ABORTED (exit 3) naming it, and the rollback phase takes
 * back the ones that started; a 400 (the request itself is invalid) or any other failure
 * (unreachable, 5xx) is FAILED, likewise rolled back.
 */
export async function inject(ctx: ExperimentContext): Promise<void> {
  const { scenario, signal, options } = ctx
  const fault = scenario.fault_config
  signal.throwIfAborted()
  const body: StartExperimentRequest = {
    id: ctx.id,
    target_service: scenario.target_service,
    fault_config: fault,
    lease_seconds: options.leaseSeconds,
  }
  ctx.marks.inject = ctx.clock.monotonic()
  ctx.injected.push(...ctx.reach)
  const outcomes = await startAll(ctx.reach, body, { maxParallel: options.maxParallel, signal })
  for (const o of outcomes) {
    const state = instanceState(ctx, o.client.target)
    state.start = o.status
    if (o.status === 'STARTED') noteView(ctx, o.client.target, o.view)
    if (o.status === 'REFUSED' || o.status === 'NOT_SENT')
      ctx.injected.splice(ctx.injected.indexOf(o.client), 1)
  }
  signal.throwIfAborted()
  // A 400 is the runner's own request being invalid (its problems say why): a runtime failure, as
  // is any answer other than a 4xx. Any other 4xx is the instance refusing: ABORTED (exit 3).
  const invalid = outcomes.find((o) => o.status === 'REFUSED' && o.error.status === 400)
  const refused = outcomes.find((o) => o.status === 'REFUSED' && o.error.status !== 400)
  if (refused?.status === 'REFUSED')
    throw new Stop('ABORTED', refusalMessage(refused.client.target, refused.error, ctx.injected.length))
  const failed = invalid ?? outcomes.find((o) => o.status === 'FAILED')
  if (failed && failed.status !== 'STARTED') {
    const message = failed.error.message
    // A fleet's message names the instance (an unreachable one already does).
    throw outcomes.length > 1 && !message.includes(failed.client.target)
      ? new Stop('FAILED', `${failed.client.target}: ${message}`)
      : failed.error
  }
  ctx.record.injected_at = isoNow(ctx)
  log(ctx, 'chaos_experiment_started', {
    target_service: scenario.target_service,
    fault_type: fault.fault_type,
    probability: fault.probability,
    blast_radius: fault.blast_radius,
    duration_seconds: scenario.duration_seconds,
    instances: ctx.reach.map((c) => c.target),
  })
}

/** Why an all-or-nothing start was refused: which instance, what it said, what is rolled back. */
function refusalMessage(target: string, error: ControlError, toRollBack: number): string {
  const said =
    error.status === 409
      ? `instance ${target} refused the start: another experiment is running on ${target} (409)`
      : `instance ${target} refused the start (${error.message})`
  const rest =
    toRollBack === 0
      ? 'nothing was injected there'
      : `nothing was injected there; the ${toRollBack} started ${toRollBack === 1 ? 'was' : 'were'} rolled back`
  return `${said}; ${rest}`
}

/**
 * Renews the lease on every instance every lease/3, concurrently (bounded by `maxParallel`);
 * failures are journaled per instance (the poll detects loss).
 */
export function startLeaseRenewal(
  clients: readonly ControlClient[],
  id: string,
  leaseSeconds: number,
  clock: Clock,
  events: Logger,
  maxParallel?: number,
): { stop(): void } {
  let stopped = false
  let handle: unknown
  const tick = () => {
    if (stopped) return
    // Concurrent and bounded; the next tick is not held by a slow instance (each call has its timeout).
    void renewAll(clients, id, leaseSeconds, { maxParallel }).then((results) =>
      results.forEach((r, i) => {
        if (r.status === 'rejected')
          events.warn('chaos_lease_renewal_failed', {
            target: clients[i]!.target,
            error: (r.reason as Error).message,
          })
      }),
    )
    handle = clock.setTimeout(tick, (leaseSeconds * 1000) / 3)
  }
  handle = clock.setTimeout(tick, (leaseSeconds * 1000) / 3)
  return {
    stop() {
      stopped = true
      clock.clearTimeout(handle)
    },
  }
}
