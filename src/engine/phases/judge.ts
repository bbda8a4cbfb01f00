/**
 * The hypothesis verdict of a completed experiment. A check that failed means the hypothesis did
 * not hold. Otherwise it held only if it was really tested: every check evaluated and at least one
 * fault injected. A check that could not be evaluated, or an experiment in which no fault (or an
 * unknown number of faults) was injected, proves nothing: `hypothesis_held` stays null and
 * `inconclusive_reason` says why (the run's outcome is then INCONCLUSIVE, exit 5).
 */
import { counterDelta } from '../probe.js'
import type { ExperimentContext } from './context.js'

/** Faults injected during the experiment: the control API's count, else the /metrics delta; null if unknown. */
export function faultsDuring(ctx: ExperimentContext): number | null {
  return (
    ctx.faultsFromAgent ?? counterDelta(ctx.probe.atInject, ctx.probe.atRollback, (s) => s.faults_injected)
  )
}

/**
 * Before the `during` checks are evaluated: when the number of faults is unknown, a
 * `faults_injected` check is not evaluated rather than read as 0.
 */
export function noteUnknownFaults(ctx: ExperimentContext): void {
  if (faultsDuring(ctx) === null)
    ctx.unmeasured.set(
      'faults_injected',
      'the number of faults injected is unknown (no count from the control API, no chaos_agent_faults_injected_total)',
    )
}

/** Sets `hypothesis_held` and `inconclusive_reason` of a COMPLETED experiment. */
export function judge(ctx: ExperimentContext): void {
  const { record } = ctx
  if (record.checks.some((c) => c.passed === false)) {
    record.hypothesis_held = false
    return
  }
  const reasons: string[] = []
  const notEvaluated = record.checks.filter((c) => c.passed === null)
  if (notEvaluated.length > 0)
    reasons.push(
      `${notEvaluated.length === 1 ? 'a check was' : `${notEvaluated.length} checks were`} not evaluated: ${notEvaluated
        .map((c) => `"${c.expression}" (${(c.detail ?? 'no measurement').replace(/^not evaluated: /, '')})`)
        .join('; ')}`,
    )
  const faults = faultsDuring(ctx)
  if (faults === null)
    reasons.push('the number of faults injected is unknown, so the fault may never have been exercised')
  else if (faults === 0)
    reasons.push('no fault was injected during the experiment, so the hypothesis was not tested')
  record.hypothesis_held = reasons.length === 0 ? true : null
  record.inconclusive_reason = reasons.length > 0 ? reasons.join('; ') : null
}
