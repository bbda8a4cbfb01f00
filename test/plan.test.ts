import { describe, expect, it } from 'vitest'
import { buildPlan, resolveRunOptions, RUN_DEFAULTS } from '../src/plan.js'
import { parseScenario, type LoadedScenario } from '../src/scenario/loader.js'
import { formatPlan } from '../src/render/plan.js'
import { Chalk } from 'chalk'

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
      workload: {
        source: 'DEFAULT',
        requests: expect.arrayContaining([{ method: 'POST', path: '/api/bookings', weight: 2 }]) as unknown,
      },
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
      durationMs: 20_000,
      probability: 0.1,
      blastRadius: 'SINGLE_REQUEST',
      pauseMs: 2000,
      baselineMs: 5000,
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
      resolveRunOptions({ baselineMs: 2000, pauseMs: 0, rate: 7, durationMs: 60_000 }, config),
    ).toMatchObject({
      baselineMs: 2000,
      pauseMs: 0,
      rate: 7,
      durationMs: 60_000,
    })
  })

  // The flags' text is parsed and checked by the shared flags (test/flags-e2e.test.ts); the config's
  // duration is checked here, naming the config field.
  it('refuses a config duration over 30 minutes, naming the field', () => {
    expect(() => resolveRunOptions({}, { durationMs: 31 * 60_000 })).toThrow(
      'config run.duration: 1860s is longer than 30 minutes',
    )
    expect(resolveRunOptions({ durationMs: 60_000 }, { durationMs: 31 * 60_000 }).durationMs).toBe(60_000)
  })
})

describe('the workload in the plan', () => {
  const own = scenario(
    'pms_own_routes',
    '  fault_type: LATENCY\n  probability: 0.5\n  latency_ms: 100',
    'workload:\n  requests:\n    - path: /orders\n      weight: 3\n    - method: POST\n      path: /orders/checkout\n',
  )
  const plain = new Chalk({ level: 0 })

  it("shows each experiment's paths and where they come from", () => {
    const context = { sandbox: false, builtinDir: '/pkg/scenarios' }
    const plan = buildPlan([own, failure], ['pms'], resolveRunOptions({}), {
      ...context,
      config: { requests: [{ method: 'GET', path: '/health', weight: 1 }] },
    })
    expect(plan.experiments.map((e) => e.workload)).toEqual([
      {
        source: 'SCENARIO',
        requests: [
          { method: 'GET', path: '/orders', weight: 3 },
          { method: 'POST', path: '/orders/checkout', weight: 1 },
        ],
      },
      { source: 'CONFIG', requests: [{ method: 'GET', path: '/health', weight: 1 }] },
    ])
    const text = formatPlan(plan, plain).join('\n')
    expect(text).toContain('workload     GET /orders 75 %  (from the scenario)')
    expect(text).toContain('             POST /orders/checkout 25 %')
    expect(text).toContain('workload     GET /health  (from the config)')
  })

  it("warns when a scenario of the user's would send the sandbox's routes to another target", () => {
    const builtin = { ...failure, file: '/pkg/scenarios/pms/pms_api_failure.yaml' }
    const against = (sandbox: boolean) =>
      buildPlan([failure, builtin, own], ['pms'], resolveRunOptions({}), {
        sandbox,
        builtinDir: '/pkg/scenarios',
      }).experiments.map((e) => e.warnings.filter((w) => w.startsWith('no workload')).length)
    // Only the user's file without a workload; the built-in keeps the hotel routes; the sandbox has them.
    expect(against(false)).toEqual([1, 0, 0])
    expect(against(true)).toEqual([0, 0, 0])
  })
})
