/**
 * The guide's interpretation rules (section 8, "Key Metrics" and "Example Analysis") as ONE table.
 * Each rule looks at one experiment record and says what it means, as OK / WARN / ACTION lines
 * that the text report prints as ✅ / ⚠ / 📝 Action:. Judgements are made on the metrics measured
 * while the fault was injected (`metrics.during`) unless a rule says otherwise.
 */
import { FAILING_FAULT_TYPES, type AnalysisLine, type ExperimentRecord, type RunRecord } from '../record.js'
import { unservedRoutes, unservedRoutesSentence } from './routes.js'
import { checkValue, faultSummary, pct, plural, seconds, tryParseCheck } from '../wording.js'

/** Guide section 8 thresholds. Ratios 0..1; MTTR in seconds. */
export const THRESHOLDS = {
  /** Availability: target > 99.9 %, degraded 95–99.9 %, failure < 95 %. */
  availability: { target: 0.999, failure: 0.95 },
  /** Error rate: normal < 1 %, elevated 1–5 %, critical > 5 %. */
  error_rate: { normal: 0.01, critical: 0.05 },
  /** MTTR: excellent < 30 s, good 30 s–2 m, needs improvement > 2 m. */
  mttr_seconds: { excellent: 30, good: 120 },
} as const

export interface InterpretationRule {
  /** Stable id (docs, tests). */
  id: string
  /** What the rule judges, for the docs table. */
  description: string
  /** The analysis lines this rule contributes for one experiment (none when it does not apply). */
  applies(experiment: ExperimentRecord): AnalysisLine[]
}

const ok = (message: string): AnalysisLine => ({ level: 'OK', message })
const warn = (message: string): AnalysisLine => ({ level: 'WARN', message })
const action = (message: string): AnalysisLine => ({ level: 'ACTION', message })

/** Metrics during injection, when requests were measured. */
function during(e: ExperimentRecord) {
  const m = e.metrics.during
  return m && m.total_requests > 0 ? m : undefined
}

/** True when the fault makes calls fail (not just slow) and it was meant to fire at all. */
function injectsFailures(e: ExperimentRecord): boolean {
  return FAILING_FAULT_TYPES.has(e.fault_config.fault_type) && e.fault_config.probability > 0
}

/**
 * The advice for an experiment aborted after injection, by what ended it: lowering the
 * probability only answers a safety limit, not an operator's stop or the target ending it.
 */
function abortedAdvice(e: ExperimentRecord): AnalysisLine[] {
  const reason = e.abort_reason ?? 'no reason recorded'
  switch (e.abort_cause) {
    case 'OPERATOR_STOP':
      return [warn(`Experiment ${reason} - results are partial; rerun when ready`)]
    case 'TARGET_ENDED':
      return [action(`Experiment aborted: ${reason} - results are partial; rerun once the cause is fixed`)]
    case 'ENDED_UNEXPLAINED':
      return [
        action(
          `Experiment aborted: ${reason} - results are partial; check the target's logs for a restart or a stop, then rerun`,
        ),
      ]
    default:
      return [
        action(
          `Experiment aborted: ${reason} - review the safety limits and lower the probability or blast radius before rerunning`,
        ),
      ]
  }
}

/** The rule table, in the order the lines are produced (then sorted OK, WARN, ACTION). */
export const INTERPRETATION_RULES: readonly InterpretationRule[] = [
  {
    id: 'experiment_state',
    description: 'Aborted, interrupted, failed and skipped experiments (ACTION for aborts and failures)',
    applies(e) {
      switch (e.state) {
        case 'ABORTED':
          if (e.injected_at === null) {
            // Wrong workload paths are not an unsteady system: name the routes, not the steady state.
            const unserved = unservedRoutesSentence(unservedRoutes(e.metrics.baseline))
            if (unserved) return [action(`Nothing was injected: ${unserved}`)]
            // A preflight refusal names its own fix; the system's steady state was never measured.
            if (e.abort_cause === 'PREFLIGHT_REFUSED')
              return [action(`Nothing was injected: ${e.abort_reason ?? 'refused at preflight'}`)]
            return [
              action(
                `Nothing was injected: ${e.abort_reason ?? 'aborted before injection'} - bring the system to its steady state first`,
              ),
            ]
          }
          return abortedAdvice(e)
        case 'FAILED':
          return [action(`Experiment failed: ${e.error ?? e.abort_reason ?? 'no error recorded'}`)]
        case 'INTERRUPTED':
          return [warn('Experiment interrupted before it finished - results are partial')]
        case 'SKIPPED':
          return [warn('Not run - the suite stopped before this experiment')]
        case 'COMPLETED':
          return []
      }
    },
  },
  {
    id: 'checks',
    description:
      'Every failing check (ACTION, actual vs expected) and every check that could not be evaluated (WARN)',
    applies(e) {
      return e.checks.flatMap((c) => {
        const label = c.name === c.expression ? `"${c.expression}"` : `"${c.name}" (${c.expression})`
        if (c.passed === null)
          return [warn(`Check ${label} could not be evaluated${c.detail ? `: ${c.detail}` : ''}`)]
        if (c.passed) return []
        const parsed = tryParseCheck(c.expression)
        const actual = c.actual === null ? 'unknown' : checkValue(parsed, c.actual)
        const expected =
          c.expected === null ? 'unknown' : `${parsed?.op ?? ''} ${checkValue(parsed, c.expected)}`.trim()
        return [action(`Check ${label} failed: actual ${actual}, expected ${expected}`)]
      })
    },
  },
  {
    id: 'inconclusive',
    description:
      'A completed experiment that proved nothing: a check not evaluated (the missing metric named) or no fault injected (WARN)',
    applies(e) {
      if (e.state !== 'COMPLETED' || e.hypothesis_held !== null || !e.inconclusive_reason) return []
      return [warn(`Inconclusive - ${e.inconclusive_reason}`)]
    },
  },
  {
    id: 'hypothesis',
    description: 'Steady-state hypothesis held: every check passed (OK)',
    applies(e) {
      if (e.hypothesis_held !== true) return []
      return [ok(`Steady-state hypothesis held (${plural(e.checks.length, 'check')} passed)`)]
    },
  },
  {
    id: 'workload',
    description:
      'The workload measured something, its routes exist on the target (not mostly 404/405), and the generator kept up with --rate (WARN otherwise)',
    applies(e) {
      const m = e.metrics.during
      if (!m) return []
      if (m.total_requests === 0)
        return [
          warn('No requests were measured while the fault was injected - the results say nothing'),
          action('Check the workload requests and that the target answers them'),
        ]
      const lines: AnalysisLine[] = []
      const unserved = unservedRoutesSentence(unservedRoutes(e.metrics.baseline ?? m))
      if (unserved) lines.push(warn(`The results measure missing routes: ${unserved}`))
      if (m.dropped_requests > 0)
        lines.push(
          warn(
            `The load generator dropped ${plural(m.dropped_requests, 'request')} (too many in flight) - the target did not keep up with the requested rate`,
          ),
        )
      return lines
    },
  },
  {
    id: 'instances',
    description:
      'With several instances, every instance the fault was started on served part of the workload (WARN otherwise)',
    applies(e) {
      const instances = e.instances ?? []
      if (instances.length < 2) return []
      // requests null: the workload went to --workload-url, which does not say where it landed.
      return instances
        .filter((i) => i.reached && i.requests === 0)
        .map((i) =>
          warn(
            `Instance ${i.url} had the fault but received no workload - its fault was never exercised by the runner's requests`,
          ),
        )
    },
  },
  {
    id: 'faults_injected',
    description: 'Faults were actually applied (guide: "No Faults Being Injected")',
    applies(e) {
      const m = during(e)
      if (!m || e.fault_config.probability === 0 || m.faults_injected === null || m.faults_injected > 0)
        return []
      return [
        warn(`No faults were injected (0 faults over ${m.total_requests} requests)`),
        action(
          `Check that target_service "${e.target_service}" names a wrapped dependency the workload reaches, and that the probability is not too low`,
        ),
      ]
    },
  },
  {
    id: 'circuit_breaker',
    description:
      'Breaker trips > 0 expected when failures are injected; 0 is a concern; not measured is said, never advised on',
    applies(e) {
      const m = during(e)
      if (!m || !injectsFailures(e) || !m.faults_injected) return []
      // Not measured is not 0: no advice about a breaker the target may well have.
      if (m.circuit_breaker_trips === null)
        return [
          warn(
            'Circuit breaker trips not measured (the target exports no circuit_breaker_trips_total) - the breaker was not judged',
          ),
        ]
      if (m.circuit_breaker_trips > 0)
        return [ok(`Circuit breaker opened after failures (${plural(m.circuit_breaker_trips, 'trip')})`)]
      return [
        warn(`Circuit breaker did not trip (0 trips) although ${m.faults_injected} failures were injected`),
        action(
          `Verify a circuit breaker wraps ${e.target_service} and check its threshold (failures, time window)`,
        ),
      ]
    },
  },
  {
    id: 'retries',
    description:
      'Requests that met a fault yet succeeded show retries or fallbacks at work (needs x-chaos-faults tagging)',
    applies(e) {
      const m = during(e)
      // Evidence only: without per-request fault tagging, nothing is claimed either way.
      if (!m || !injectsFailures(e) || m.affected_requests === null || m.affected_requests === 0) return []
      const absorbed = m.affected_requests - m.failed_requests
      if (absorbed > 0)
        return [
          ok(
            `At least ${absorbed} of ${m.affected_requests} requests that met a fault still succeeded - retries or fallbacks absorbed them`,
          ),
        ]
      return [
        warn(
          `${m.failed_requests} requests failed and ${m.affected_requests} met a fault - no evidence that retries or fallbacks absorb injected failures`,
        ),
      ]
    },
  },
  {
    id: 'mttr',
    description:
      'MTTR excellent < 30 s, good 30 s–2 m, needs improvement > 2 m; never recovered is an ACTION',
    applies(e) {
      if (e.rolled_back_at === null || e.metrics.recovery === null) return []
      const mttr = e.metrics.mttr_seconds
      const { excellent, good } = THRESHOLDS.mttr_seconds
      if (e.metrics.recovered && mttr !== null) {
        if (mttr < excellent) return [ok(`MTTR excellent (${seconds(mttr)} < ${seconds(excellent)})`)]
        if (mttr <= good)
          return [
            ok(`MTTR within acceptable range (${seconds(mttr)} ${mttr < good ? '<' : '≤'} ${seconds(good)})`),
          ]
        return [warn(`MTTR needs improvement (${seconds(mttr)} > ${seconds(good)})`)]
      }
      if (e.state === 'INTERRUPTED') return [warn('Recovery was not observed to the end (interrupted)')]
      return [
        action(
          'The system never returned to its steady state after rollback - find what keeps failing once the fault is gone',
        ),
      ]
    },
  },
  {
    id: 'availability',
    description:
      'Availability target > 99.9 % (OK), degraded 95–99.9 % (WARN), failure < 95 % (WARN + ACTION)',
    applies(e) {
      const m = during(e)
      if (!m) return []
      const a = m.availability
      const { target, failure } = THRESHOLDS.availability
      if (a > target) return [ok(`Availability held at ${pct(a)} (target > ${pct(target)})`)]
      if (a >= failure) return [warn(`Availability degraded to ${pct(a)} (target > ${pct(target)})`)]
      return [
        warn(`Availability dropped to ${pct(a)} (below ${pct(failure)} target)`),
        action(
          `Strengthen fallbacks for ${e.target_service} (cache, defaults, retries) - ${pct(1 - a)} of requests failed under ${faultSummary(e.fault_config)}`,
        ),
      ]
    },
  },
  {
    id: 'error_rate',
    description: 'Error rate normal < 1 % (OK), elevated 1–5 % (WARN), critical > 5 % (WARN)',
    applies(e) {
      const m = during(e)
      if (!m) return []
      const r = m.error_rate
      const { normal, critical } = THRESHOLDS.error_rate
      if (r < normal) return [ok(`Error rate normal (${pct(r)} < ${pct(normal)})`)]
      if (r <= critical) return [warn(`Error rate elevated (${pct(r)}, normal < ${pct(normal)})`)]
      return [warn(`Error rate critical (${pct(r)} > ${pct(critical)})`)]
    },
  },
  {
    id: 'collateral',
    description:
      "The blast radius: the other traffic's error rate during injection against its baseline (OK within 1 point, WARN + ACTION above); nothing when not measured",
    applies(e) {
      const c = e.metrics.during?.collateral
      if (!c || c.error_rate === null) return []
      const baseline = e.metrics.baseline?.collateral?.error_rate ?? null
      const was = baseline === null ? 'no baseline' : `baseline ${pct(baseline)}`
      if (c.error_rate - (baseline ?? 0) <= THRESHOLDS.error_rate.normal)
        return [ok(`Blast radius contained: other traffic's error rate ${pct(c.error_rate)} (${was})`)]
      return [
        warn(
          `The fault reached other traffic: ${c.errors} of ${c.requests} requests that were not the runner's failed (${pct(c.error_rate)}, ${was})`,
        ),
        action(
          `Contain the blast radius of ${e.target_service}: a ${e.blast_radius} fault still fails other users through what they share (circuit breakers, pools, caches)`,
        ),
      ]
    },
  },
  {
    id: 'rollback',
    description: 'Rollback verified after injection (ACTION when not verified or never attempted)',
    applies(e) {
      const r = e.rollback
      if (r.attempted && r.verified)
        return [ok(`Rollback verified (${r.method ?? 'DELETE'}, ${plural(r.attempts, 'attempt')})`)]
      if (r.attempted)
        return [
          action(
            `Rollback not verified${r.error ? ` (${r.error})` : ''} - run \`chaos stop --all\` and check the target for active faults`,
          ),
        ]
      if (e.injected_at !== null)
        return [action('The fault was injected but no rollback was attempted - run `chaos stop --all`')]
      return []
    },
  },
]

const LEVEL_ORDER = { OK: 0, WARN: 1, ACTION: 2 } as const

/** All rules applied to one experiment, ordered like the guide's example: ✅ lines, then ⚠, then 📝. */
export function analyseExperiment(
  experiment: ExperimentRecord,
  rules: readonly InterpretationRule[] = INTERPRETATION_RULES,
): AnalysisLine[] {
  const lines = rules.flatMap((rule) => rule.applies(experiment))
  // Array.prototype.sort is stable, so rule order is kept within a level.
  return lines.sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level])
}

/** The record with every experiment's `analysis` filled in from the rules (replacing what was there). */
export function withAnalysis(record: RunRecord): RunRecord {
  return {
    ...record,
    experiments: record.experiments.map((e) => ({ ...e, analysis: analyseExperiment(e) })),
  }
}
