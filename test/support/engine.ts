/**
 * One experiment of the real engine against the in-memory fake target on a virtual clock: the
 * harness every in-process engine test shares (lifecycle, brake, production, ...).
 */
import { runExperiment, type ExperimentOptions, type Progress } from '../../src/engine/experiment.js'
import { createMemoryLogger, type Logger } from '../../src/logger.js'
import { Scenario, type ScenarioInput } from '../../src/scenario/schema.js'
import { FakeTarget, type FakeTargetKnobs } from './fake-target.js'
import { createVirtualClock, type VirtualClock } from './virtual-clock.js'

/** Experiment settings of the engine tests: 5 s baseline, 1 s polls, 30 s lease. */
export const TEST_OPTIONS: ExperimentOptions = {
  experimentId: 'pms_api_failure.run1',
  baselineMs: 5_000,
  intervalMs: 1_000,
  recoveryTimeoutMs: 30_000,
  leaseSeconds: 30,
  allowEntireSystem: false,
  sandbox: true,
}

/** The guide's PMS API failure (20 % exceptions for 20 s), with `overrides`. */
export function testScenario(overrides: Partial<ScenarioInput> = {}): Scenario {
  return Scenario.parse({
    id: 'pms_api_failure',
    name: 'PMS API Failure',
    category: 'pms',
    target_service: 'pms_adapter',
    duration_seconds: 20,
    steady_state_hypothesis: 'CB opens, uses cached data',
    fault_config: {
      fault_type: 'EXCEPTION',
      probability: 0.2,
      exception_class: 'PMSError',
      blast_radius: 'SINGLE_SERVICE',
    },
    checks: ['error_rate < 1% before', 'error_rate < 30% during', 'mttr_seconds < 2m after'],
    ...overrides,
  })
}

export interface FakeRun {
  knobs?: Partial<FakeTargetKnobs>
  scenario?: Scenario
  options?: Partial<ExperimentOptions>
  promql?: (query: string, signal?: AbortSignal) => Promise<number | null>
  /** The event journal, or a factory given the clock (default: a memory logger, returned as `events`). */
  events?: Logger | ((vc: VirtualClock) => Logger)
  /** Called on every progress update; `abort()` is Ctrl-C. */
  onProgress?: (progress: Progress, abort: () => void, target: FakeTarget, vc: VirtualClock) => void
  /** Workload rate, requests per second (default 20). */
  rate?: number
}

/** Runs one experiment to its record on a fresh fake target and virtual clock. */
export async function runOnFakeTarget(setup: FakeRun = {}) {
  const vc = createVirtualClock()
  const target = new FakeTarget(vc.clock, setup.knobs)
  const events = createMemoryLogger()
  const controller = new AbortController()
  const record = await vc.run(
    runExperiment(
      setup.scenario ?? testScenario(),
      { ...TEST_OPTIONS, ...setup.options },
      {
        clients: [target.client()],
        probes: [target.probe()],
        createWorkload: () => target.workload(setup.rate ?? 20),
        promql: setup.promql,
        clock: vc.clock,
        events: typeof setup.events === 'function' ? setup.events(vc) : (setup.events ?? events),
        onProgress: (p) => setup.onProgress?.(p, () => controller.abort('SIGINT'), target, vc),
      },
      controller.signal,
    ),
  )
  return { record, target, events, vc }
}
