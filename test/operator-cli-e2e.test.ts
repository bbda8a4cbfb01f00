/**
 * `chaos status` and `chaos stop` through the real compiled CLI against a real sandbox: what an
 * on-call engineer types when something looks stuck.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { assertBuilt, runChaos, tempCwd } from './support/index.js'
import { getExperiment, startExperiment } from './sandbox-helpers.js'

let sandbox: Sandbox
let cwd: { dir: string; cleanup: () => Promise<void> }

beforeAll(async () => {
  assertBuilt()
  sandbox = await startSandbox({
    token: 'operator-token-0123456789',
    baseLatencyMs: 0,
    defaultMetrics: false,
  })
  cwd = await tempCwd()
})
afterAll(async () => {
  await sandbox.close()
  await cwd.cleanup()
})

const target = () => ['--target', sandbox.url, '--token', 'operator-token-0123456789']

describe('chaos status and chaos stop', () => {
  it('status lists the active experiment; stop --all rolls it back and verifies; status then shows none', async () => {
    await startExperiment(sandbox, 'stuck_fault', 'pms_adapter', {
      fault_type: 'LATENCY',
      probability: 1,
      latency_ms: 50,
    })

    const status = await runChaos(['status', ...target(), '--json'], { cwd: cwd.dir })
    expect(status.exitCode).toBe(0)
    const before = JSON.parse(status.stdout) as {
      instances: Array<{
        reachable: boolean
        agent: { services: string[]; active_experiments: Array<{ id: string }> }
      }>
    }
    expect(before.instances[0]!.reachable).toBe(true)
    expect(before.instances[0]!.agent.services).toContain('pms_adapter')
    expect(before.instances[0]!.agent.active_experiments.map((e) => e.id)).toEqual(['stuck_fault'])

    const text = await runChaos(['status', ...target()], { cwd: cwd.dir })
    expect(text.stdout).toMatch(/stuck_fault: LATENCY on pms_adapter/)

    const stop = await runChaos(['stop', '--all', ...target()], { cwd: cwd.dir })
    expect(stop.exitCode).toBe(0)
    expect(stop.stdout).toMatch(/stopped stuck_fault; verified: nothing active/)
    expect((await getExperiment(sandbox, 'stuck_fault')).state).toBe('COMPLETED')

    const after = await runChaos(['status', ...target()], { cwd: cwd.dir })
    expect(after.exitCode).toBe(0)
    expect(after.stdout).toContain('no active experiment')
  })

  it('stop <id> rolls back one experiment by id', async () => {
    await startExperiment(sandbox, 'one_fault', 'gmail_client', {
      fault_type: 'CIRCUIT_BREAK',
      probability: 1,
    })
    const stop = await runChaos(['stop', 'one_fault', ...target(), '--json'], { cwd: cwd.dir })
    expect(stop.exitCode).toBe(0)
    const result = JSON.parse(stop.stdout) as {
      instances: Array<{ verified: boolean; stopped: Array<{ id: string; state: string }> }>
    }
    expect(result.instances[0]).toMatchObject({
      verified: true,
      stopped: [{ id: 'one_fault', state: 'COMPLETED' }],
    })
  })

  it('refuses without a target (exit 2), says what to stop (exit 2), and reports unreachable or refused instances (exit 4)', async () => {
    const noTarget = await runChaos(['status'], { cwd: cwd.dir })
    expect(noTarget.exitCode).toBe(2)
    expect(noTarget.stderr).toContain('Error: no target configured')

    const nothing = await runChaos(['stop', ...target()], { cwd: cwd.dir })
    expect(nothing.exitCode).toBe(2)
    expect(nothing.stderr).toContain('Error: say what to stop')

    const wrongToken = await runChaos(['stop', '--all', '--target', sandbox.url, '--token', 'wrong'], {
      cwd: cwd.dir,
    })
    expect(wrongToken.exitCode).toBe(4)
    expect(wrongToken.stdout).toMatch(/401/)

    const unreachable = await runChaos(['status', '--target', 'http://127.0.0.1:1', '--token', 't'], {
      cwd: cwd.dir,
    })
    expect(unreachable.exitCode).toBe(4)
    expect(unreachable.stdout).toContain('http://127.0.0.1:1 unreachable')
    expect(unreachable.stderr).not.toMatch(/\n\s+at /)
  })
})
