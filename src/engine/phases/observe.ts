/**
 * Phase 4, observe: the fault is live. Poll every interval: the target must still hold the
 * experiment, its metrics must be readable, and the live window must stay within the safety
 * limits; any breach throws a Stop and the rollback follows. At the end of the phase the
 * `during` PromQL values are read, while the fault is still live.
 */
import { sleep } from '../../clock.js'
import {
  checksIn,
  elapsed,
  log,
  noteView,
  progress,
  recentWindow,
  sampleAll,
  Stop,
  type ExperimentContext,
} from './context.js'
import { fetchPromql, promqlQueries } from './checks.js'
import { counterDelta } from '../probe.js'
import { fanOut } from '../fan-out.js'
import { startLeaseRenewal } from './inject.js'
import {
  lossFromError,
  lossFromView,
  restartStop,
  safetyBreach,
  safetyWindowMs,
  trackUnreadable,
} from './safety.js'

/** How often (in polls) the running fault count is journaled as `chaos_fault_injected`. */
const FAULT_EVENT_EVERY = 5

export async function observe(ctx: ExperimentContext): Promise<void> {
  const { clock, signal, options, deps } = ctx
  const renew = startLeaseRenewal(
    ctx.reach,
    ctx.id,
    options.leaseSeconds,
    clock,
    deps.events,
    options.maxParallel,
  )
  try {
    const until = clock.monotonic() + ctx.scenario.duration_seconds * 1000
    let unreadable = 0
    let last = ctx.probe.atInject
    for (let left = until - clock.monotonic(); left > 0; left = until - clock.monotonic()) {
      await sleep(Math.min(options.intervalMs, left), signal, clock)
      await assertStillRunning(ctx)
      const window = recentWindow(ctx, options.intervalMs)
      const sample = await sampleAll(ctx, signal)
      const tracked = trackUnreadable(unreadable, sample)
      unreadable = tracked.count
      if (tracked.abort) {
        log(ctx, 'chaos_safety_metrics_unreadable', { polls: unreadable })
        throw new Stop('ABORTED', `safety: target metrics unreadable for ${unreadable} polls in a row`)
      }
      const lastFaults = [...ctx.lastSeenFaults.values()].reduce((n, f) => n + f, 0)
      const restarted = restartStop(sample, ctx.lastSeenFaults.size > 0 ? lastFaults : undefined)
      if (restarted) throw restarted
      if (sample) {
        ctx.samples.push({
          t: elapsed(ctx),
          sample,
          faultsDelta: counterDelta(last, sample, (s) => s.faults_injected),
        })
        last = sample
      }
      progress(ctx, 'injecting', until - clock.monotonic(), window, sample?.breaker_state ?? null)
      // Two windows: the recent one catches a sharp breach at once; everything since the fault
      // went live catches a marginal one as evidence accumulates.
      const breach =
        safetyBreach(safetyWindow(ctx), ctx.safety) ??
        safetyBreach(
          recentWindow(ctx, clock.monotonic() - (ctx.marks.inject ?? 0)),
          ctx.safety,
          'since the fault went live',
        )
      if (breach) {
        log(ctx, breach.event, breach.fields)
        throw new Stop('ABORTED', breach.reason, 'SAFETY_LIMIT')
      }
      const faults = counterDelta(ctx.probe.atInject, sample, (s) => s.faults_injected)
      if (faults !== null && faults > 0 && ctx.samples.length % FAULT_EVENT_EVERY === 1) {
        log(ctx, 'chaos_fault_injected', { faults_injected: faults })
      }
    }
    ctx.promql.during = await fetchPromql(ctx, promqlQueries(checksIn(ctx, 'during')), signal)
  } finally {
    renew.stop()
  }
}

/** The recent window of the safety decision (at least SAFETY_MIN_SAMPLE requests or 5 s). */
function safetyWindow(ctx: ExperimentContext) {
  const ms = safetyWindowMs(ctx.options.intervalMs, (w) => recentWindow(ctx, w).total_requests)
  return recentWindow(ctx, ms)
}

/**
 * The target must still hold our experiment: a restart or an expiry means the fault is gone.
 * Every injected instance is asked at once (bounded); the first loss in their order is reported.
 */
async function assertStillRunning(ctx: ExperimentContext): Promise<void> {
  const settled = await fanOut(ctx.injected, (client) => client.get(ctx.id, ctx.signal), {
    maxParallel: ctx.options.maxParallel,
  })
  ctx.signal.throwIfAborted()
  // Every answer is noted before any loss is thrown: the record keeps each instance's last count.
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') noteView(ctx, ctx.injected[i]!.target, s.value)
  })
  for (const [i, s] of settled.entries()) {
    const client = ctx.injected[i]!
    if (s.status === 'rejected')
      throw lossFromError(client.target, s.reason, ctx.lastSeenFaults.get(client.target)) ?? s.reason
    const lost = lossFromView(client.target, s.value)
    if (lost) throw lost
  }
}
