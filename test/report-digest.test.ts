/** The three-line digest (reports/digest.ts) of hand-built records: verdict, failed checks, what to do. */
import { describe, expect, it } from 'vitest'
import { DIGEST_WIDTH, runDigest, truncate } from '../reports/digest.js'
import { withAnalysis } from '../src/interpretation/rules.js'
import type { CheckResult, ExperimentRecord } from '../src/record.js'
import { guideExperiment, phase, runRecord, skippedExperiment } from './report-fixtures.js'

/** The guide's experiment with every check passing and healthy metrics: a clean pass. */
function passing(id: string, overrides: Partial<ExperimentRecord> = {}): ExperimentRecord {
  const e = guideExperiment({ id })
  return guideExperiment({
    id,
    hypothesis_held: true,
    metrics: {
      ...e.metrics,
      during: phase({ faults_injected: 20, affected_requests: 20, circuit_breaker_trips: 2 }),
    },
    checks: e.checks.map((c) => ({
      ...c,
      actual: c.phase === 'during' ? c.expected! / 2 : c.actual,
      passed: true,
    })),
    ...overrides,
  })
}

const errorRateCheck: CheckResult = {
  name: 'error_rate < 5% during',
  expression: 'error_rate < 5% during',
  phase: 'during',
  expected: 0.05,
  actual: 0.12,
  passed: false,
}

describe('runDigest', () => {
  it('is exactly three lines, each within the width', () => {
    const long = 'x'.repeat(300)
    const records = [
      runRecord(),
      runRecord({ outcome: 'PASSED', exit_code: 0, experiments: [] }),
      runRecord({
        experiments: Array.from({ length: 12 }, (_, i) =>
          guideExperiment({ id: `${long}-${i}`, abort_reason: long, state: 'ABORTED' }),
        ),
      }),
    ]
    for (const record of records) {
      const digest = runDigest(withAnalysis(record))
      expect(digest).toHaveLength(3)
      for (const line of digest) {
        expect(Array.from(line).length).toBeLessThanOrEqual(DIGEST_WIDTH)
        expect(line).not.toContain('\n')
      }
    }
  })

  it('says a clean pass in three short lines', () => {
    const record = withAnalysis(
      runRecord({ outcome: 'PASSED', exit_code: 0, experiments: [passing('a'), passing('b'), passing('c')] }),
    )
    expect(runDigest(record)).toEqual([
      'PASSED — 3 of 3 experiments held their hypothesis',
      'no check failed',
      'nothing to do',
    ])
  })

  it('names the failed check with its value, and the advice of the interpretation rules', () => {
    const failing = passing('pms-timeout-001', {
      hypothesis_held: false,
      target_service: 'pms_adapter',
      checks: [errorRateCheck],
      metrics: {
        ...guideExperiment().metrics,
        during: phase({
          error_rate: 0.12,
          availability: 0.88,
          faults_injected: 120,
          circuit_breaker_trips: 3,
        }),
      },
    })
    const record = withAnalysis(runRecord({ experiments: [passing('a'), failing, passing('c')] }))
    const [verdict, checks, next] = runDigest(record)
    expect(verdict).toBe('FAILED — 1 of 3 experiments did not hold their hypothesis; 2 held')
    expect(checks).toBe('failed: pms-timeout-001 error_rate < 5% during (was 12%)')
    // Not the "Check … failed" ACTION (that is line 2 again), but what to change.
    expect(next).toMatch(/^next: pms-timeout-001: Strengthen fallbacks for pms_adapter /)
  })

  it('lists as many failed checks as fit, then how many more', () => {
    const checks = Array.from({ length: 6 }, (_, i) => ({ ...errorRateCheck, actual: 0.1 + i / 100 }))
    const record = runRecord({ experiments: [guideExperiment({ id: 'net', checks })] })
    const line = runDigest(record)[1]!
    expect(line).toMatch(
      /^failed: net error_rate < 5% during \(was 10%\); net error_rate < 5% during \(was 11%\); \+4 more$/,
    )
    expect(Array.from(line).length).toBeLessThanOrEqual(DIGEST_WIDTH)
  })

  it('says which checks were not evaluated, and what to make testable, for an inconclusive run', () => {
    const notEvaluated: CheckResult = {
      name: 'circuit_breaker_trips > 0 during',
      expression: 'circuit_breaker_trips > 0 during',
      phase: 'during',
      expected: 0,
      actual: null,
      passed: null,
      detail: 'not evaluated: the target exports no circuit_breaker_trips_total',
    }
    const e = passing('pms', {
      hypothesis_held: null,
      checks: [{ ...errorRateCheck, actual: 0.01, passed: true }, notEvaluated],
      inconclusive_reason: 'circuit_breaker_trips > 0 during not evaluated: no circuit_breaker_trips_total',
    })
    const record = withAnalysis(runRecord({ outcome: 'INCONCLUSIVE', exit_code: 5, experiments: [e] }))
    expect(runDigest(record)).toEqual([
      'INCONCLUSIVE — 1 of 1 experiment inconclusive (proved nothing)',
      '1 check not evaluated: pms circuit_breaker_trips > 0 during',
      'next: make it testable - pms: circuit_breaker_trips > 0 during not evaluated: no circuit_breaker_tr…',
    ])
  })

  it('puts `chaos stop --all` first when a rollback was not verified', () => {
    const lie = guideExperiment({
      id: 'rollback_lie',
      state: 'FAILED',
      hypothesis_held: null,
      error: 'rollback not verified',
      rollback: {
        ...guideExperiment().rollback,
        verified: false,
        error: 'faults continued after the rollback',
      },
    })
    const record = withAnalysis(runRecord({ outcome: 'ERROR', exit_code: 4, experiments: [lie] }))
    const [verdict, , next] = runDigest(record)
    expect(verdict).toBe('ERROR — 1 of 1 experiment failed (runtime error)')
    expect(next).toBe(
      'next: run `chaos stop --all` now - rollback not verified (rollback_lie): the fault may be live',
    )
  })

  it('gives the abort reason of an aborted run, and counts the skipped experiments', () => {
    const record = withAnalysis(
      runRecord({
        outcome: 'ABORTED',
        exit_code: 3,
        partial: true,
        experiments: [
          guideExperiment({
            state: 'ABORTED',
            hypothesis_held: null,
            checks: [],
            abort_reason: 'error rate 62% > 50%',
            rollback: { ...guideExperiment().rollback },
          }),
          skippedExperiment(),
        ],
      }),
    )
    const [verdict, checks, next] = runDigest(record)
    expect(verdict).toBe('ABORTED — 1 of 2 experiments aborted; 1 skipped')
    expect(checks).toBe('no check failed')
    expect(next).toMatch(
      /^next: pms_api_failure: Experiment aborted: error rate 62% > 50% - review the safety/,
    )
  })

  it('still says why without analysis lines (a hand-written or older record)', () => {
    const aborted = runRecord({
      outcome: 'ABORTED',
      exit_code: 3,
      experiments: [
        guideExperiment({ state: 'ABORTED', hypothesis_held: null, abort_reason: 'error rate 62% > 50%' }),
      ],
    })
    expect(aborted.experiments[0]!.analysis).toEqual([])
    expect(runDigest(aborted)[2]).toBe('next: see why pms_api_failure aborted: error rate 62% > 50%')
    expect(runDigest(runRecord())[2]).toBe(
      'next: make pms_adapter hold "Bookings fall back to the cache; availability stays above 80%"',
    )
  })

  it('says so when no experiment ran', () => {
    expect(runDigest(runRecord({ outcome: 'ERROR', exit_code: 4, experiments: [] }))[0]).toBe(
      'ERROR — no experiment ran',
    )
  })
})

describe('truncate', () => {
  it('cuts by characters, not bytes, and marks the cut', () => {
    expect(truncate('abc', 3)).toBe('abc')
    expect(truncate('abcd', 3)).toBe('ab…')
    expect(truncate('✅✅✅✅', 3)).toBe('✅✅…')
  })
})
