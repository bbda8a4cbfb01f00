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

/** The limit the live window crosses, if any. An empty window crosses nothing. */
export function safetyBreach(
  window: WorkloadSummary,
  limits: { max_error_rate: number; min_availability: number },
): Breach | null {
  if (window.total_requests === 0) return null
  if (window.error_rate > limits.max_error_rate) {
    return {
      event: 'chaos_safety_error_rate_high',
      fields: { error_rate: window.error_rate, limit: limits.max_error_rate },
      reason: `safety: error rate ${pct(window.error_rate)} above ${pct(limits.max_error_rate)} over the last poll window`,
    }
  }
  if (window.availability < limits.min_availability) {
    return {
      event: 'chaos_safety_availability_low',
      fields: { availability: window.availability, limit: limits.min_availability },
      reason: `safety: availability ${pct(window.availability)} below ${pct(limits.min_availability)} over the last poll window`,
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

/** Whether a metrics reading shows a restart (a counter went down): the fault is gone with it. */
export function restartStop(sample: ProbeSample | null): Stop | null {
  return sample?.restarted
    ? new Stop('ABORTED', 'target restarted during the experiment (counters reset)')
    : null
}

/** " after N faults" when the instance had said how many it injected before it lost them. */
function afterFaults(faults: number | undefined): string {
  return faults === undefined ? '' : ` after ${faults} fault${faults === 1 ? '' : 's'}`
}

/** What the target's answer about our experiment means: null while it still runs it. */
export function lossFromView(target: string, view: ExperimentView): Stop | null {
  return view.state === 'RUNNING'
    ? null
    : new Stop(
        'ABORTED',
        `target ${target} lost the experiment${afterFaults(view.faults_injected)} (state ${view.state})`,
      )
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
    )
  return null
}
