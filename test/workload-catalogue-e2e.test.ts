/**
 * The first hour on your own service, through the compiled CLI: a scenario of your own without a
 * workload is refused against any target other than the built-in sandbox (here a `chaos sandbox`
 * started separately and passed as --target, so the runner does not know it is a sandbox); the
 * plan shows the workload paths; a baseline answered 404 says to check the paths and the report
 * lists the statuses per route; `catalogue: none` and categories of your own; `--quick`.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  assertBuilt,
  fast,
  runChaos,
  startExternalSandbox,
  tempCwd,
  type ExternalSandbox,
} from './support/index.js'
import { validScenarioText } from './support/scenario-text.js'

let sandbox: ExternalSandbox
let home: { dir: string; cleanup: () => Promise<void> }

beforeAll(async () => {
  assertBuilt()
  home = await tempCwd()
  sandbox = await startExternalSandbox(home.dir)
})
afterAll(async () => {
  await sandbox?.kill()
  await home?.cleanup()
})

const target = () => ['--target', sandbox.url, '--token', sandbox.token]

/** A scenario of the user's: `category` of its own, and the given `workload:` block (or none). */
function userScenario(id: string, options: { category?: string; workload?: string } = {}): string {
  return (
    validScenarioText(id)
      .replace('category: network', `category: ${options.category ?? 'payments'}`)
      .replace('latency_p95_ms < 2x baseline during', 'error_rate < 1% before') + (options.workload ?? '')
  )
}

/** A fresh project directory holding `files` (name → text). */
async function project(files: Record<string, string>): Promise<string> {
  const { dir } = await tempCwd()
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true })
    await writeFile(join(dir, name), text)
  }
  return dir
}

describe('a scenario without workload against a target that is not the built-in sandbox', () => {
  it('is refused before anything starts, every such file at once, with the field and an example', async () => {
    const cwd = await project({
      'mine/card_declined.yaml': userScenario('card_declined'),
      'mine/refund_slow.yaml': userScenario('refund_slow'),
      'mine/with_routes.yaml': userScenario('with_routes', {
        workload: 'workload:\n  requests:\n    - path: /health\n',
      }),
    })
    for (const args of [
      ['run', 'mine', ...target()],
      ['gameday', '--no-builtin', '--scenarios', 'mine', ...target()],
    ]) {
      const result = await runChaos([...args, ...fast()], { cwd })
      expect(result.exitCode, result.stderr).toBe(2)
      expect(result.stderr).toContain('mine/card_declined.yaml:1:1 workload: missing')
      expect(result.stderr).toContain('mine/refund_slow.yaml:1:1 workload: missing')
      expect(result.stderr).not.toContain('with_routes')
      expect(result.stderr).toMatch(/Error: 2 scenarios have no workload for http:\/\/127\.0\.0\.1:\d+/)
      expect(result.stderr).toMatch(
        /Hint: add a workload: field .* e\.g\. workload: \{ requests: \[\{ method: GET, path: \/api\/orders \}\] \}/,
      )
      // Refused before anything was started: no report, no lock, no experiment on the target.
      expect(existsSync(join(cwd, '.playbook'))).toBe(false)
    }
    // validate does not know the target: it passes the files and warns about the two.
    const validate = await runChaos(['validate', 'mine'], { cwd })
    expect(validate.exitCode, validate.stderr).toBe(0)
    expect(validate.stdout).toContain('3 scenarios valid')
    expect(validate.stderr.trim().split('\n').sort()).toEqual([
      expect.stringMatching(
        /^warning: mine\/card_declined\.yaml: no workload: fine against the built-in sandbox, refused against your own service/,
      ),
      expect.stringMatching(/^warning: mine\/refund_slow\.yaml: no workload/),
    ])
    const status = await runChaos(['status', ...target(), '--json'], { cwd })
    const agents = (
      JSON.parse(status.stdout) as { instances: { agent: { active_experiments: unknown[] } }[] }
    ).instances
    expect(agents.map((i) => i.agent.active_experiments)).toEqual([[]])
    // Against the built-in sandbox (no target) the plan has no such warning; against this one it has.
    const sandboxPlan = await runChaos(['run', 'mine', '--dry-run'], { cwd })
    expect(sandboxPlan.stdout).not.toContain('no workload')
    const plan = await runChaos(['run', 'mine', '--dry-run', ...target()], { cwd })
    expect(plan.exitCode).toBe(0)
    expect(plan.stdout).toContain('! no workload: against a target other than the built-in sandbox')
    expect(plan.stdout).toContain('   workload     GET /health  (from the scenario)')
    expect(plan.stdout).toContain(
      "   workload     GET /api/availability?check_in={{today+3}}&check_out={{today+5}} 40 %  (from the sandbox's hotel routes)",
    )
  })

  it("keeps the hotel routes for the built-in catalogue (written for the guide's hotel app)", async () => {
    const cwd = await project({})
    const plan = await runChaos(['run', 'pms_api_failure', '--dry-run', ...target()], { cwd })
    expect(plan.exitCode).toBe(0)
    // Every built-in scenario names the hotel routes it needs, so none is refused anywhere.
    expect(plan.stdout).toContain(
      '   workload     GET /api/availability?check_in={{today+3}}&check_out={{today+5}} 75 %  (from the scenario)',
    )
    expect(plan.stdout).not.toContain('no workload')
  })
})

describe('a workload that knocks on the wrong doors', () => {
  it('is refused at preflight, naming the route and what it answered; nothing is injected', async () => {
    const cwd = await project({
      'wrong_paths.yaml': userScenario('wrong_paths', {
        workload: 'workload:\n  requests:\n    - path: /no/such/route\n',
      }),
    })
    const result = await runChaos(['run', './wrong_paths.yaml', ...target(), ...fast({ baseline: '2s' })], {
      cwd,
    })
    expect(result.exitCode, result.stderr).toBe(3)
    const latest = await readFile(join(cwd, '.playbook', 'chaos_reports', 'latest.txt'), 'utf8')
    expect(latest).toMatch(/Abort reason: preflight: 1 of 1 workload route failed before any fault/)
    expect(latest).toContain('GET /no/such/route answered 404')
    expect(latest).toMatch(/Action: Nothing was injected: preflight: .*chaos doctor checks them/)
    // A refusal names its own fix: the steady state was never measured, so no advice about it.
    expect(latest).not.toContain('bring the system to its steady state first')
    const json = JSON.parse(
      await readFile(join(cwd, '.playbook', 'chaos_reports', 'latest.json'), 'utf8'),
    ) as { experiments: { injected_at: string | null; abort_cause?: string }[] }
    expect(json.experiments[0]).toMatchObject({ injected_at: null, abort_cause: 'PREFLIGHT_REFUSED' })
  })

  it('lists, per route and phase, the answers other than 2xx/3xx in the report', async () => {
    // Every database call fails: at 50 % the client's retries let every booking of a short run
    // succeed about half the time, and the report then rightly had no failed route to list.
    const cwd = await project({
      'bookings_db_down.yaml': [
        'id: bookings_db_down',
        'name: Bookings while the database is down',
        'category: database',
        'target_service: database',
        'duration_seconds: 3',
        'steady_state_hypothesis: Bookings fail while the database is down; health stays up',
        'fault_config:',
        '  fault_type: EXCEPTION',
        '  exception_class: DatabaseError',
        "  exception_message: 'connection refused'",
        '  probability: 1',
        '  blast_radius: SINGLE_SERVICE',
        'checks:',
        '  - name: steady state before injection',
        '    check: error_rate < 1% before',
        'workload:',
        '  requests:',
        '    - path: /health',
        '      weight: 3',
        '    - method: POST',
        '      path: /api/bookings',
        "      body: { guest_name: Chaos Guest, room_type: STANDARD, check_in: '{{today+3}}', check_out: '{{today+5}}' }",
        '',
      ].join('\n'),
    })
    const result = await runChaos(['run', './bookings_db_down.yaml', ...target(), ...fast()], { cwd })
    expect(result.stderr).toBe('')
    const latest = await readFile(join(cwd, '.playbook', 'chaos_reports', 'latest.txt'), 'utf8')
    expect(latest).toContain('Workload routes (answers other than 2xx/3xx):')
    expect(latest).toMatch(/ {2}- POST \/api\/bookings: during \d{3} ×\d+/)
    expect(latest).not.toMatch(/ {2}- GET \/health:/)
    const json = JSON.parse(
      await readFile(join(cwd, '.playbook', 'chaos_reports', 'latest.json'), 'utf8'),
    ) as {
      experiments: {
        metrics: {
          during: {
            total_requests: number
            routes: { path: string; requests: number; statuses: Record<string, number> }[]
          }
        }
      }[]
    }
    const during = json.experiments[0]!.metrics.during
    // The routes' requests add up to the phase's, and each route's statuses add up to its requests.
    expect(during.routes.reduce((n, r) => n + r.requests, 0)).toBe(during.total_requests)
    for (const r of during.routes)
      expect(
        Object.values(r.statuses).reduce((n, c) => n + c, 0),
        r.path,
      ).toBe(r.requests)
    const bookings = during.routes.find((r) => r.path === '/api/bookings')!
    expect(Object.keys(bookings.statuses).some((s) => /^5\d\d$/.test(s))).toBe(true)
  })
})

describe('catalogue: none, and categories of your own', () => {
  it('loads only your scenarios in every command; --builtin brings the guide back', async () => {
    const cwd = await project({
      'chaos.config.yaml': 'catalogue: none\nscenario_dirs: [mine]\n',
      'mine/card_declined.yaml': userScenario('card_declined', {
        workload: 'workload:\n  requests:\n    - path: /health\n',
      }),
    })
    const list = await runChaos(['list', '--json'], { cwd })
    expect(list.exitCode, list.stderr).toBe(0)
    expect(JSON.parse(list.stdout)).toMatchObject({ count: 1, categories: ['payments'] })
    const byCategory = await runChaos(['list', 'payments'], { cwd })
    expect(byCategory.stdout).toContain('card_declined')
    expect(byCategory.stdout).toContain('1 scenario in 1 category')
    const typo = await runChaos(['list', 'paymnts'], { cwd })
    expect(typo.exitCode).toBe(2)
    expect(typo.stderr).toContain('did you mean payments?')
    expect((await runChaos(['validate'], { cwd })).stdout).toContain('1 scenario valid')
    const withBuiltins = JSON.parse((await runChaos(['list', '--builtin', '--json'], { cwd })).stdout) as {
      count: number
    }
    expect(withBuiltins.count).toBe(28)
    const plan = JSON.parse((await runChaos(['gameday', '--dry-run', '--json'], { cwd })).stdout) as {
      experiments: { id: string; category: string }[]
    }
    expect(plan.experiments).toEqual([expect.objectContaining({ id: 'card_declined', category: 'payments' })])
    const run = JSON.parse((await runChaos(['run', 'payments', '--dry-run', '--json'], { cwd })).stdout) as {
      experiments: { id: string; workload: { source: string } }[]
    }
    expect(run.experiments.map((e) => [e.id, e.workload.source])).toEqual([['card_declined', 'SCENARIO']])
  })
})

describe('--quick', () => {
  it('plans short baselines, injections and pauses; explicit flags still win', async () => {
    const cwd = await project({})
    const quick = JSON.parse(
      (await runChaos(['run', 'pms', '--quick', '--dry-run', '--json'], { cwd })).stdout,
    ) as {
      baseline_seconds: number
      pause_seconds: number
      quick: boolean
      experiments: { duration_seconds: number }[]
    }
    expect(quick).toMatchObject({ baseline_seconds: 2, pause_seconds: 1, quick: true })
    expect(new Set(quick.experiments.map((e) => e.duration_seconds))).toEqual(new Set([8]))
    const mixed = JSON.parse(
      (await runChaos(['run', 'pms', '--quick', '--duration', '12s', '--dry-run', '--json'], { cwd })).stdout,
    ) as { baseline_seconds: number; experiments: { duration_seconds: number }[] }
    expect(mixed.baseline_seconds).toBe(2)
    expect(mixed.experiments[0]!.duration_seconds).toBe(12)
    const guide = JSON.parse((await runChaos(['run', 'pms', '--dry-run', '--json'], { cwd })).stdout) as {
      baseline_seconds: number
      quick: boolean
    }
    expect(guide).toMatchObject({ baseline_seconds: 10, quick: false })
  })
})
