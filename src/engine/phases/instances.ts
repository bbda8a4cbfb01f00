/**
 * The per-instance part of the record: for each target instance, whether the fault was started
 * there and how much of the workload it served. With several instances this is what shows that a
 * faulted instance was (or was not) exercised.
 */
import type { InstanceRecord } from '../../record.js'
import type { ExperimentContext } from './context.js'

/** A base URL as control clients name it (no trailing slash). */
function normalize(url: string): string {
  return url.replace(/\/+$/, '')
}

/**
 * One entry per control client (target instance), in their order. Request counts cover every
 * request intended from the workload's start to `end` (the phases' partition: baseline + during +
 * recovery), split by the origin each request went to. An instance that is not one of the
 * workload's origins (all workload went to `--workload-url`) gets null counts: not measured.
 */
export function instanceRecords(ctx: ExperimentContext, end: number): InstanceRecord[] {
  const workload = ctx.workload
  const origins = workload ? workload.targets.map(normalize) : []
  const totals = workload ? workload.timeline.byInstance(workload.timeline.t0, end) : []
  return ctx.deps.clients.map((client, i) => {
    const url = client.target
    const origin = origins[i] === url ? i : origins.indexOf(url)
    const summary = origin >= 0 ? totals[origin] : undefined
    return {
      url,
      reached: ctx.injected.includes(client),
      requests: summary ? summary.total_requests : null,
      failed_requests: summary ? summary.failed_requests : null,
      error_rate: summary ? summary.error_rate : null,
    }
  })
}
