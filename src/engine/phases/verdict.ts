/**
 * The bookkeeping after the rollback: the experiment's state from how it stopped, the `during`
 * metrics and checks, the final phase totals and series, and the hypothesis verdict.
 */
import { checksIn, isoNow, log, progress, type ExperimentContext } from './context.js'
import { evaluateChecks } from './checks.js'
import { judge, noteUnknownFaults } from './judge.js'
import { instanceRecords } from './instances.js'
import { buildTimeseries, phaseMetrics } from './measure.js'
import { checkNoFaultAfterRollback } from './rollback.js'
import { settle } from './settle.js'

/** Whether the target tags responses with x-chaos-faults (any response of the experiment did). */
function tagging(ctx: ExperimentContext): boolean {
  const timeline = ctx.workload?.timeline
  return timeline !== undefined && timeline.summary(timeline.t0).tagged_responses > 0
}

/** Sets the record's state from the Stop (if any) and from whether the rollback was verified. */
export function settleState(ctx: ExperimentContext): void {
  const { record, stop } = ctx
  if (stop) {
    record.state = stop.state
    if (stop.state === 'FAILED') record.error = stop.message
    else record.abort_reason = stop.message
    if (stop.state === 'ABORTED' && stop.abortCause !== undefined) record.abort_cause = stop.abortCause
  }
  if (ctx.injected.length > 0 && !record.rollback.verified && record.state === 'COMPLETED') {
    record.state = 'FAILED'
    record.error = `rollback could not be verified: ${record.rollback.error ?? 'no answer from the target'}`
  }
}

/**
 * The `during` phase: every request intended between the first start call and the first rollback
 * call. Its PromQL values were read before the rollback; when the phase was cut short they were
 * not, and the PromQL checks say so.
 */
export async function measureDuring(ctx: ExperimentContext): Promise<void> {
  const { workload, marks, record } = ctx
  if (!workload || marks.inject === undefined || marks.rollback === undefined) return
  await settle(workload, ctx.clock)
  const during = phaseMetrics(
    workload.timeline.summary(marks.inject, marks.rollback),
    ctx.probe.atInject,
    ctx.probe.atRollback,
    tagging(ctx),
  )
  if (ctx.faultsFromAgent !== null) during.faults_injected = ctx.faultsFromAgent
  record.metrics.during = during
  noteUnknownFaults(ctx)
  const missing = ctx.deps.promql
    ? 'not evaluated: the experiment stopped before the end of its injection phase'
    : undefined
  record.checks.push(
    ...evaluateChecks(ctx, checksIn(ctx, 'during'), during, 'during', ctx.promql.during, missing),
  )
}

/** Stops the workload and writes the final numbers, the series and the verdict. */
export async function finish(ctx: ExperimentContext): Promise<void> {
  const { workload, marks, record, probe } = ctx
  if (workload) {
    // A failed experiment (e.g. a frozen target) does not wait out its requests' own timeouts.
    await workload.stop({ abort: ctx.signal.aborted || record.state === 'FAILED' })
    marks.end = workload.stoppedAt ?? ctx.clock.monotonic()
    const timeline = workload.timeline
    const tags = tagging(ctx)
    // Baseline, final: every request intended before the fault was started (the `before` checks
    // were evaluated on the part measured up to the end of the baseline observation).
    if (marks.inject !== undefined && record.metrics.baseline)
      record.metrics.baseline = phaseMetrics(
        timeline.summary(timeline.t0, marks.inject),
        probe.atStart,
        probe.atInject,
        tags,
      )
    // Summed once the workload stopped, so that no request of the phase is still in flight.
    if (marks.rollback !== undefined && probe.atRecoveryEnd !== undefined)
      record.metrics.recovery = phaseMetrics(
        timeline.summary(marks.rollback, marks.end),
        probe.atRollback,
        probe.atRecoveryEnd,
        tags,
      )
    // The whole recovery is evidence too: a fault seen after the rollback unverifies it.
    const wasVerified = record.rollback.verified
    await checkNoFaultAfterRollback(ctx, null)
    if (wasVerified && !record.rollback.verified && record.state === 'COMPLETED') {
      record.state = 'FAILED'
      record.error = `rollback could not be verified: ${record.rollback.error}`
    }
    const cuts = [marks.inject, marks.rollback].filter((m): m is number => m !== undefined)
    record.timeseries = buildTimeseries(timeline.series(marks.end, cuts), ctx.samples, marks, ctx.startedMono)
    record.instances = instanceRecords(ctx, marks.end)
  }
  if (record.state === 'COMPLETED') judge(ctx)
  else if (record.state === 'ABORTED' && record.injected_at !== null) record.hypothesis_held = false
  record.finished_at = isoNow(ctx)
  progress(ctx, 'done', 0)
  log(ctx, 'chaos_experiment_finished', { state: record.state, hypothesis_held: record.hypothesis_held })
}
