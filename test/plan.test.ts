import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '../src/errors.js'
import { buildPlan, resolveRunOptions, RUN_DEFAULTS } from '../src/plan.js'
import { parseScenario, type LoadedScenario } from '../src/scenario/loader.js'

function scenario(id: string, fault: string, extra = ''): LoadedScenario {
  const text = `id: ${id}
name: ${id}
category: pms
target_service: pms_adapter
duration_seconds: 60
steady_state_hypothesis: CB opens, uses cached data
fault_config:
${fault}
checks:
  - availability >= 99% before
  - name: breaker opens
    check: circuit_breaker_trips > 0 during
  - mttr_seconds < 2m after
${extra}`
  const { scenario: s, problems } = parseScenario(text, `/x/${id}.yaml`)
  if (!s) throw new Error(problems.map((p) => p.message).join('; '))
  return { file: `/x/${id}.yaml`, display: `${id}.yaml`, scenario: s }
}

const failure = scenario(
  'pms_api_failure',
  '  fault_type: EXCEPTION\n  probability: 0.2\n  exception_class: PMSError',
)
const outage = scenario(
  'pms_complete_unavailability',
  '  fault_type: CIRCUIT_BREAK\n  probability: 1\n  blast_radius: ENTIRE_SYSTEM',
  'safety:\n  max_error_rate: 0.3\n  min_availability: 0.6\n',
)
const disabled = scenario(
  'pms_disabled',
  '  fault_type: LATENCY\n  probability: 0.5\n  latency_ms: 100\n  enabled: false',
)

describe('buildPlan', () => {
  it('lists each experiment with its fault, checks and safety limits, and the expected time', () => {
    const plan = buildPlan([failure, outage], ['pms'], resolveRunOptions({}))
    expect(plan.experiments[0]).toEqual({
      position: 1,
      id: 'pms_api_failure',
      name: 'pms_api_failure',
      category: 'pms',
      file: 'pms_api_failure.yaml',
      target_service: 'pms_adapter',
      steady_state_hypothesis: 'CB opens, uses cached data',
      enabled: true,
      fault: {
        type: 'EXCEPTION',
        params: { exception_class: 'PMSError', exception_message: 'Chaos: injected exception' },
      },
      probability: 0.2,
      blast_radius: 'SINGLE_SERVICE',
      duration_seconds: 60,
      checks: [
        { name: 'availability >= 99% before', expression: 'availability >= 99% before', phase: 'before' },
        { name: 'breaker opens', expression: 'circuit_breaker_trips > 0 during', phase: 'during' },
        { name: 'mttr_seconds < 2m after', expression: 'mttr_seconds < 2m after', phase: 'after' },
      ],
      safety: {
        max_error_rate: 0.5,
        min_availability: 0.5,
        max_duration_seconds: 1800,
        one_experiment_at_a_time: true,
      },
      overridden: [],
      expected_seconds: 70,
      warnings: [],
    })
    // The scenario tightens the limits; ENTIRE_SYSTEM is flagged.
    expect(plan.experiments[1]!.safety).toMatchObject({ max_error_rate: 0.3, min_availability: 0.6 })
    expect(plan.experiments[1]!.warnings).toEqual([expect.stringContaining('--allow-entire-system')])
    expect(plan).toMatchObject({
      dry_run: true,
      selection: ['pms'],
      baseline_seconds: 10,
      pause_seconds: 30,
      interval_seconds: 1,
      recovery_timeout_seconds: 120,
      rate_rps: 20,
      safety: { max_error_rate: 0.5, min_availability: 0.5, max_duration_seconds: 1800 },
      total_expected_seconds: 70 + 30 + 70,
      max_total_seconds: 70 + 30 + 70 + 2 * 120,
    })
  })

  it('applies the overrides and marks them', () => {
    const options = resolveRunOptions({
      duration: '20s',
      probability: '10%',
      blastRadius: 'single-request',
      pause: '2s',
      baseline: '5s',
      allowEntireSystem: true,
    })
    const plan = buildPlan([failure, outage], ['pms'], options)
    expect(
      plan.experiments.map((e) => [e.duration_seconds, e.probability, e.blast_radius, e.overridden]),
    ).toEqual([
      [20, 0.1, 'SINGLE_REQUEST', ['duration_seconds', 'probability', 'blast_radius']],
      [20, 0.1, 'SINGLE_REQUEST', ['duration_seconds', 'probability', 'blast_radius']],
    ])
    expect(plan.experiments[1]!.warnings).toEqual([])
    expect(plan.total_expected_seconds).toBe(25 + 2 + 25)
  })

  it('leaves disabled scenarios out of the expected time', () => {
    const plan = buildPlan([failure, disabled], ['pms'], resolveRunOptions({}))
    expect(plan.experiments[1]).toMatchObject({ enabled: false, expected_seconds: 0 })
    expect(plan.experiments[1]!.warnings[0]).toMatch(/disabled/)
    expect(plan.total_expected_seconds).toBe(70)
  })
})

describe('resolveRunOptions', () => {
  it('takes flags over config over built-in defaults', () => {
    expect(resolveRunOptions({})).toEqual({ ...RUN_DEFAULTS, allowEntireSystem: false })
    const config = { baselineMs: 3000, pauseMs: 1000, rate: 5, durationMs: 15_000 }
    expect(resolveRunOptions({}, config)).toMatchObject({
      baselineMs: 3000,
      pauseMs: 1000,
      rate: 5,
      durationMs: 15_000,
    })
    expect(
      resolveRunOptions({ baseline: '2s', pause: '0', rate: '7', duration: '1m' }, config),
    ).toMatchObject({
      baselineMs: 2000,
      pauseMs: 0,
      rate: 7,
      durationMs: 60_000,
    })
  })

  it.each([
    [{ duration: '31m' }, '--duration: 31m is longer than 30 minutes'],
    [{ duration: 'soon' }, '--duration: "soon" is not a positive duration'],
    [{ baseline: '0s' }, '--baseline: "0s" is not a positive duration'],
    [{ pause: '-1s' }, '--pause: "-1s" is not a duration'],
    [{ probability: '1.5' }, '--probability: "1.5" is not a probability'],
    [{ probability: '150%' }, '--probability: "150%" is not a probability'],
    [{ blastRadius: 'SINGLE_SERVIC' }, '--blast-radius: "SINGLE_SERVIC" is not a blast radius'],
    [{ rate: 'fast' }, '--rate: "fast" is not a request rate'],
  ])('rejects %o with a one-line error naming the flag', (raw, message) => {
    expect(() => resolveRunOptions(raw)).toThrow(InvalidInputError)
    expect(() => resolveRunOptions(raw)).toThrow(message)
  })

  it('suggests the closest blast radius', () => {
    try {
      resolveRunOptions({ blastRadius: 'SINGLE_SERVIC' })
    } catch (err) {
      expect((err as InvalidInputError).hint).toMatch(/^did you mean SINGLE_SERVICE\?/)
      return
    }
    throw new Error('accepted')
  })
})
