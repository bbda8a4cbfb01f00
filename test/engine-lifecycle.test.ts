/**
 * The experiment lifecycle in-process: the real engine (phases, safety decisions, rollback,
 * verdict) against an in-memory target on a virtual clock. Each path of the lifecycle has a test
 * named after it; they run in milliseconds and complement the end-to-end tests over real HTTP.
 */
import { describe, expect, it } from 'vitest'
import { verdict } from '../src/engine/suite.js'
import { ExitCode } from '../src/exit-codes.js'
import { analyseExperiment, withAnalysis } from '../src/interpretation/rules.js'
import type { ExperimentRecord } from '../src/record.js'
import { renderText } from '../reports/text.js'
import { runRecord } from './report-fixtures.js'
import { runOnFakeTarget, TEST_OPTIONS, testScenario, type FakeRun } from './support/engine.js'
import type { FakeTarget } from './support/fake-target.js'

const OPTIONS = TEST_OPTIONS
const scenario = testScenario

interface Setup extends Omit<FakeRun, 'onProgress'> {
  /** Called on every progress update; may abort. */
  onPhase?: (phase: string, abort: () => void, target: FakeTarget) => void
}

async function run(setup: Setup = {}) {
  const { onPhase, ...rest } = setup
  const result = await runOnFakeTarget({
    ...rest,
    onProgress: (p, abort, target) => onPhase?.(p.phase, abort, target),
  })
  const names = result.events.entries.map((e) => e.event)
  return { ...result, names }
}

/** Invariants every record must satisfy, whatever path it took. */
function expectConsistent(record: ExperimentRecord, target: FakeTarget): void {
  // A fault never outlives its experiment: nothing active once the record is returned.
  if (record.rollback.verified || record.injected_at === null) expect(target.isActive).toBe(false)
  for (const phase of [record.metrics.baseline, record.metrics.during, record.metrics.recovery]) {
    if (!phase) continue
    expect(phase.successful_requests + phase.failed_requests).toBe(phase.total_requests)
    expect(phase.error_rate + phase.availability).toBeCloseTo(phase.total_requests === 0 ? 1 : 1, 9)
  }
  const seriesTotal = record.timeseries.reduce((n, p) => n + p.requests, 0)
  const phasesTotal =
    (record.metrics.baseline?.total_requests ?? 0) +
    (record.metrics.during?.total_requests ?? 0) +
    (record.metrics.recovery?.total_requests ?? 0)
  if (record.metrics.recovery) expect(phasesTotal).toBe(seriesTotal)
}

describe('experiment lifecycle (in-process, virtual clock)', () => {
  it('happy path: injects, observes, rolls back verified, recovers, and the hypothesis holds', async () => {
    const { record, target, names, vc } = await run({ knobs: { resilient: true } })
    expect(record.state).toBe('COMPLETED')
    expect(record.hypothesis_held).toBe(true)
    expect(record.checks.map((c) => [c.expression, c.passed])).toEqual([
      ['error_rate < 1% before', true],
      ['error_rate < 30% during', true],
      ['mttr_seconds < 2m after', true],
    ])
    expect(record.rollback).toMatchObject({ attempted: true, verified: true, method: 'DELETE', attempts: 1 })
    expect(record.metrics.recovered).toBe(true)
    expect(record.metrics.mttr_seconds).toBeGreaterThanOrEqual(0) // a resilient target heals at once
    // 20 rps: 5 s of baseline, 20 s of injection; the fault hit about 20 % of the calls.
    expect(record.metrics.baseline!.total_requests).toBeGreaterThanOrEqual(100)
    expect(record.metrics.during!.total_requests).toBeGreaterThanOrEqual(400)
    const during = record.metrics.during!
    // Faults (calls) from the agent's DELETE answer; affected requests from the tagged responses.
    expect(during.faults_injected).toBe(Math.floor(during.total_requests * 0.2))
    expect(during.affected_requests).toBe(during.faults_injected)
    expect(during.circuit_breaker_trips).toBe(during.faults_injected)
    expect(record.timeseries.map((p) => p.phase)).toContain('DURING')
    expect(names).toEqual(
      expect.arrayContaining([
        'chaos_preflight_passed',
        'chaos_experiment_started',
        'chaos_fault_injected',
        'chaos_experiment_completed',
        'chaos_experiment_context_exited',
        'chaos_recovered',
        'chaos_experiment_finished',
      ]),
    )
    expect(target.callsOf('start')).toHaveLength(1)
    expect(target.callsOf('stop')).toHaveLength(1)
    expect(vc.pending()).toBe(0) // the lease renewal and the workload left no timer behind
    expectConsistent(record, target)
  })

  it('before-check fails: nothing is injected and the experiment is aborted', async () => {
    const { record, target, names } = await run({ knobs: { failEvery: 10 } })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_reason).toMatch(/steady state did not hold before injection.*nothing was injected/)
    expect(record.injected_at).toBeNull()
    expect(record.hypothesis_held).toBeNull()
    expect(record.rollback.attempted).toBe(false)
    expect(target.callsOf('start')).toHaveLength(0)
    expect(names).toContain('chaos_steady_state_not_held')
    expect(names).not.toContain('chaos_experiment_started')
    expectConsistent(record, target)
  })

  it('preflight refuses a target that does not wrap the service, before any traffic', async () => {
    const { record, target } = await run({ knobs: { services: ['gmail_adapter'] } })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_reason).toMatch(/not wrapped/)
    expect(record.metrics.baseline).toBeNull()
    expect(target.callsOf('start')).toHaveLength(0)
  })

  it('preflight: an unreachable target fails the experiment (runtime error)', async () => {
    const { record } = await run({ knobs: { unreachable: true } })
    expect(record.state).toBe('FAILED')
    expect(record.error).toMatch(/preflight: .*unreachable/)
  })

  it('safety abort: error rate above the limit stops the experiment and rolls back', async () => {
    const { record, target, names } = await run({
      scenario: scenario({
        fault_config: {
          fault_type: 'EXCEPTION',
          probability: 0.9,
          exception_class: 'PMSError',
          blast_radius: 'SINGLE_SERVICE',
        },
      }),
    })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_reason).toMatch(/^safety: error rate .* above 50.0%/)
    expect(record.hypothesis_held).toBe(false)
    expect(record.rollback).toMatchObject({ attempted: true, verified: true })
    expect(names).toContain('chaos_safety_error_rate_high')
    expect(names.indexOf('chaos_safety_error_rate_high')).toBeLessThan(
      names.indexOf('chaos_experiment_completed'),
    )
    // Aborted at the first poll over the limit: well before the 20 s were up.
    expect(record.metrics.during!.total_requests).toBeLessThan(100)
    expectConsistent(record, target)
  })

  it('metrics unreadable for 3 polls: aborted for safety, rolled back', async () => {
    const { record, target, names } = await run({ knobs: { metricsDownAfterMs: 0 } })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_reason).toBe('safety: target metrics unreadable for 3 polls in a row')
    expect(names).toContain('chaos_safety_metrics_unreadable')
    expect(record.rollback.verified).toBe(true)
    const firstStop = target.calls.findIndex((c) => c.op === 'stop')
    expect(target.calls.slice(0, firstStop).filter((c) => c.op === 'get')).toHaveLength(3)
    expectConsistent(record, target)
  })

  it('experiment lost: the target forgets it (404), the run aborts and still verifies the rollback', async () => {
    const { record, target } = await run({ knobs: { loseAfterMs: 4_500 } })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_reason).toMatch(/lost the experiment after \d+ faults \(restarted\?\): HTTP 404/)
    expect(record.rollback).toMatchObject({ attempted: true, verified: true, method: 'DELETE' })
    expect(target.callsOf('stop')).toHaveLength(1)
    expectConsistent(record, target)
  })

  it('target restarted: counters reset, the run aborts', async () => {
    const { record, target } = await run({ knobs: { restartAfterMs: 3_000 } })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_reason).toMatch(
      /^target restarted during the experiment after \d+ faults \(counters reset\)$/,
    )
    expect(record.rollback.verified).toBe(true)
    expectConsistent(record, target)
  })

  it('DELETE fails → stop-all fallback → verified', async () => {
    const { record, target, names } = await run({ knobs: { deleteFails: true, resilient: true } })
    expect(record.rollback).toMatchObject({
      attempted: true,
      verified: true,
      method: 'STOP_ALL',
      error: null,
    })
    expect(target.callsOf('stop')).toHaveLength(5)
    expect(target.callsOf('stopAll').length).toBeGreaterThanOrEqual(1)
    expect(record.state).toBe('COMPLETED')
    expect(names).not.toContain('chaos_rollback_failed')
    expect(target.isActive).toBe(false)
  })

  it('DELETE fails → stop-all fails → not verified: the experiment FAILED and says why', async () => {
    const { record, target, names } = await run({ knobs: { deleteFails: true, stopAllFails: true } })
    expect(record.rollback).toMatchObject({ attempted: true, verified: false, method: 'STOP_ALL' })
    expect(record.rollback.attempts).toBe(10)
    expect(record.state).toBe('FAILED')
    expect(record.error).toMatch(/^rollback could not be verified: /)
    expect(record.error).not.toMatch(/unknown/)
    expect(names).toContain('chaos_rollback_failed')
    expect(target.isActive).toBe(true) // the report must not pretend otherwise
  })

  describe('abort signal in each phase', () => {
    it('in preflight: interrupted, nothing sent, nothing injected', async () => {
      const { record, target } = await run({ onPhase: (phase, abort) => phase === 'preflight' && abort() })
      expect(record.state).toBe('INTERRUPTED')
      expect(target.callsOf('start')).toHaveLength(0)
      expect(record.metrics.baseline).toBeNull()
    })

    it('in baseline: interrupted before injection, no rollback needed', async () => {
      const { record, target } = await run({ onPhase: (phase, abort) => phase === 'baseline' && abort() })
      expect(record.state).toBe('INTERRUPTED')
      expect(record.abort_reason).toMatch(/interrupted \(SIGINT\)/)
      expect(target.callsOf('start')).toHaveLength(0)
      expect(record.rollback.attempted).toBe(false)
    })

    it('while injecting: interrupted, rolled back and verified', async () => {
      const { record, target } = await run({ onPhase: (phase, abort) => phase === 'injecting' && abort() })
      expect(record.state).toBe('INTERRUPTED')
      expect(record.rollback).toMatchObject({ attempted: true, verified: true })
      expect(target.isActive).toBe(false)
      expect(record.hypothesis_held).toBeNull()
    })

    it('during rollback: the rollback is not cut short', async () => {
      const { record, target } = await run({
        knobs: { deleteFails: true },
        onPhase: (phase, abort) => phase === 'rollback' && abort(),
      })
      expect(record.rollback).toMatchObject({ verified: true, method: 'STOP_ALL' })
      expect(target.callsOf('stop')).toHaveLength(5)
      expect(target.isActive).toBe(false)
    })

    it('in recovery: interrupted during recovery, rollback already verified', async () => {
      const { record, target } = await run({
        knobs: { failEvery: 0 },
        scenario: scenario({ checks: ['error_rate < 1% before', 'throughput_rps > 1000 after'] }),
        onPhase: (phase, abort) => phase === 'recovery' && abort(),
      })
      expect(record.state).toBe('INTERRUPTED')
      expect(record.abort_reason).toBe('interrupted during recovery')
      expect(record.rollback.verified).toBe(true)
      expect(target.isActive).toBe(false)
    })
  })

  describe('not measured is not 0 (issue 9, defect 4)', () => {
    const BREAKER_CHECKS = [
      'error_rate < 1% before',
      'circuit_breaker_trips > 0 during',
      'error_rate < 30% during',
      'mttr_seconds < 2m after',
    ]

    it('not measured is not 0: a target without circuit_breaker_trips_total gets a not-evaluated check, INCONCLUSIVE, no breaker advice', async () => {
      // Not resilient: injected failures reach the workload, so a breaker would be judged (and,
      // read as 0 trips, "fixed") if the missing counter were taken for 0.
      const { record, target, names, events } = await run({
        knobs: { exports: { breaker_trips: false } },
        scenario: scenario({ checks: BREAKER_CHECKS }),
      })
      // Named in preflight, before anything was injected.
      const missing = events.entries.find((e) => e.event === 'chaos_preflight_metrics_missing')
      expect(missing?.fields).toMatchObject({
        missing: [{ metric: 'circuit_breaker_trips_total', checks: ['circuit_breaker_trips > 0 during'] }],
      })
      expect(names.indexOf('chaos_preflight_metrics_missing')).toBeLessThan(
        names.indexOf('chaos_experiment_started'),
      )
      expect(target.callsOf('start')).toHaveLength(1)
      expect(record.state).toBe('COMPLETED')
      expect(record.metrics.during!.circuit_breaker_trips).toBeNull()
      expect(record.checks.find((c) => c.expression === 'circuit_breaker_trips > 0 during')).toMatchObject({
        actual: null,
        passed: null,
        detail: 'not evaluated: the target exports no circuit_breaker_trips_total',
      })
      expect(record.hypothesis_held).toBeNull()
      expect(record.inconclusive_reason).toMatch(
        /^a check was not evaluated: "circuit_breaker_trips > 0 during" \(the target exports no circuit_breaker_trips_total\)$/,
      )
      expect(verdict([record], false)).toEqual({ outcome: 'INCONCLUSIVE', exitCode: ExitCode.INCONCLUSIVE })

      const analysis = analyseExperiment(record).map((l) => `${l.level} ${l.message}`)
      expect(analysis.join('\n')).not.toMatch(/circuit breaker wraps|add a (circuit )?breaker/i)
      expect(analysis).toContain(
        'WARN Circuit breaker trips not measured (the target exports no circuit_breaker_trips_total) - the breaker was not judged',
      )
      expect(analysis.some((l) => l.startsWith('WARN Inconclusive - a check was not evaluated'))).toBe(true)

      const text = renderText(
        withAnalysis(runRecord({ experiments: [record], outcome: 'INCONCLUSIVE', exit_code: 5 })),
      )
      expect(text).toContain('Outcome: INCONCLUSIVE (exit 5)')
      expect(text).toMatch(/^Inconclusive: a check was not evaluated: .*circuit_breaker_trips_total/m)
      expect(text).toContain('Circuit Breaker Trips: not measured (no circuit_breaker_trips_total)')
      expect(text).toMatch(/circuit_breaker_trips > 0 during - not evaluated/)
      expectConsistent(record, target)
    })

    it('with the breaker counter exported, the same run is decided (the knob is the only difference)', async () => {
      const { record, names } = await run({
        knobs: { resilient: true },
        scenario: scenario({ checks: BREAKER_CHECKS }),
      })
      expect(names).not.toContain('chaos_preflight_metrics_missing')
      expect(record.checks.find((c) => c.expression === 'circuit_breaker_trips > 0 during')?.passed).toBe(
        true,
      )
      expect(record.hypothesis_held).toBe(true)
      expect(record.inconclusive_reason).toBeNull()
      expect(verdict([record], false).outcome).toBe('PASSED')
    })

    it('no fault injected at all → INCONCLUSIVE, not PASSED', async () => {
      // 0.1 % of ~400 calls: the fault never fires, every check holds, and nothing was tested.
      const { record, target } = await run({
        knobs: { resilient: true },
        scenario: scenario({
          fault_config: {
            fault_type: 'EXCEPTION',
            probability: 0.001,
            exception_class: 'PMSError',
            blast_radius: 'SINGLE_SERVICE',
          },
        }),
      })
      expect(record.state).toBe('COMPLETED')
      expect(record.checks.every((c) => c.passed === true)).toBe(true)
      expect(record.metrics.during!.affected_requests).toBe(0)
      expect(record.hypothesis_held).toBeNull()
      expect(record.inconclusive_reason).toBe(
        'no fault was injected during the experiment, so the hypothesis was not tested',
      )
      expect(verdict([record], false)).toEqual({ outcome: 'INCONCLUSIVE', exitCode: ExitCode.INCONCLUSIVE })
      const analysis = analyseExperiment(record).map((l) => l.message)
      expect(analysis).not.toContainEqual(expect.stringMatching(/hypothesis held/))
      expect(analysis).toContainEqual(expect.stringMatching(/^No faults were injected/))
      expectConsistent(record, target)
    })

    it('without chaos_agent_faults_injected_total the faults are counted from the control API: named in preflight, still decided', async () => {
      const { record, events } = await run({
        knobs: { resilient: true, exports: { faults_injected: false } },
      })
      const missing = events.entries.find((e) => e.event === 'chaos_preflight_metrics_missing')
      expect(missing?.fields.message).toBe(
        'the target exports no chaos_agent_faults_injected_total: faults are counted from the control API only',
      )
      expect(record.metrics.during!.faults_injected).toBeGreaterThan(0) // the DELETE answer's count
      // Per second: from the tagged responses, which do not need the metric.
      expect(record.timeseries.every((p) => p.faults_injected !== null)).toBe(true)
      expect(record.hypothesis_held).toBe(true)
    })

    it('a before check on a metric the target does not export: refused in preflight, nothing injected', async () => {
      const { record, target } = await run({
        knobs: { exports: { breaker_trips: false } },
        scenario: scenario({ checks: ['circuit_breaker_trips < 1 before', 'error_rate < 30% during'] }),
      })
      expect(record.state).toBe('ABORTED')
      expect(record.abort_reason).toBe(
        'preflight: the target exports no circuit_breaker_trips_total, which check "circuit_breaker_trips < 1 before" needs to show the steady state before injection; nothing was injected',
      )
      expect(record.metrics.baseline).toBeNull()
      expect(target.callsOf('start')).toHaveLength(0)
    })

    it('/metrics unreadable in preflight: refused before any traffic (ABORTED)', async () => {
      const { record, target } = await run({ knobs: { noMetrics: true } })
      expect(record.state).toBe('ABORTED')
      expect(record.abort_reason).toMatch(
        /^preflight: the metrics of http:\/\/fake-target\.test cannot be read; \/metrics is required/,
      )
      expect(record.metrics.baseline).toBeNull()
      expect(target.callsOf('start')).toHaveLength(0)
    })
  })

  describe('PromQL checks', () => {
    /** A Prometheus whose answer follows the fault: 10 without it, 15 while it is live. */
    const promqlFor =
      (target: () => FakeTarget, seen: AbortSignal[]) => (query: string, signal?: AbortSignal) => {
        if (signal) seen.push(signal)
        expect(query).toBe('sum(rate(pms_calls_total[1m]))')
        return Promise.resolve(target().isActive ? 15 : 10)
      }

    it('with a baseline bound: compared with the value read at the end of the baseline (was never evaluable)', async () => {
      let t: FakeTarget | undefined
      const seen: AbortSignal[] = []
      const { record } = await run({
        knobs: { resilient: true },
        scenario: scenario({
          checks: ['error_rate < 1% before', '`sum(rate(pms_calls_total[1m]))` < 2x baseline during'],
        }),
        promql: promqlFor(() => t!, seen),
        onPhase: (_p, _a, target) => (t = target),
      })
      const check = record.checks.find((c) => c.expression.startsWith('`'))!
      // 15 is the value while the fault was live: read before the rollback, not after.
      expect(check).toMatchObject({ phase: 'during', actual: 15, expected: 20, passed: true })
      expect(record.hypothesis_held).toBe(true)
      expect(seen.length).toBeGreaterThanOrEqual(2) // every query carried the abort signal
    })

    it('a baseline-bound check fails when the during value is more than the factor', async () => {
      let t: FakeTarget | undefined
      const { record } = await run({
        knobs: { resilient: true },
        scenario: scenario({
          checks: ['error_rate < 1% before', '`sum(rate(pms_calls_total[1m]))` < 1.2x baseline during'],
        }),
        promql: promqlFor(() => t!, []),
        onPhase: (_p, _a, target) => (t = target),
      })
      const check = record.checks.find((c) => c.expression.startsWith('`'))!
      expect(check).toMatchObject({ actual: 15, expected: 12, passed: false })
      expect(record.hypothesis_held).toBe(false)
    })

    it('without --prometheus the check is not evaluated, never 0', async () => {
      const { record } = await run({
        knobs: { resilient: true },
        scenario: scenario({
          checks: ['error_rate < 1% before', '`sum(rate(pms_calls_total[1m]))` < 2x baseline during'],
        }),
      })
      const check = record.checks.find((c) => c.expression.startsWith('`'))!
      expect(check).toMatchObject({ passed: null, actual: null })
      expect(check.detail).toBe('PromQL check needs --prometheus URL')
      // Not evaluated is not failed either: the experiment proved nothing (INCONCLUSIVE).
      expect(record.hypothesis_held).toBeNull()
      expect(record.inconclusive_reason).toMatch(/not evaluated.*needs --prometheus URL/)
    })

    it('a hanging Prometheus does not hold up Ctrl-C: the query gets the abort signal', async () => {
      const { record } = await run({
        knobs: { resilient: true },
        scenario: scenario({ checks: ['`up` > 0 before'] }),
        promql: (_q, signal) =>
          new Promise((_resolve, reject) =>
            signal?.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
        onPhase: (phase, abort) => phase === 'baseline' && setImmediate(abort),
      })
      expect(record.state).toBe('INTERRUPTED')
    })
  })
})

describe('verdicts you can trust (issue 9)', () => {
  it('defect 1: "rollback verified" while the fault goes on → ROLLBACK NOT VERIFIED, counts, non-zero exit', async () => {
    const { record, names } = await run({ knobs: { resilient: true, keepsInjectingAfterDelete: true } })
    expect(record.rollback.verified).toBe(false)
    expect(record.rollback.faults_after_rollback).toBeGreaterThan(0)
    expect(record.rollback.error).toMatch(/faults continued after the rollback \(.*in \/metrics.*\)/)
    expect(record.state).toBe('FAILED') // exit 4 through the suite verdict
    expect(record.hypothesis_held).toBeNull()
    expect(names).toContain('chaos_rollback_failed')
    const advice = analyseExperiment(record).map((l) => l.message)
    expect(advice.some((m) => m.includes('chaos stop --all'))).toBe(true)
  })

  it('defect 1: a well-behaved target is verified with 0 faults after the rollback', async () => {
    const { record } = await run({ knobs: { resilient: true } })
    expect(record.rollback).toMatchObject({ verified: true, faults_after_rollback: 0 })
  })

  it('defect 2: faults are not forgotten when the experiment is lost ("lost after N faults")', async () => {
    const { record } = await run({
      knobs: { loseAfterMs: 4_500, resilient: true },
      scenario: scenario({ checks: ['error_rate < 1% before', 'faults_injected > 0 during'] }),
    })
    expect(record.state).toBe('ABORTED')
    const lost = Number(/lost the experiment after (\d+) faults/.exec(record.abort_reason ?? '')?.[1])
    expect(lost).toBeGreaterThan(0)
    expect(record.metrics.during!.faults_injected).toBe(lost)
    expect(record.checks.find((c) => c.expression === 'faults_injected > 0 during')?.passed).toBe(true)
    const advice = analyseExperiment(record).map((l) => l.message)
    expect(advice.some((m) => m.includes('target_service "pms_adapter"'))).toBe(false)
  })

  it('defect 3: each fault lands in the second its request was sent; none in RECOVERY points', async () => {
    const { record } = await run({ knobs: { resilient: true } })
    const during = record.timeseries.filter((p) => p.phase === 'DURING')
    const recovery = record.timeseries.filter((p) => p.phase === 'RECOVERY')
    // 20 rps, 20 % of calls: every second of injection has its 4 faults, the first one included.
    expect(during[0]!.faults_injected).toBeGreaterThan(0)
    expect(during.slice(1, -1).every((p) => p.faults_injected === 4)).toBe(true)
    expect(recovery.reduce((n, p) => n + (p.faults_injected ?? 0), 0)).toBe(0)
    const inSeries = record.timeseries.reduce((n, p) => n + (p.faults_injected ?? 0), 0)
    expect(inSeries).toBe(record.metrics.during!.affected_requests)
  })

  it('defect 3: an aborted run too: faults sent before the rollback stay in DURING points', async () => {
    const { record } = await run({
      scenario: scenario({
        fault_config: {
          fault_type: 'EXCEPTION',
          probability: 0.9,
          exception_class: 'PMSError',
          blast_radius: 'SINGLE_SERVICE',
        },
      }),
    })
    expect(record.state).toBe('ABORTED')
    const byPhase = (phase: string) =>
      record.timeseries.filter((p) => p.phase === phase).reduce((n, p) => n + (p.faults_injected ?? 0), 0)
    expect(byPhase('DURING')).toBe(record.metrics.during!.affected_requests)
    expect(byPhase('DURING')).toBeGreaterThan(0)
    expect(byPhase('RECOVERY')).toBe(0)
    // The first DURING point starts where the fault went live, not at the next whole second.
    const first = record.timeseries.find((p) => p.phase === 'DURING')!
    expect(first.faults_injected).toBeGreaterThan(0)
  })

  it('defect 6: requests that met a fault (≤ total) and faults injected are reported apart', async () => {
    const { record } = await run({ knobs: { resilient: true, tagsResponses: false } })
    const during = record.metrics.during!
    expect(during.affected_requests).toBeNull() // not measured, never 0
    expect(during.faults_injected).toBeGreaterThan(0)
    expect(record.timeseries.some((p) => (p.faults_injected ?? 0) > 0)).toBe(true) // from the polls
  })
})

describe('defect 7 in the lifecycle', () => {
  it('a real breach (every call failing) is still aborted within 1.5 poll intervals', async () => {
    const { record } = await run({
      scenario: scenario({
        fault_config: {
          fault_type: 'EXCEPTION',
          probability: 1,
          exception_class: 'PMSError',
          blast_radius: 'SINGLE_SERVICE',
        },
      }),
    })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_reason).toMatch(/^safety: error rate 100.0% above 50.0% over the last poll window/)
    const live = Date.parse(record.rolled_back_at!) - Date.parse(record.injected_at!)
    expect(live).toBeLessThanOrEqual(1.5 * OPTIONS.intervalMs)
  })

  it('a healthy 30 % fault runs its full duration without a chance abort', async () => {
    const { record } = await run({
      scenario: scenario({
        fault_config: {
          fault_type: 'EXCEPTION',
          probability: 0.3,
          exception_class: 'PMSError',
          blast_radius: 'SINGLE_SERVICE',
        },
        checks: ['error_rate < 1% before', 'error_rate < 40% during'],
      }),
    })
    expect(record.state).toBe('COMPLETED')
  })
})

describe('defect 6: MTTR from request timestamps', () => {
  it('is not the poll interval: a target that heals at once recovers in well under one interval', async () => {
    const { record } = await run({ knobs: { resilient: true } })
    expect(record.metrics.recovered).toBe(true)
    expect(record.metrics.mttr_seconds!).toBeLessThan(OPTIONS.intervalMs / 1000)
  })

  it('measures a 2.3 s recovery as 2.3–2.5 s (100 ms resolution), not a multiple of the poll interval', async () => {
    const { record } = await run({ knobs: { resilient: true, failsAfterRollbackMs: 2_300 } })
    expect(record.metrics.recovered).toBe(true)
    expect(record.metrics.mttr_seconds!).toBeGreaterThanOrEqual(2.3)
    expect(record.metrics.mttr_seconds!).toBeLessThanOrEqual(2.5)
  })
})
