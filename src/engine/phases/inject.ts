/** Phase 3, inject: the fault goes live on every instance it reaches, under a renewed lease. */
import type { Clock } from '../../clock.js'
import type { Logger } from '../../logger.js'
import type { StartExperimentRequest } from '../../protocol/schemas.js'
import { ControlError, type ControlClient } from '../control-client.js'
import { isoNow, log, Stop, type ExperimentContext } from './context.js'

/**
 * Starts the experiment on each reached instance. An instance is listed in `ctx.injected` before
 * its start call, so a start that timed out after the target took it is rolled back too. A 4xx
 * answer means the target did not take it: the instance leaves `ctx.injected`, so the rollback
 * never touches it (its stop-all fallback could end another runner's experiment). A 409 is a
 * refusal (another experiment runs there: ABORTED, exit 3), as at preflight.
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
  for (const client of ctx.reach) {
    ctx.injected.push(client)
    try {
      await client.start(body, signal)
    } catch (err) {
      if (err instanceof ControlError && err.status >= 400 && err.status < 500) {
        ctx.injected.pop()
        if (err.status === 409)
          throw new Stop(
            'ABORTED',
            `another experiment is running on ${client.target} (409); nothing was injected there`,
          )
      }
      throw err
    }
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

/** Renews the lease on every instance every lease/3; failures are journaled (the poll detects loss). */
export function startLeaseRenewal(
  clients: readonly ControlClient[],
  id: string,
  leaseSeconds: number,
  clock: Clock,
  events: Logger,
): { stop(): void } {
  let stopped = false
  let handle: unknown
  const tick = () => {
    if (stopped) return
    for (const client of clients) {
      client
        .renew(id, leaseSeconds)
        .catch((err: Error) =>
          events.warn('chaos_lease_renewal_failed', { target: client.target, error: err.message }),
        )
    }
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
