/**
 * The first hour on your own service, as the README walks it: a real Express app that embeds the
 * agent as docs/control-protocol.md shows (test/fixtures/express-app/server.mjs, one wrapped
 * dependency with a fallback), then in a fresh folder `chaos init` → `chaos validate` →
 * `chaos doctor` → `chaos run` of the scenario init wrote, all through the compiled CLI. Also the
 * failures a newcomer meets: a wrong token (the doctor's token line, with the fix) and a workload
 * route the service does not have (the doctor's route line; the run's preflight refuses it).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import type { DoctorResult } from '../src/onboarding/doctor.js'
import type { InitResult } from '../src/onboarding/init.js'
import { latestReport } from './run-helpers.js'
import {
  assertBuilt,
  ENV,
  fast,
  ROOT,
  runBudgetMs,
  runChaos,
  startupBudgetMs,
  stopStragglers,
  test,
} from './support/index.js'

const TOKEN = 'first-hour-token-0123456789'
const APP = join(ROOT, 'test', 'fixtures', 'express-app', 'server.mjs')
const SCENARIO = join('chaos-scenarios', 'payments_api_exception.yaml')

let app: ResultPromise | undefined
let url: string

beforeAll(async () => {
  assertBuilt()
  const child = execa(process.execPath, [APP], {
    cwd: ROOT,
    env: { ...ENV, CHAOS_TOKEN: TOKEN },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 600_000, // only a forgotten app: afterAll stops it
  })
  app = child
  // Ready when it prints its address (or the start failed: the process ended first).
  url = await new Promise<string>((resolve, reject) => {
    let seen = ''
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8')
      const m = /^listening on (http:\/\/\S+)$/m.exec(seen)
      if (m) resolve(m[1]!)
    })
    void child.then((r) =>
      reject(new Error(`the Express app exited before listening:\n${seen}\n${String(r.stderr)}`)),
    )
  })
}, startupBudgetMs())

afterAll(async () => {
  app?.kill('SIGTERM')
  await app
  await stopStragglers()
})

/** `chaos init` for the app in `cwd`, as the README says. */
async function init(cwd: string, ...extra: string[]) {
  return runChaos(['init', '--target', url, '--service', 'payments_api', '--route', '/api/quote', ...extra], {
    cwd,
    timeoutMs: startupBudgetMs(),
  })
}

describe('chaos init, chaos doctor, chaos run on a real Express app', () => {
  test(
    'init writes files that validate; doctor passes; the example scenario runs and holds',
    async ({ workdir: cwd }) => {
      const written = await init(cwd)
      expect(written.exitCode, `${written.stdout}\n${written.stderr}`).toBe(0)
      expect(written.stdout).toContain('wrote chaos.config.yaml')
      expect(written.stdout).toContain(`wrote ${SCENARIO}`)
      expect(written.stdout).toMatch(
        /next:\n {2}export CHAOS_TOKEN=.*\n {2}chaos doctor\n {2}chaos run chaos-scenarios\//,
      )
      const config = readFileSync(join(cwd, 'chaos.config.yaml'), 'utf8')
      expect(config).toContain(`target: ${url}\n`)
      expect(config).toContain('# catalogue: none   # builtin (default) | none: only your scenarios')
      expect(config).not.toMatch(/^token:/m) // the token stays in the environment
      const scenario = readFileSync(join(cwd, SCENARIO), 'utf8')
      expect(scenario).toContain('target_service: payments_api')
      expect(scenario).toContain('    - path: /api/quote')

      // Never overwritten by accident: exit 2, one line, nothing changed.
      writeFileSync(join(cwd, 'chaos.config.yaml'), config + '# edited by hand\n')
      const again = await init(cwd)
      expect(again.exitCode).toBe(2)
      expect(again.stderr).toMatch(
        /^Error: chaos\.config\.yaml and chaos-scenarios\/payments_api_exception\.yaml already exist; nothing was written\nHint: pass --force/,
      )
      expect(readFileSync(join(cwd, 'chaos.config.yaml'), 'utf8')).toContain('# edited by hand')
      const forced = await init(cwd, '--force', '--json')
      expect(forced.exitCode, forced.stderr).toBe(0)
      expect((JSON.parse(forced.stdout) as InitResult).files).toEqual(['chaos.config.yaml', SCENARIO])
      expect(readFileSync(join(cwd, 'chaos.config.yaml'), 'utf8')).toBe(config)

      const validated = await runChaos(['validate', SCENARIO], { cwd, timeoutMs: startupBudgetMs() })
      expect(validated.exitCode, `${validated.stdout}\n${validated.stderr}`).toBe(0)

      const env = { CHAOS_TOKEN: TOKEN }
      const doctor = await runChaos(['doctor'], { cwd, env, timeoutMs: startupBudgetMs() })
      expect(doctor.exitCode, `${doctor.stdout}\n${doctor.stderr}`).toBe(0)
      const lines = doctor.stdout.trim().split('\n')
      expect(lines[0]).toBe(`checking ${url} for payments_api_exception`)
      expect(lines.slice(1, -1)).toEqual([
        `✓ ${url} answers`,
        '✓ token accepted',
        expect.stringMatching(/^✓ control protocol 1 \(service shop, instance .+\)$/),
        '✓ wrapped: payments_api',
        '✓ environment staging',
        '✓ clocks agree (within 5 s)',
        `✓ ${url}/metrics readable, chaos_agent_faults_injected_total present`,
        expect.stringMatching(/^✓ GET \/api\/quote answered 200 \(\d+ ms\)$/),
      ])
      expect(lines.at(-1)).toBe('ready: no check failed')

      const args = ['run', SCENARIO, ...fast()]
      const run = await runChaos(args, { cwd, env, timeoutMs: runBudgetMs(args) })
      expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0)
      const report = await latestReport(cwd)
      expect(report.outcome).toBe('PASSED')
      const [e] = report.experiments
      expect(e!.target_service).toBe('payments_api')
      expect(e!.hypothesis_held).toBe(true)
      expect(e!.rollback.verified).toBe(true)
      // The fault was real and the fallback absorbed it: faults injected, no request failed.
      expect(e!.metrics.during!.faults_injected).toBeGreaterThan(0)
      expect(e!.metrics.during!.failed_requests).toBe(0)
    },
    2 * startupBudgetMs() + runBudgetMs(fast()),
  )

  test(
    'a wrong token: the doctor says the token was refused, with the fix, and exits 1',
    async ({ workdir: cwd }) => {
      expect((await init(cwd)).exitCode).toBe(0)
      const env = { CHAOS_TOKEN: 'not-the-token-0123456789' }
      const doctor = await runChaos(['doctor'], { cwd, env, timeoutMs: startupBudgetMs() })
      expect(doctor.exitCode, `${doctor.stdout}\n${doctor.stderr}`).toBe(1)
      expect(doctor.stdout).toContain(
        '✗ token refused (GET /chaos → 401) — fix: export CHAOS_TOKEN=<the exact token your service passes to createChaosAgent>',
      )
      expect(doctor.stdout).toMatch(/\n1 check failed: fix it, then run chaos doctor again$/)

      const json = await runChaos(['doctor', '--json'], { cwd, env, timeoutMs: startupBudgetMs() })
      expect(json.exitCode).toBe(1)
      const result = JSON.parse(json.stdout) as DoctorResult
      expect(result).toMatchObject({ ok: false, failed: 1, scenarios: ['payments_api_exception'] })
      const checks = result.instances[0]!.checks
      expect(checks.find((c) => c.id === 'token')).toMatchObject({
        status: 'FAIL',
        what: 'token refused (GET /chaos → 401)',
      })
      // What needs no token is still checked.
      expect(checks.find((c) => c.id === 'route')).toMatchObject({ status: 'OK' })

      const none = await runChaos(['doctor'], { cwd, timeoutMs: startupBudgetMs() })
      expect(none.exitCode).toBe(1)
      expect(none.stdout).toContain('✗ no token given — fix: export CHAOS_TOKEN=')
    },
    4 * startupBudgetMs(),
  )

  test(
    'a workload route the service does not have: the doctor names it, the run refuses it at preflight',
    async ({ workdir: cwd }) => {
      const written = await runChaos(
        ['init', '--target', url, '--service', 'payments_api', '--route', '/api/nope'],
        { cwd, timeoutMs: startupBudgetMs() },
      )
      expect(written.exitCode, written.stderr).toBe(0)
      const env = { CHAOS_TOKEN: TOKEN }
      const doctor = await runChaos(['doctor'], { cwd, env, timeoutMs: startupBudgetMs() })
      expect(doctor.exitCode).toBe(1)
      expect(doctor.stdout).toContain('✗ GET /api/nope answered 404 — fix: point workload:')

      const args = ['run', SCENARIO, ...fast()]
      const run = await runChaos(args, { cwd, env, timeoutMs: runBudgetMs(args) })
      expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(3)
      const [e] = (await latestReport(cwd)).experiments
      expect(e!.state).toBe('ABORTED')
      expect(e!.abort_reason).toMatch(
        /^preflight: 1 of 1 workload route failed before any fault on http:\/\/127\.0\.0\.1:\d+: GET \/api\/nope answered 404; nothing was injected \(point workload:.*chaos doctor checks them\)$/,
      )
      // Refused before the baseline: no workload was sent, nothing was injected.
      expect(e!.metrics.baseline).toBeNull()
      expect(e!.injected_at).toBeNull()
    },
    3 * startupBudgetMs() + runBudgetMs(fast()),
  )
})
