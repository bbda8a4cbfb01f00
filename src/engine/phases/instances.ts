/**
 * The per-instance part of the record: for each target instance, whether the fault was started
 * there and how much of the workload it served. With several instances this is what shows that a
 * faulted instance was (or was not) exercised.
 */
import type { InstanceRecord } from '../../record.js'
import { normalizeUrl } from '../fan-out.js'
import type { ExperimentContext } from './context.js'

/**
 * One entry per instance the experiment used (`ctx.clients`), in their order, with what the
 * runner knows of it: the start's outcome, the agent's own counts, the rollback's read-back. Request counts cover every
 * request intended from the workload's start to `end` (the phases' partition: baseline + during +
 * recovery), split by the origin each request went to. An instance that is not one of the
 * workload's origins got none of it (0) when every origin is an instance; when some origin is not
 * (`--workload-url` names a load balancer), where that traffic landed is unknown: null.
 */
export function instanceRecords(ctx: ExperimentContext, end: number): InstanceRecord[] {
  const workload = ctx.workload
  const origins = workload ? workload.targets.map(normalizeUrl) : []
  const totals = workload ? workload.timeline.byInstance(workload.timeline.t0, end) : []
  const urls = ctx.clients.map((c) => c.target)
  const unknownOrigin = !workload || origins.some((o) => !urls.includes(o))
  return ctx.clients.map((client, i) => {
    const url = client.target
    // Absent for an instance no phase touched (e.g. a context built by hand in a test).
    const state = ctx.fleet?.get(url)
    const origin = origins[i] === url ? i : origins.indexOf(url)
    const summary = origin >= 0 ? totals[origin] : undefined
    const none = unknownOrigin ? null : 0
    return {
      url,
      reached: ctx.injected.includes(client),
      requests: summary ? summary.total_requests : none,
      failed_requests: summary ? summary.failed_requests : none,
      error_rate: summary ? summary.error_rate : none,
      start: state?.start ?? 'NOT_SENT',
      faults_injected: state?.faults ?? null,
      calls_seen: state?.calls ?? null,
      rollback_verified: state?.rollbackVerified ?? null,
      rollback_error: state?.rollbackError ?? null,
    }
  })
}
