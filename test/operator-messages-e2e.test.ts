/**
 * What `chaos status`, `chaos stop` and a run say when an operator steps in, through the compiled
 * CLI against real sandboxes over HTTP: a refused token is not an unreachable target, a scenario id
 * stops that scenario's running experiment, and a run whose experiment an operator stopped says so.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunRecord } from '../src/record.js'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { getExperiment, startExperiment } from './sandbox-helpers.js'
import { assertBuilt, chaos, controlClient, fast, pollUntil, runChaos, tempCwd } from './support/index.js'

const TOKEN = 'operator-token-0123456789'
let a: Sandbox
let b: Sandbox
let cwd: { dir: string; cleanup: () => Promise<void> }

beforeAll(async () => {
  assertBuilt()
  const options = { token: TOKEN, baseLatencyMs: 0, defaultMetrics: false }
  ;[a, b] = await Promise.all([startSandbox(options), startSandbox(options)])
  cwd = await tempCwd()
})
afterAll(async () => {
  await Promise.all([a.close(), b.close()])
  await cwd.cleanup()
})

const on = (...sandboxes: Sandbox[]) => [...sandboxes.flatMap((s) => ['--target', s.url]), '--token', TOKEN]
const latency = { fault_type: 'LATENCY', probability: 1, latency_ms: 5 }

describe('operator messages (compiled CLI, real sandboxes)', () => {
  it('status with a wrong token says the agent refused it (HTTP 401), not that the target is unreachable', async () => {
    const args = ['status', '--target', a.url, '--token', 'wrong-token-0123456789']
    const text = await runChaos(args, { cwd: cwd.dir })
    expect(text.exitCode).toBe(4)
    expect(text.stdout).toContain(
      `${a.url}: the agent refused the token (HTTP 401): set CHAOS_TOKEN to the agent's token`,
    )
    expect(text.stdout + text.stderr).not.toMatch(/unreachable/)
    expect(text.stderr).toContain('Error: the agent refused the token on 1 of 1 instance')
    const json = await runChaos([...args, '--json'], { cwd: cwd.dir })
    expect(json.exitCode).toBe(4)
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: 'the agent refused the token on 1 of 1 instance',
      exit_code: 4,
    })
  })

  it('stop <scenario id> stops every experiment of that scenario, on every instance, and says several matched', async () => {
    await startExperiment(a, 'pms_api_failure.20301128t112233z-aaaaaa', 'pms_adapter', latency)
    await startExperiment(b, 'pms_api_failure.20301128t112233z-bbbbbb', 'pms_adapter', latency)
    const stop = await runChaos(['stop', 'pms_api_failure', ...on(a, b)], { cwd: cwd.dir })
    expect(stop.exitCode, String(stop.stderr)).toBe(0)
    expect(stop.stdout).toContain(`${a.url}: stopped pms_api_failure.20301128t112233z-aaaaaa; verified`)
    expect(stop.stdout).toContain(`${b.url}: stopped pms_api_failure.20301128t112233z-bbbbbb; verified`)
    expect(stop.stdout).toContain('2 experiments matched "pms_api_failure": stopped all of them')
    for (const [s, id] of [
      [a, 'pms_api_failure.20301128t112233z-aaaaaa'],
      [b, 'pms_api_failure.20301128t112233z-bbbbbb'],
    ] as const) {
      expect(await getExperiment(s, id)).toMatchObject({ state: 'COMPLETED', end_reason: 'stopped' })
    }
  })

  it('a name that matches nothing while another experiment runs is refused (exit 2) and the other keeps running', async () => {
    const id = 'network_latency.20301128t112233z-cccccc'
    await startExperiment(a, id, 'pms_adapter', latency)
    try {
      // "network" is a category, not the scenario id the experiment id starts with.
      const stop = await runChaos(['stop', 'network', ...on(a)], { cwd: cwd.dir })
      expect(stop.exitCode).toBe(2)
      expect(stop.stderr).toContain(`Error: no active experiment matches "network"; still active: ${id}`)
      expect((await getExperiment(a, id)).state).toBe('RUNNING')
      // The generated id still works.
      const byId = await runChaos(['stop', id, ...on(a), '--json'], { cwd: cwd.dir })
      expect(byId.exitCode).toBe(0)
      expect(JSON.parse(byId.stdout)).toMatchObject({
        instances: [{ verified: true, stopped: [{ id, state: 'COMPLETED' }], still_active: [] }],
      })
    } finally {
      await controlClient(a.url, TOKEN)
        .stop(id)
        .catch(() => undefined)
    }
  })

  it("an operator's chaos stop during a run is reported as stopped by an operator, without 'lower the probability'", async () => {
    const args = ['run', 'network_latency', ...on(a), ...fast({ duration: '60s' })]
    const run = chaos(args, { cwd: cwd.dir })
    // Injecting: the runner's experiment is active on the agent.
    const control = controlClient(a.url, TOKEN)
    await pollUntil(
      async () => (await control.info()).active_experiments.some((e) => e.id.startsWith('network_latency.')),
      { what: 'the run to inject', timeoutMs: 60_000 },
    )
    const stop = await runChaos(['stop', 'network_latency', ...on(a)], { cwd: cwd.dir })
    expect(stop.exitCode, String(stop.stderr)).toBe(0)
    const result = await run.child
    expect(result.exitCode, String(result.stderr)).toBe(3)
    expect(result.stdout).toMatch(/stopped by an operator/)
    expect(result.stdout).not.toMatch(/lower the probability/)
    const record = JSON.parse(
      await readFile(join(cwd.dir, '.playbook', 'chaos_reports', 'latest.json'), 'utf8'),
    ) as RunRecord
    const experiment = record.experiments[0]!
    expect(experiment.state).toBe('ABORTED')
    expect(experiment.abort_cause).toBe('OPERATOR_STOP')
    expect(experiment.abort_reason).toMatch(
      new RegExp(`^stopped by an operator after \\d+ faults?: ${a.url} ended the experiment on a stop`),
    )
    expect(experiment.rollback.verified).toBe(true)
    const analysis = experiment.analysis.map((l) => l.message).join('\n')
    expect(analysis).toContain('results are partial; rerun when ready')
    expect(analysis).not.toMatch(/lower the probability/)
  })
})
