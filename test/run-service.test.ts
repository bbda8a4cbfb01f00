/**
 * `executeRun` in-process against the real sandbox over real HTTP: the service the `chaos run`
 * command wraps (lock, journal, engine, reports), without a child process in between.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../src/clock.js'
import { executeRun, type RunInput } from '../src/engine/run-service.js'
import { SafetyError } from '../src/errors.js'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { Scenario } from '../src/scenario/schema.js'

const scenario = Scenario.parse({
  id: 'network_latency',
  name: 'Network latency',
  category: 'network',
  target_service: 'pms_adapter',
  duration_seconds: 2,
  steady_state_hypothesis: 'slower but no errors',
  fault_config: { fault_type: 'LATENCY', probability: 0.5, latency_ms: 50, blast_radius: 'SINGLE_SERVICE' },
  checks: ['error_rate < 5% before', 'faults_injected > 0 during', 'error_rate < 5% during'],
  workload: { requests: [{ path: '/api/availability?check_in={{today+3}}&check_out={{today+5}}' }] },
})

let sandbox: Sandbox
let dir: string
beforeEach(async () => {
  sandbox = await startSandbox({ token: 'test-token-0123456789', defaultMetrics: false })
  dir = await mkdtemp(join(tmpdir(), 'chaos-run-service-'))
})
afterEach(async () => {
  await sandbox.close()
  await rm(dir, { recursive: true, force: true })
})

function input(): RunInput {
  return {
    scenarios: [scenario],
    selection: ['network_latency'],
    targets: [sandbox.url],
    token: 'test-token-0123456789',
    sandbox: true,
    options: {
      baselineMs: 1000,
      pauseMs: 0,
      intervalMs: 500,
      recoveryTimeoutMs: 20_000,
      rate: 20,
      allowEntireSystem: false,
    },
    keepGoing: false,
    leaseSeconds: 30,
    reportsDir: dir,
  }
}

describe('executeRun (in-process, real sandbox)', () => {
  it('runs, journals the guide events, writes the reports atomically and releases the lock', async () => {
    const events: string[] = []
    const { record, written } = await executeRun(input(), {
      clock: systemClock,
      signal: new AbortController().signal,
      pid: process.pid,
      isAlive: () => true,
      onEvent: (_level, event) => events.push(event),
    })
    const experiment = record.experiments[0]!
    expect(experiment.state).toBe('COMPLETED')
    expect(experiment.rollback.verified).toBe(true)
    expect(experiment.metrics.during!.affected_requests).toBeGreaterThan(0)
    expect(record.outcome).toBe(experiment.hypothesis_held ? 'PASSED' : 'FAILED')
    expect(events).toEqual(expect.arrayContaining(['chaos_experiment_started', 'chaos_experiment_completed']))
    const json = JSON.parse(await readFile(written.json, 'utf8')) as { run_id: string }
    expect(json.run_id).toBe(record.run_id)
    expect(await readFile(written.latest.text, 'utf8')).toContain('network_latency')
    const journal = await readFile(join(dir, 'events.jsonl'), 'utf8')
    expect(journal).toContain('"event":"chaos_experiment_started"')
    expect(sandbox.agent!.info().active_experiments).toEqual([])
    // The lock is released: a second run can start at once.
    const again = await executeRun(
      { ...input(), scenarios: [{ ...scenario, duration_seconds: 1 }] },
      { clock: systemClock, signal: AbortSignal.abort('SIGINT'), pid: process.pid, isAlive: () => true },
    )
    expect(again.record.outcome).toBe('INTERRUPTED')
    expect(existsSync(again.written.json)).toBe(true)
  })

  it("the target's reasons are hidden no more: a 400's problems reach record.error, the report and the live event", async () => {
    const reasons: string[] = []
    // A lease over the protocol's cap (the CLI refuses it at parse time; a library caller can pass it).
    const { record, written } = await executeRun(
      { ...input(), leaseSeconds: 31 * 60 },
      {
        clock: systemClock,
        signal: new AbortController().signal,
        pid: process.pid,
        isAlive: () => true,
        onEvent: (_level, event, fields) => {
          if (event === 'chaos_experiment_failed') reasons.push(String(fields.reason))
        },
      },
    )
    const experiment = record.experiments[0]!
    expect(experiment.state).toBe('FAILED')
    expect(record.exit_code).toBe(4)
    expect(experiment.error).toMatch(/^POST \/experiments → 400: .+ \(.*lease_seconds.*\)$/)
    expect(reasons).toEqual([experiment.error])
    expect(await readFile(written.text, 'utf8')).toContain(`Error: ${experiment.error!}`)
  })

  it('refuses while another live runner holds the lock (SafetyError, exit 3)', async () => {
    let started!: () => void
    const holding = new Promise<void>((resolve) => (started = resolve))
    const first = executeRun(input(), {
      clock: systemClock,
      signal: new AbortController().signal,
      pid: process.pid,
      isAlive: () => true,
      onExperimentStart: () => started(), // the lock is taken before the first experiment starts
    })
    await holding
    await expect(
      executeRun(input(), {
        clock: systemClock,
        signal: new AbortController().signal,
        pid: 1,
        isAlive: () => true,
      }),
    ).rejects.toBeInstanceOf(SafetyError)
    await first
  })
})
