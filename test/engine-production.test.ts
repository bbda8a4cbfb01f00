/**
 * Production only on purpose, in the engine: a target whose agent reports environment production
 * (any spelling) is refused at preflight (ABORTED, exit 3, nothing injected) unless the run allows
 * it, and the environment each instance reported is journaled and stored in the run record.
 */
import { describe, expect, it } from 'vitest'
import type { ExperimentOptions } from '../src/engine/experiment.js'
import { runSuite, type SuiteOptions } from '../src/engine/suite.js'
import { ExitCode } from '../src/exit-codes.js'
import { createMemoryLogger } from '../src/logger.js'
import { RunRecord } from '../src/record.js'
import { renderText } from '../reports/text.js'
import { FakeTarget, type FakeTargetKnobs } from './support/fake-target.js'
import { createVirtualClock } from './support/virtual-clock.js'
import { runOnFakeTarget, testScenario } from './support/engine.js'

const SCENARIO = testScenario({
  duration_seconds: 10,
  fault_config: {
    fault_type: 'EXCEPTION',
    probability: 0.1,
    exception_class: 'PMSError',
    blast_radius: 'SERVICE_CLUSTER',
  },
  checks: ['error_rate < 1% before', 'error_rate < 30% during'],
})

const OPTIONS: Partial<ExperimentOptions> = { baselineMs: 3_000, recoveryTimeoutMs: 10_000, sandbox: false }

async function experiment(knobs: Partial<FakeTargetKnobs>, options: Partial<ExperimentOptions> = {}) {
  const { record, target, events } = await runOnFakeTarget({
    knobs,
    scenario: SCENARIO,
    options: { ...OPTIONS, ...options },
  })
  return { record, target, events }
}

const SUITE: SuiteOptions = {
  runId: 'RUN1',
  selection: ['pms'],
  target: { urls: ['http://a.test', 'http://b.test'], sandbox: false },
  rate: 20,
  baselineMs: 3_000,
  intervalMs: 1_000,
  recoveryTimeoutMs: 10_000,
  pauseMs: 0,
  leaseSeconds: 30,
  keepGoing: false,
  allowEntireSystem: false,
}

/** A suite of one experiment over two instances whose agents report `environments`. */
async function suite(environments: Array<string | undefined>, options: Partial<SuiteOptions> = {}) {
  const vc = createVirtualClock()
  const targets = environments.map(
    (environment, i) => new FakeTarget(vc.clock, { environment }, SUITE.target.urls[i]),
  )
  const record = await vc.run(
    runSuite(
      [SCENARIO],
      { ...SUITE, ...options },
      {
        clients: targets.map((t) => t.client()),
        probes: targets.map((t) => t.probe()),
        createWorkload: () => targets[0]!.workload(20),
        clock: vc.clock,
        events: createMemoryLogger(),
      },
      new AbortController().signal,
    ),
  )
  return { record: RunRecord.parse(record), targets }
}

describe('production refusal at preflight', () => {
  it.each(['production', 'Production', ' PROD '])(
    'refuses a target reporting %j: ABORTED, nothing injected, the reason names the flag',
    async (environment) => {
      const { record, target, events } = await experiment({ environment })
      expect(record.state).toBe('ABORTED')
      expect(record.abort_reason).toBe(
        'preflight: http://fake-target.test reports environment "production"; nothing was injected (pass --allow-production to run experiments in production deliberately)',
      )
      expect(record.injected_at).toBeNull()
      expect(target.callsOf('start')).toEqual([])
      expect(events.entries.map((e) => e.event)).not.toContain('chaos_preflight_passed')
    },
  )

  it('with allowProduction the experiment runs, and the preflight event names the environment', async () => {
    const { record, target, events } = await experiment(
      { environment: 'Production' },
      { allowProduction: true },
    )
    expect(record.state).toBe('COMPLETED')
    expect(target.callsOf('start')).toHaveLength(1)
    const passed = events.entries.find((e) => e.event === 'chaos_preflight_passed')
    expect(passed?.fields).toMatchObject({ instances: 1, environment: 'production' })
  })

  it('a target that reports no environment, or another one, runs; the event says which', async () => {
    const unknown = await experiment({})
    expect(unknown.record.state).toBe('COMPLETED')
    expect(unknown.events.entries.find((e) => e.event === 'chaos_preflight_passed')?.fields).toMatchObject({
      environment: 'unknown',
    })
    const staging = await experiment({ environment: 'Staging' })
    expect(staging.record.state).toBe('COMPLETED')
    expect(staging.events.entries.find((e) => e.event === 'chaos_preflight_passed')?.fields).toMatchObject({
      environment: 'staging',
    })
  })
})

describe('the run record keeps the environment', () => {
  it('one production instance among two refuses the run before any start: exit 3, both recorded', async () => {
    const { record, targets } = await suite(['staging', 'prod'])
    expect(record).toMatchObject({ outcome: 'ABORTED', exit_code: ExitCode.SAFETY })
    expect(record.target.environment).toEqual(['staging', 'production'])
    for (const t of targets) expect(t.callsOf('start')).toEqual([])
    expect(renderText(record, { color: false })).toContain('Environment: staging, production')
  })

  it('allowed, the run injects and records each instance (null when not reported)', async () => {
    const { record, targets } = await suite(['production', undefined], { allowProduction: true })
    expect(record.experiments[0]!.state).toBe('COMPLETED')
    expect(record.target.environment).toEqual(['production', null])
    expect(targets.map((t) => t.callsOf('start').length)).toEqual([1, 1])
    expect(renderText(record, { color: false })).toContain('Environment: production, unknown')
  })
})
