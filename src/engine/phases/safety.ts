/**
 * The safety decisions of the observe phase as pure functions (guide section 7): when to abort on
 * the live window, on unreadable metrics, and when the target has lost the experiment.
 */
import type { ExperimentView } from '../../protocol/schemas.js'
import type { WorkloadSummary } from '../timeline.js'
import { ControlError, UnreachableError } from '../control-client.js'
import type { ProbeSample } from '../probe.js'
import { Stop } from './context.js'
import { pct } from './measure.js'

/** Polls in a row with unreadable metrics after which the experiment is aborted. */
export const MAX_UNREADABLE_POLLS = 3

/** A safety limit crossed: the event to journal and the abort reason. */
export interface Breach {
  event: 'chaos_safety_error_rate_high' | 'chaos_safety_availability_low'
  fields: Record<string, number>
  reason: string
}

/** The live window reaches back at least this many finished requests... */
export const SAFETY_MIN_SAMPLE = 20
/** ...or this far back, whichever comes first. */
export const SAFETY_MAX_WINDOW_MS = 5000
/**
 * How sure a breach must be before it aborts an experiment: z of a one-sided 99.9 % Wilson
 * bound. A 30 % fault on a 20-request window used to cross a 50 % limit by chance in 1.7 % of
 * the polls; proven breaches cross it in about 1 in 2 million, while a real one (e.g. every
 * request failing) is still caught at the first poll.
 */
export const SAFETY_Z = 3.09

/** Wilson score interval of a proportion `k / n` at `z`. */
export function wilson(k: number, n: number, z = SAFETY_Z): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 }
  const p = k / n
  const z2 = z * z
  const centre = p + z2 / (2 * n)
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))
  const denominator = 1 + z2 / n
  return {
    low: Math.max(0, (centre - spread) / denominator),
    high: Math.min(1, (centre + spread) / denominator),
  }
}

/**
 * The window a safety decision looks at: the last poll interval, reaching further back (up to
 * {@link SAFETY_MAX_WINDOW_MS}) until it holds {@link SAFETY_MIN_SAMPLE} finished requests.
 * `finishedWithin(ms)` counts the requests finished over the last `ms`.
 */
export function safetyWindowMs(intervalMs: number, finishedWithin: (ms: number) => number): number {
  let ms = intervalMs
  while (ms < SAFETY_MAX_WINDOW_MS && finishedWithin(ms) < SAFETY_MIN_SAMPLE)
    ms = Math.min(SAFETY_MAX_WINDOW_MS, ms * 2)
  return ms
}

/**
 * The limit a window proves crossed, if any: the error rate's lower bound above the limit, or
 * availability's upper bound below it (not just the observed ratio: a small window crosses by
 * chance). An empty window proves nothing. `where` names the window in the reason.
 */
export function safetyBreach(
  window: WorkloadSummary,
  limits: { max_error_rate: number; min_availability: number },
  where = 'over the last poll window',
): Breach | null {
  const n = window.total_requests
  if (n === 0) return null
  const errors = wilson(window.failed_requests, n)
  if (errors.low > limits.max_error_rate) {
    return {
      event: 'chaos_safety_error_rate_high',
      fields: { error_rate: window.error_rate, limit: limits.max_error_rate, requests: n },
      reason: `safety: error rate ${pct(window.error_rate)} above ${pct(limits.max_error_rate)} ${where} (${n} requests)`,
    }
  }
  const available = wilson(window.successful_requests, n)
  if (available.high < limits.min_availability) {
    return {
      event: 'chaos_safety_availability_low',
      fields: { availability: window.availability, limit: limits.min_availability, requests: n },
      reason: `safety: availability ${pct(window.availability)} below ${pct(limits.min_availability)} ${where} (${n} requests)`,
    }
  }
  return null
}

/** Counts unreadable metric polls in a row; returns the new count and whether to abort. */
export function trackUnreadable(
  count: number,
  sample: ProbeSample | null,
): { count: number; abort: boolean } {
  if (sample !== null) return { count: 0, abort: false }
  return { count: count + 1, abort: count + 1 >= MAX_UNREADABLE_POLLS }
}

/**
 * Whether a metrics reading shows a restart (a counter went down): the fault is gone with it.
 * `lastFaults`: what the instances last said they had injected, kept in the reason.
 */
export function restartStop(sample: ProbeSample | null, lastFaults?: number): Stop | null {
  return sample?.restarted
    ? new Stop('ABORTED', `target restarted during the experiment${afterFaults(lastFaults)} (counters reset)`)
    : null
}

/** " after N faults" when the instance had said how many it injected before it lost them. */
function afterFaults(faults: number | undefined): string {
  return faults === undefined ? '' : ` after ${faults} fault${faults === 1 ? '' : 's'}`
}

/**
 * What the target's answer about our experiment means: null while it still runs it. During the
 * observe phase the runner has sent no stop, so a `stopped` or `emergency_stop` end is an
 * operator's (`chaos stop`, or a DELETE to the control API); other reasons are the agent's own.
 * Without `end_reason` the runner cannot tell, and says so.
 */
export function lossFromView(target: string, view: ExperimentView): Stop | null {
  if (view.state === 'RUNNING') return null
  const after = afterFaults(view.faults_injected)
  const reason = view.end_reason
  switch (reason) {
    case 'stopped':
    case 'emergency_stop':
      return new Stop(
        'ABORTED',
        `stopped by an operator${after}: ${target} ended the experiment on a ${reason === 'stopped' ? 'stop' : 'stop-all'} the runner did not send (end_reason ${reason}: chaos stop, or a DELETE to the control API)`,
        'OPERATOR_STOP',
      )
    case 'lease_expired':
      return new Stop(
        'ABORTED',
        `${target} ended the experiment itself${after}: its lease expired (end_reason lease_expired), the runner's renewals did not reach it in time`,
        'TARGET_ENDED',
      )
    case 'max_duration':
      return new Stop(
        'ABORTED',
        `${target} ended the experiment itself${after}: it reached the agent's maximum duration (end_reason max_duration)`,
        'TARGET_ENDED',
      )
    case 'agent_closed':
      return new Stop(
        'ABORTED',
        `${target} ended the experiment itself${after}: the service shut its chaos agent down (end_reason agent_closed)`,
        'TARGET_ENDED',
      )
    case undefined:
      return new Stop(
        'ABORTED',
        `target ${target} ended the experiment${after} (state ${view.state}) without saying why (no end_reason): an operator's stop, an expired lease or a restart, the runner cannot tell which`,
        'ENDED_UNEXPLAINED',
      )
    default:
      return new Stop(
        'ABORTED',
        `target ${target} ended the experiment${after} (state ${view.state}, end_reason ${reason})`,
        'TARGET_ENDED',
      )
  }
}

/**
 * What a failed experiment read means: lost (404/410), target gone, or not a loss (null).
 * `lastFaults`: what the instance last said it had injected, so the reason keeps that count.
 */
export function lossFromError(target: string, err: unknown, lastFaults?: number): Stop | null {
  if (err instanceof UnreachableError)
    return new Stop(
      'FAILED',
      `target became unreachable during the experiment${afterFaults(lastFaults)}: ${err.message}`,
    )
  if (err instanceof ControlError && (err.status === 404 || err.status === 410))
    return new Stop(
      'ABORTED',
      `target ${target} lost the experiment${afterFaults(lastFaults)} (restarted?): HTTP ${err.status}`,
      'ENDED_UNEXPLAINED',
    )
  return null
}
