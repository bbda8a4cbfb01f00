/** A suite in-process: experiments in order, pauses, stop-on-abort, skipped records, the verdict. */
import { describe, expect, it } from 'vitest'
import { runSuite, verdict, type SuiteOptions } from '../src/engine/suite.js'
import { ExitCode } from '../src/exit-codes.js'
import { createMemoryLogger } from '../src/logger.js'
import { Scenario } from '../src/scenario/schema.js'
import { FakeTarget, type FakeTargetKnobs } from './support/fake-target.js'
import { createVirtualClock } from './support/virtual-clock.js'

const make = (id: string, probability: number) =>
  Scenario.parse({
    id,
    name: id,
    category: 'pms',
    target_service: 'pms_adapter',
    duration_seconds: 10,
    steady_state_hypothesis: 'holds',
    fault_config: {
      fault_type: 'EXCEPTION',
      probability,
      exception_class: 'PMSError',
      blast_radius: 'SINGLE_SERVICE',
    },
    checks: ['error_rate < 1% before', 'error_rate < 30% during'],
  })

const OPTIONS: SuiteOptions = {
  runId: 'RUN1',
  selection: ['pms'],
  target: { urls: ['http://fake-target.test'], sandbox: true },
  rate: 20,
  baselineMs: 3_000,
  intervalMs: 1_000,
  recoveryTimeoutMs: 10_000,
  pauseMs: 5_000,
  leaseSeconds: 30,
  keepGoing: false,
  allowEntireSystem: false,
}

async function suite(
  scenarios: Scenario[],
  options: Partial<SuiteOptions> = {},
  knobs: Partial<FakeTargetKnobs> = {},
) {
  const vc = createVirtualClock()
  const target = new FakeTarget(vc.clock, knobs)
  const pauses: number[] = []
  const done: string[] = []
  const record = await vc.run(
    runSuite(
      scenarios,
      { ...OPTIONS, ...options },
      {
        clients: [target.client()],
        probes: [target.probe()],
        createWorkload: () => target.workload(20),
        clock: vc.clock,
        events: createMemoryLogger(),
        analyse: (e) => [{ level: 'OK', message: `analysed ${e.id}` }],
        onPause: (ms) => pauses.push(ms),
        onExperimentDone: (e) => {
          done.push(e.id)
          throw new Error('a broken hook never hides the result')
        },
      },
      new AbortController().signal,
    ),
  )
  return { record, target, pauses, done }
}

describe('suite (in-process)', () => {
  it('runs every experiment in order with a pause between them; all held → PASSED, exit 0', async () => {
    const { record, pauses, done } = await suite([make('a_ok', 0.1), make('b_ok', 0.2)])
    expect(record.experiments.map((e) => [e.id, e.state, e.hypothesis_held])).toEqual([
      ['a_ok', 'COMPLETED', true],
      ['b_ok', 'COMPLETED', true],
    ])
    expect(pauses).toEqual([5_000])
    expect(done).toEqual(['a_ok', 'b_ok'])
    expect(record.experiments[0]!.analysis).toEqual([{ level: 'OK', message: 'analysed a_ok' }])
    expect(record).toMatchObject({ outcome: 'PASSED', exit_code: ExitCode.OK, partial: false })
    // Each experiment was injected under its own id.
    expect(record.experiments.map((e) => e.injected_at)).not.toContain(null)
  })

  it('stops after a safety abort and records the rest as SKIPPED (partial, exit 3)', async () => {
    const { record, target } = await suite([make('a_bad', 0.9), make('b_never', 0.1)])
    expect(record.experiments.map((e) => e.state)).toEqual(['ABORTED', 'SKIPPED'])
    expect(record.experiments[1]!.abort_reason).toMatch(/suite stopped after a_bad was aborted/)
    expect(record).toMatchObject({ outcome: 'ABORTED', exit_code: ExitCode.SAFETY, partial: true })
    expect(target.callsOf('start')).toHaveLength(1)
  })

  it('with keepGoing, runs the rest after an abort', async () => {
    const { record } = await suite([make('a_bad', 0.9), make('b_ok', 0.1)], { keepGoing: true })
    expect(record.experiments.map((e) => e.state)).toEqual(['ABORTED', 'COMPLETED'])
    expect(record.outcome).toBe('ABORTED')
  })

  it('verdict: interrupted > runtime error > safety abort > failed check > inconclusive > passed', () => {
    const e = (state: string, held: boolean | null = true) => ({ state, hypothesis_held: held }) as never
    expect(verdict([e('COMPLETED')], true).exitCode).toBe(ExitCode.INTERRUPTED)
    expect(verdict([e('FAILED'), e('ABORTED')], false).exitCode).toBe(ExitCode.RUNTIME)
    expect(verdict([e('ABORTED'), e('COMPLETED', false)], false).exitCode).toBe(ExitCode.SAFETY)
    expect(verdict([e('COMPLETED', false)], false).exitCode).toBe(ExitCode.CHECK_FAILED)
    // A failed check wins over an inconclusive experiment; an inconclusive one over a passed one.
    expect(verdict([e('COMPLETED', null), e('COMPLETED', false)], false).exitCode).toBe(ExitCode.CHECK_FAILED)
    expect(verdict([e('ABORTED', null), e('COMPLETED', null)], false).exitCode).toBe(ExitCode.SAFETY)
    expect(verdict([e('COMPLETED'), e('COMPLETED', null)], false)).toEqual({
      outcome: 'INCONCLUSIVE',
      exitCode: ExitCode.INCONCLUSIVE,
    })
    expect(ExitCode.INCONCLUSIVE).toBe(5)
    expect(verdict([e('COMPLETED')], false)).toEqual({ outcome: 'PASSED', exitCode: ExitCode.OK })
  })
})
