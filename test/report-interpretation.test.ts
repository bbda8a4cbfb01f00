/**
 * The guide's interpretation rules (section 8), one describe per rule of the table, with the
 * band boundaries the guide gives.
 */
import { describe, expect, it } from 'vitest'
import type { AnalysisLine, ExperimentRecord, PhaseMetrics } from '../src/record.js'
import { analyseExperiment, INTERPRETATION_RULES, withAnalysis } from '../src/interpretation/rules.js'
import { guideExperiment, phase, runRecord, skippedExperiment } from './report-fixtures.js'

const testedRules = new Set<string>()

/** The lines one rule gives for an experiment. */
function rule(id: string, experiment: ExperimentRecord): AnalysisLine[] {
  testedRules.add(id)
  const found = INTERPRETATION_RULES.find((r) => r.id === id)
  if (!found) throw new Error(`no rule ${id}`)
  return found.applies(experiment)
}

/** The guide experiment with other metrics during injection. */
function during(overrides: Partial<PhaseMetrics>, extra: Partial<ExperimentRecord> = {}): ExperimentRecord {
  const base = guideExperiment()
  return {
    ...base,
    ...extra,
    metrics: { ...base.metrics, during: phase({ ...base.metrics.during, ...overrides }) },
  }
}

const latencyFault: ExperimentRecord['fault_config'] = {
  fault_type: 'LATENCY',
  probability: 0.5,
  blast_radius: 'SINGLE_REQUEST',
  latency_ms: 500,
}

const levels = (lines: AnalysisLine[]) => lines.map((l) => l.level)

describe('the guide example', () => {
  it('reproduces the lines of the Example Analysis, ✅ first, then ⚠, then 📝', () => {
    const lines = analyseExperiment(guideExperiment())
    const messages = lines.map((l) => `${l.level} ${l.message}`)
    expect(messages).toContain('OK Circuit breaker opened after failures (3 trips)')
    expect(messages).toContain(
      'OK At least 50 of 200 requests that met a fault still succeeded - retries or fallbacks absorbed them',
    )
    expect(messages).toContain('OK MTTR within acceptable range (45s < 2m)')
    expect(messages).toContain('WARN Availability dropped to 85% (below 95% target)')
    const order = levels(lines).map((l) => ({ OK: 0, WARN: 1, ACTION: 2 })[l])
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(levels(lines)).toContain('ACTION')
  })

  it('withAnalysis fills every experiment of a record', () => {
    const record = withAnalysis(runRecord({ experiments: [guideExperiment(), skippedExperiment()] }))
    expect(record.experiments[0]!.analysis.length).toBeGreaterThan(3)
    expect(record.experiments[1]!.analysis).toEqual([
      { level: 'WARN', message: 'Not run - the suite stopped before this experiment' },
    ])
  })
})

describe('availability', () => {
  it('is OK above the 99.9 % target', () => {
    expect(rule('availability', during({ availability: 0.9995 }))).toEqual([
      { level: 'OK', message: 'Availability held at 99.95% (target > 99.9%)' },
    ])
  })
  it('is degraded (WARN) from 95 % up to and including 99.9 %', () => {
    for (const a of [0.999, 0.97, 0.95]) {
      const lines = rule('availability', during({ availability: a }))
      expect(levels(lines)).toEqual(['WARN'])
      expect(lines[0]!.message).toMatch(/^Availability degraded to [\d.]+% \(target > 99\.9%\)$/)
    }
  })
  it('is a failure below 95 %: WARN plus an ACTION', () => {
    const lines = rule('availability', during({ availability: 0.85 }))
    expect(lines[0]).toEqual({ level: 'WARN', message: 'Availability dropped to 85% (below 95% target)' })
    expect(lines[1]!.level).toBe('ACTION')
    expect(lines[1]!.message).toContain(
      '15% of requests failed under 20% error rate injected: ConnectionError',
    )
  })
  it('says nothing without requests during injection', () => {
    expect(rule('availability', during({ total_requests: 0 }))).toEqual([])
    expect(rule('availability', skippedExperiment())).toEqual([])
  })
})

describe('error_rate', () => {
  it('is normal below 1 %', () => {
    expect(rule('error_rate', during({ error_rate: 0.005 }))).toEqual([
      { level: 'OK', message: 'Error rate normal (0.5% < 1%)' },
    ])
  })
  it('is elevated from 1 % to 5 % inclusive', () => {
    expect(rule('error_rate', during({ error_rate: 0.01 }))[0]).toEqual({
      level: 'WARN',
      message: 'Error rate elevated (1%, normal < 1%)',
    })
    expect(rule('error_rate', during({ error_rate: 0.05 }))[0]!.message).toMatch(/^Error rate elevated/)
  })
  it('is critical above 5 %', () => {
    expect(rule('error_rate', during({ error_rate: 0.0501 }))).toEqual([
      { level: 'WARN', message: 'Error rate critical (5.01% > 5%)' },
    ])
  })
})

describe('mttr', () => {
  const mttr = (seconds: number | null, recovered: boolean, extra: Partial<ExperimentRecord> = {}) => {
    const base = guideExperiment(extra)
    return rule('mttr', { ...base, metrics: { ...base.metrics, mttr_seconds: seconds, recovered } })
  }
  it('is excellent below 30 s', () => {
    expect(mttr(12, true)).toEqual([{ level: 'OK', message: 'MTTR excellent (12s < 30s)' }])
  })
  it('is good from 30 s to 2 m inclusive, in the guide words', () => {
    expect(mttr(30, true)).toEqual([{ level: 'OK', message: 'MTTR within acceptable range (30s < 2m)' }])
    expect(mttr(120, true)[0]!.message).toBe('MTTR within acceptable range (2m ≤ 2m)')
  })
  it('needs improvement above 2 m', () => {
    expect(mttr(185, true)).toEqual([{ level: 'WARN', message: 'MTTR needs improvement (3m 5s > 2m)' }])
  })
  it('is an ACTION when the system never recovered', () => {
    const lines = mttr(null, false)
    expect(levels(lines)).toEqual(['ACTION'])
    expect(lines[0]!.message).toMatch(/never returned to its steady state/)
  })
  it('only warns when an interrupted run did not watch recovery to the end', () => {
    expect(levels(mttr(null, false, { state: 'INTERRUPTED' }))).toEqual(['WARN'])
  })
  it('says nothing before rollback or without a recovery phase', () => {
    expect(mttr(null, false, { rolled_back_at: null })).toEqual([])
    const base = guideExperiment()
    expect(rule('mttr', { ...base, metrics: { ...base.metrics, recovery: null } })).toEqual([])
  })
})

describe('circuit_breaker', () => {
  it('is OK when the breaker tripped while failures were injected', () => {
    expect(rule('circuit_breaker', during({ circuit_breaker_trips: 1 }))).toEqual([
      { level: 'OK', message: 'Circuit breaker opened after failures (1 trip)' },
    ])
  })
  it('is a concern (WARN + ACTION) with 0 trips', () => {
    const lines = rule('circuit_breaker', during({ circuit_breaker_trips: 0 }))
    expect(levels(lines)).toEqual(['WARN', 'ACTION'])
    expect(lines[0]!.message).toBe(
      'Circuit breaker did not trip (0 trips) although 200 failures were injected',
    )
    expect(lines[1]!.message).toContain('pms_adapter')
  })
  it('applies to every failing fault type, not to latency', () => {
    for (const fault_type of ['TIMEOUT', 'CIRCUIT_BREAK', 'RATE_LIMIT', 'RESOURCE_EXHAUSTION'] as const) {
      const e = during(
        { circuit_breaker_trips: 0 },
        { fault_config: { fault_type, probability: 0.3, blast_radius: 'SINGLE_SERVICE' } },
      )
      expect(levels(rule('circuit_breaker', e))).toEqual(['WARN', 'ACTION'])
    }
    expect(
      rule('circuit_breaker', during({ circuit_breaker_trips: 0 }, { fault_config: latencyFault })),
    ).toEqual([])
  })
  it('says nothing when no fault was actually applied', () => {
    expect(rule('circuit_breaker', during({ faults_injected: 0, circuit_breaker_trips: 0 }))).toEqual([])
    // Not measured is not 0: no claim either way.
    expect(rule('circuit_breaker', during({ faults_injected: null, circuit_breaker_trips: 0 }))).toEqual([])
  })
  it('not measured is not 0: trips the target does not export are said, never advised on', () => {
    expect(rule('circuit_breaker', during({ circuit_breaker_trips: null }))).toEqual([
      {
        level: 'WARN',
        message:
          'Circuit breaker trips not measured (the target exports no circuit_breaker_trips_total) - the breaker was not judged',
      },
    ])
  })
})

describe('retries', () => {
  it('is OK on evidence: requests that met a fault and still succeeded', () => {
    expect(rule('retries', guideExperiment())).toEqual([
      {
        level: 'OK',
        message:
          'At least 50 of 200 requests that met a fault still succeeded - retries or fallbacks absorbed them',
      },
    ])
  })
  it('warns when as many requests failed as met a fault (no evidence of retries)', () => {
    const lines = rule('retries', during({ affected_requests: 150, failed_requests: 150, error_rate: 0.15 }))
    expect(levels(lines)).toEqual(['WARN'])
    expect(lines[0]!.message).toMatch(/no evidence that retries or fallbacks absorb injected failures/)
  })
  it('claims nothing when the target does not tag responses (a low error rate alone proves no retries)', () => {
    // Defect 6 of issue 9: an error rate below the probability used to be read as "retries working".
    expect(
      rule('retries', during({ affected_requests: null, error_rate: 0.05, faults_injected: 300 })),
    ).toEqual([])
  })
  it('does not apply to latency faults', () => {
    expect(rule('retries', during({ error_rate: 0.3 }, { fault_config: latencyFault }))).toEqual([])
  })
})

describe('faults_injected', () => {
  it('flags a run where no fault was applied', () => {
    const lines = rule('faults_injected', during({ faults_injected: 0 }))
    expect(levels(lines)).toEqual(['WARN', 'ACTION'])
    expect(lines[0]!.message).toBe('No faults were injected (0 faults over 1000 requests)')
    expect(lines[1]!.message).toContain('target_service "pms_adapter"')
  })
  it('is silent when faults were applied', () => {
    expect(rule('faults_injected', guideExperiment())).toEqual([])
  })
})

describe('workload', () => {
  it('flags an injection phase without any measured request', () => {
    expect(levels(rule('workload', during({ total_requests: 0 })))).toEqual(['WARN', 'ACTION'])
  })
  it('warns when the generator dropped requests', () => {
    expect(rule('workload', during({ dropped_requests: 12 }))).toEqual([
      {
        level: 'WARN',
        message:
          'The load generator dropped 12 requests (too many in flight) - the target did not keep up with the requested rate',
      },
    ])
    expect(rule('workload', guideExperiment())).toEqual([])
  })
})

describe('checks', () => {
  it('turns each failing check into an ACTION with actual vs expected in the measure unit', () => {
    expect(rule('checks', guideExperiment())).toEqual([
      { level: 'ACTION', message: 'Check "availability > 95% during" failed: actual 85%, expected > 95%' },
    ])
    const e = guideExperiment({
      checks: [
        {
          name: 'p95 under load',
          expression: 'latency_p95_ms < 2x baseline during',
          phase: 'during',
          expected: 80,
          actual: 412.4,
          passed: false,
        },
      ],
    })
    expect(rule('checks', e)[0]!.message).toBe(
      'Check "p95 under load" (latency_p95_ms < 2x baseline during) failed: actual 412ms, expected < 80ms',
    )
  })
  it('warns about checks that could not be evaluated', () => {
    const e = guideExperiment({
      checks: [
        {
          name: 'q',
          expression: '`rate(x[1m])` < 0.05 during',
          phase: 'during',
          expected: 0.05,
          actual: null,
          passed: null,
          detail: 'no --prometheus URL',
        },
      ],
    })
    expect(rule('checks', e)).toEqual([
      {
        level: 'WARN',
        message: 'Check "q" (`rate(x[1m])` < 0.05 during) could not be evaluated: no --prometheus URL',
      },
    ])
  })
})

describe('inconclusive', () => {
  it('says why a completed experiment proved nothing', () => {
    const reason = 'no fault was injected during the experiment, so the hypothesis was not tested'
    expect(
      rule('inconclusive', guideExperiment({ hypothesis_held: null, inconclusive_reason: reason })),
    ).toEqual([{ level: 'WARN', message: `Inconclusive - ${reason}` }])
    expect(rule('inconclusive', guideExperiment())).toEqual([])
    expect(rule('inconclusive', guideExperiment({ state: 'ABORTED', hypothesis_held: null }))).toEqual([])
  })
})

describe('hypothesis', () => {
  it('is OK when every check held', () => {
    expect(rule('hypothesis', guideExperiment({ hypothesis_held: true }))).toEqual([
      { level: 'OK', message: 'Steady-state hypothesis held (4 checks passed)' },
    ])
    expect(rule('hypothesis', guideExperiment())).toEqual([])
  })
})

describe('experiment_state', () => {
  it('makes a safety abort an ACTION with its reason', () => {
    const lines = rule(
      'experiment_state',
      guideExperiment({ state: 'ABORTED', abort_reason: 'error rate 62% > 50%' }),
    )
    expect(levels(lines)).toEqual(['ACTION'])
    expect(lines[0]!.message).toMatch(/^Experiment aborted: error rate 62% > 50% - /)
  })
  it('advises lowering the probability only for a safety limit, not for an operator stop or the target ending it', () => {
    const advice = (abort_cause: ExperimentRecord['abort_cause'], abort_reason: string) =>
      rule('experiment_state', guideExperiment({ state: 'ABORTED', abort_reason, abort_cause }))
    const safety = advice('SAFETY_LIMIT', 'safety: error rate 62% above 50%')
    expect(safety[0]!.message).toMatch(/lower the probability/)
    const operator = advice('OPERATOR_STOP', 'stopped by an operator after 12 faults: ...')
    expect(operator).toEqual([
      {
        level: 'WARN',
        message:
          'Experiment stopped by an operator after 12 faults: ... - results are partial; rerun when ready',
      },
    ])
    for (const cause of ['TARGET_ENDED', 'ENDED_UNEXPLAINED'] as const) {
      const lines = advice(cause, 'target t ended the experiment')
      expect(levels(lines)).toEqual(['ACTION'])
      expect(lines[0]!.message).toMatch(
        /^Experiment aborted: target t ended the experiment - results are partial/,
      )
      expect(lines[0]!.message).not.toMatch(/probability/)
    }
  })
  it('says nothing was injected when the steady state failed before injection', () => {
    const lines = rule(
      'experiment_state',
      guideExperiment({ state: 'ABORTED', injected_at: null, abort_reason: 'steady state did not hold' }),
    )
    expect(lines[0]!.message).toMatch(/^Nothing was injected: steady state did not hold/)
  })
  it('reports failures, interruptions and skips', () => {
    expect(
      rule('experiment_state', guideExperiment({ state: 'FAILED', error: 'target unreachable' })),
    ).toEqual([{ level: 'ACTION', message: 'Experiment failed: target unreachable' }])
    expect(levels(rule('experiment_state', guideExperiment({ state: 'INTERRUPTED' })))).toEqual(['WARN'])
    expect(levels(rule('experiment_state', skippedExperiment()))).toEqual(['WARN'])
    expect(rule('experiment_state', guideExperiment())).toEqual([])
  })
})

describe('rollback', () => {
  it('is OK when verified', () => {
    expect(rule('rollback', guideExperiment())).toEqual([
      { level: 'OK', message: 'Rollback verified (DELETE, 1 attempt)' },
    ])
  })
  it('is an ACTION when not verified or never attempted after injection', () => {
    const failed = rule(
      'rollback',
      guideExperiment({
        rollback: {
          attempted: true,
          verified: false,
          attempts: 5,
          method: 'STOP_ALL',
          error: 'ECONNREFUSED',
          faults_after_rollback: null,
        },
      }),
    )
    expect(failed).toEqual([
      {
        level: 'ACTION',
        message:
          'Rollback not verified (ECONNREFUSED) - run `chaos stop --all` and check the target for active faults',
      },
    ])
    const never = rule(
      'rollback',
      guideExperiment({
        rollback: {
          attempted: false,
          verified: false,
          attempts: 0,
          method: null,
          error: null,
          faults_after_rollback: null,
        },
      }),
    )
    expect(levels(never)).toEqual(['ACTION'])
    expect(rule('rollback', skippedExperiment())).toEqual([])
  })
})

describe('instances (defect 8)', () => {
  const instance = (url: string, reached: boolean, requests: number | null) => ({
    url,
    reached,
    requests,
    failed_requests: requests === null ? null : 0,
    error_rate: requests === null ? null : 0,
  })

  it('warns for each instance that had the fault but received no workload', () => {
    const starved = guideExperiment({
      instances: [
        instance('http://a', true, 80),
        instance('http://b', true, 0),
        instance('http://c', false, 0),
      ],
    })
    expect(rule('instances', starved)).toEqual([
      {
        level: 'WARN',
        message:
          "Instance http://b had the fault but received no workload - its fault was never exercised by the runner's requests",
      },
    ])
  })

  it('says nothing when every faulted instance got requests, when counts were not measured, or for one instance', () => {
    const spread = [instance('http://a', true, 40), instance('http://b', true, 41)]
    expect(rule('instances', guideExperiment({ instances: spread }))).toEqual([])
    const viaBalancer = [instance('http://a', true, null), instance('http://b', true, null)]
    expect(rule('instances', guideExperiment({ instances: viaBalancer }))).toEqual([])
    expect(rule('instances', guideExperiment({ instances: [instance('http://a', true, 0)] }))).toEqual([])
    expect(rule('instances', guideExperiment())).toEqual([])
  })
})

describe('collateral (the blast radius)', () => {
  const withCollateral = (
    during: PhaseMetrics['collateral'],
    baseline: PhaseMetrics['collateral'] = { requests: 50, errors: 0, error_rate: 0 },
  ) => {
    const base = guideExperiment()
    return {
      ...base,
      metrics: {
        ...base.metrics,
        baseline: phase({ ...base.metrics.baseline, collateral: baseline }),
        during: phase({ ...base.metrics.during, collateral: during }),
      },
    }
  }

  it('OK when the other traffic fails no more than 1 point above its baseline', () => {
    expect(rule('collateral', withCollateral({ requests: 100, errors: 1, error_rate: 0.01 }))).toEqual([
      { level: 'OK', message: "Blast radius contained: other traffic's error rate 1% (baseline 0%)" },
    ])
  })

  it('WARN + ACTION when the fault reached other users', () => {
    const lines = rule('collateral', withCollateral({ requests: 30, errors: 10, error_rate: 0.333333 }))
    expect(levels(lines)).toEqual(['WARN', 'ACTION'])
    expect(lines[0]!.message).toBe(
      "The fault reached other traffic: 10 of 30 requests that were not the runner's failed (33.33%, baseline 0%)",
    )
    expect(lines[1]!.message).toMatch(
      /^Contain the blast radius of pms_adapter: a \w+ fault still fails other users/,
    )
  })

  it('says nothing when not measured, absent (older reports) or with no other traffic', () => {
    expect(rule('collateral', withCollateral(null))).toEqual([])
    expect(rule('collateral', guideExperiment())).toEqual([])
    expect(rule('collateral', withCollateral({ requests: 0, errors: 0, error_rate: null }))).toEqual([])
  })
})

describe('the rule table', () => {
  it('has a test for every rule (this file)', () => {
    // Runs last in this file: every rule id must have been exercised above.
    expect(INTERPRETATION_RULES.map((r) => r.id).sort()).toEqual([...testedRules].sort())
    expect(new Set(INTERPRETATION_RULES.map((r) => r.id)).size).toBe(INTERPRETATION_RULES.length)
  })
})
