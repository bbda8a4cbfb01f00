/**
 * `chaos sandbox` through the compiled CLI (bin/run.js; `npm test` builds first), spawned with execa
 * the way `chaos run` will spawn it: the first stdout line gives the URL, SIGINT stops it cleanly.
 */
import { once } from 'node:events'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import type { ResultPromise } from 'execa'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_SANDBOX_START_TIMEOUT_MS,
  sandboxStartTimeoutMs,
  startSandboxProcess,
} from '../src/cli/sandbox-process.js'
import { ChaosError } from '../src/errors.js'
import { ROOT, chaos, controlClient } from './support/index.js'

/** `chaos sandbox ...args`; it runs until stopped (the long timeout only catches a forgotten one). */
function spawnSandbox(args: string[], env: Record<string, string> = {}) {
  return chaos(['sandbox', ...args], { cwd: ROOT, env: { NODE_ENV: 'test', ...env }, timeoutMs: 600_000 })
    .child
}

/** The first two stdout lines, read as they are printed (the process keeps running). */
async function firstLines(child: ResultPromise): Promise<[string, string]> {
  const lines = createInterface({ input: child.stdout! })
  const iterator = lines[Symbol.asyncIterator]()
  const first = await iterator.next()
  const second = await iterator.next()
  return [String(first.value), String(second.value)]
}

describe('chaos sandbox', () => {
  it('prints the listening line and the token, serves, and stops cleanly on SIGINT (exit 0)', async () => {
    const child = spawnSandbox(['--port', '0', '--token', 'cli-token-0123456789'])
    const [first, second] = await firstLines(child)
    const url = /^sandbox listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first)?.[1]
    expect(url, first).toBeDefined()
    expect(second).toBe('token: cli-token-0123456789')

    expect((await fetch(`${url}/health`)).status).toBe(200)
    const control = controlClient(url!, 'cli-token-0123456789')
    expect((await control.info()).active_experiments).toEqual([])
    // An experiment left running is rolled back by the shutdown.
    await control.start('left-running', 'pms_adapter', {
      fault_type: 'LATENCY',
      latency_ms: 100,
      probability: 1,
    })

    child.kill('SIGINT')
    const result = await child
    expect(result.exitCode).toBe(0)
    // JSON log lines only: oclif may add its own warnings (e.g. about other commands) to stderr.
    const events = String(result.stderr)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { event: string }).event)
    expect(events).toContain('sandbox_started')
    expect(events).toContain('chaos_agent_closed')
    expect(events.at(-1)).toBe('sandbox_stopped')
    await expect(fetch(`${url}/health`)).rejects.toThrow()
  })

  it('takes the token from CHAOS_TOKEN, else generates one; SIGTERM stops it too', async () => {
    const fromEnv = spawnSandbox(['--port', '0'], { CHAOS_TOKEN: 'env-token-0123456789' })
    expect((await firstLines(fromEnv))[1]).toBe('token: env-token-0123456789')
    fromEnv.kill('SIGTERM')
    const envResult = await fromEnv
    expect(envResult.exitCode, `signal ${envResult.signal}: ${envResult.stderr}`).toBe(0)

    const generated = spawnSandbox(['--port', '0'])
    const [first, second] = await firstLines(generated)
    const token = /^token: (\S{20,})$/.exec(second)?.[1]
    expect(token, second).toBeDefined()
    const url = first.replace('sandbox listening on ', '')
    expect((await fetch(`${url}/chaos`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    generated.kill('SIGINT')
    expect((await generated).exitCode).toBe(0)
  })

  it('refuses NODE_ENV=production with exit 3 and a one-line error', async () => {
    const result = await spawnSandbox(['--port', '0', '--token', 't'], { NODE_ENV: 'production' })
    expect(result.exitCode).toBe(3)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^Error: the sandbox refuses to run with NODE_ENV=production$/m)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('refuses a --token (or CHAOS_TOKEN) shorter than 16 characters with exit 2 (issue 10, defect 13)', async () => {
    for (const [args, env] of [
      [['--port', '0', '--token', 'short-token'], {}],
      [['--port', '0'], { CHAOS_TOKEN: 'short-token' }],
    ] as const) {
      const result = await spawnSandbox([...args], env)
      expect(result.exitCode).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr).toMatch(
        /^Error: --token \(or CHAOS_TOKEN\) is 11 characters; the agent needs at least 16$/m,
      )
    }
  })

  it('a port already in use is a runtime error (exit 4) with a hint', async () => {
    const blocker = createServer()
    blocker.listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    const { port } = blocker.address() as { port: number }
    try {
      const result = await spawnSandbox(['--port', String(port), '--token', 'test-token-0123456789'])
      expect(result.exitCode).toBe(4)
      expect(result.stderr).toContain(`Error: port ${port} on 127.0.0.1 is already in use`)
      expect(result.stderr).toContain('Hint: pick another with --port')
    } finally {
      blocker.close()
    }
  })
})

describe('the sandbox the runner starts (startSandboxProcess)', () => {
  it('waits for the listening line, then serves with the random token it was given; stop() ends it', async () => {
    const sandbox = await startSandboxProcess()
    try {
      expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(sandbox.token.length).toBeGreaterThanOrEqual(24)
      expect((await controlClient(sandbox.url, sandbox.token).info()).active_experiments).toEqual([])
    } finally {
      await sandbox.stop()
    }
    await expect(fetch(`${sandbox.url}/health`)).rejects.toThrow()
  })

  it('gives up at the deadline with a runtime error (exit 4) naming CHAOS_SANDBOX_START_TIMEOUT', async () => {
    const failure = await startSandboxProcess({ timeoutMs: 1 }).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(failure).toBeInstanceOf(ChaosError)
    expect(failure).toMatchObject({ exitCode: 4 })
    expect((failure as ChaosError).message).toMatch(/did not print its listening line within 0\.001 s/)
    expect((failure as ChaosError).hint).toMatch(/CHAOS_SANDBOX_START_TIMEOUT/)
  })

  it('reads the deadline from CHAOS_SANDBOX_START_TIMEOUT (default 60 s); a malformed one is exit 2', () => {
    expect(DEFAULT_SANDBOX_START_TIMEOUT_MS).toBe(60_000)
    expect(sandboxStartTimeoutMs({})).toBe(60_000)
    expect(sandboxStartTimeoutMs({ CHAOS_SANDBOX_START_TIMEOUT: ' ' })).toBe(60_000)
    expect(sandboxStartTimeoutMs({ CHAOS_SANDBOX_START_TIMEOUT: '90s' })).toBe(90_000)
    expect(sandboxStartTimeoutMs({ CHAOS_SANDBOX_START_TIMEOUT: '2m' })).toBe(120_000)
    expect(sandboxStartTimeoutMs({ CHAOS_SANDBOX_START_TIMEOUT: '45' })).toBe(45_000)
    for (const bad of ['soon', '0s', '-5']) {
      expect(() => sandboxStartTimeoutMs({ CHAOS_SANDBOX_START_TIMEOUT: bad })).toThrow(
        expect.objectContaining({
          exitCode: 2,
          message: `CHAOS_SANDBOX_START_TIMEOUT: "${bad}" is not a duration`,
        }),
      )
    }
  })
})
