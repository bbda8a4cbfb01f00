/**
 * `chaos sandbox --dependencies-only`, `--no-agent` and `--dependency NAME=URL` as a user runs them
 * (compiled CLI): the fake dependency server, and the sandbox calling it over HTTP with no agent.
 * Through `chaos proxy` the same setup is test/proxy-equivalence-e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { assertBuilt, chaos, runChaos, startupBudgetMs, stopStragglers, test } from './support/index.js'

beforeAll(assertBuilt)
afterAll(() => stopStragglers())

function day(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)
}

describe('chaos sandbox with HTTP dependencies (compiled CLI)', () => {
  test('the fake dependency server and a sandbox without agent calling it; killing the server leaves the fallbacks', async ({
    workdir: cwd,
  }) => {
    const deps = chaos(['sandbox', '--dependencies-only', '--port', '0'], { cwd, timeoutMs: 300_000 })
    const depsUrl = (await deps.waitFor(/^dependencies listening on (http:\/\/\S+)$/, startupBudgetMs()))[1]!
    const sandbox = chaos(
      [
        'sandbox',
        '--no-agent',
        '--port',
        '0',
        ...['pms_adapter', 'whatsapp_client', 'gmail_client'].flatMap((n) => [
          '--dependency',
          `${n}=${depsUrl}`,
        ]),
      ],
      { cwd, timeoutMs: 300_000 },
    )
    try {
      const url = (await sandbox.waitFor(/^sandbox listening on (http:\/\/\S+)$/, startupBudgetMs()))[1]!
      const stay = `check_in=${day(4)}&check_out=${day(6)}`
      const fresh = await fetch(`${url}/api/availability?${stay}`)
      expect(fresh.status).toBe(200)
      expect(((await fresh.json()) as { stale: boolean }).stale).toBe(false)
      const remote = await fetch(`${depsUrl}/pms/availability?check_in=${day(4)}&nights=2`)
      expect(remote.status).toBe(200)
      expect((await fetch(`${url}/chaos`)).status).toBe(404)
      // No agent, no token: the listening line is the only line.
      expect(sandbox.stdout().trim().split('\n')).toHaveLength(1)

      deps.child.kill('SIGTERM')
      expect((await deps.child).exitCode).toBe(0)
      const stale = await fetch(`${url}/api/availability?${stay}`)
      expect(stale.status).toBe(200)
      expect(stale.headers.get('x-cache')).toBe('STALE')
      const email = await fetch(`${url}/api/emails`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'a@example.com', subject: 's', body: 'b' }),
      })
      expect(await email.json()).toMatchObject({ queued: true, reason: 'ERROR' })
    } finally {
      sandbox.child.kill('SIGTERM')
      deps.child.kill('SIGTERM')
      await Promise.all([sandbox.child, deps.child])
    }
  })

  test('refuses a --dependency that is not NAME=URL of an HTTP dependency (exit 2)', async ({
    workdir: cwd,
  }) => {
    for (const bad of ['database=http://127.0.0.1:1', 'pms_adapter', 'pms_adapter=ftp://x']) {
      const result = await runChaos(['sandbox', '--port', '0', '--dependency', bad], {
        cwd,
        timeoutMs: 60_000,
      })
      expect(result.exitCode, result.stderr).toBe(2)
      expect(result.stderr).toContain('--dependency')
    }
  })
})
