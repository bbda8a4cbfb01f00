/**
 * `chaos agent check` through the compiled CLI: it passes against the built-in sandbox (a real agent
 * behind real resilience policies), and fails — naming the case, exit 1 — against agents that break
 * one promise of control protocol v1 (test/fixtures/broken-agents.ts).
 */
import { afterEach, beforeAll, describe, expect } from 'vitest'
import { CASES, type AgentCheckResult, type CaseId } from '../src/conformance/suite.js'
import { startBrokenAgent, type Breakage, type BrokenAgent } from './fixtures/broken-agents.js'
import { assertBuilt, runChaos, startupBudgetMs, test } from './support/index.js'

beforeAll(() => assertBuilt())

/** The check costs a few seconds; the budget is node start-up plus the lease-expiry wait and slack. */
const CHECK_BUDGET_MS = startupBudgetMs() + 30_000

async function check(args: string[], cwd: string) {
  return await runChaos(['agent', 'check', ...args], { cwd, timeoutMs: CHECK_BUDGET_MS })
}

function failedIds(stdout: string): CaseId[] {
  return (JSON.parse(stdout) as AgentCheckResult).cases.filter((c) => !c.passed).map((c) => c.id)
}

const opened: BrokenAgent[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.close()))
})

async function broken(breakage: Breakage): Promise<BrokenAgent> {
  const agent = await startBrokenAgent(breakage)
  opened.push(agent)
  return agent
}

describe('chaos agent check', () => {
  test('passes against the built-in sandbox: one ✔ line per case, a summary, exit 0', async ({
    workdir,
    externalSandbox,
  }) => {
    const { url, token } = externalSandbox
    const result = await check(['--target', url, '--token', token], workdir)
    expect(result.exitCode, result.stdout + result.stderr).toBe(0)
    const lines = result.stdout.split('\n')
    for (const name of Object.values(CASES)) expect(lines).toContain(`✔ ${name}`)
    expect(lines.filter((l) => l.startsWith('✘'))).toEqual([])
    // The sandbox tags its answers to tagged requests: a note, never a failure.
    expect(result.stdout).toMatch(
      /^ {2}tags responses with x-chaos-faults \(\d+ of \d+ tagged responses, values \d+\.\.\d+\)/m,
    )
    const total = Object.keys(CASES).length
    expect(result.stdout).toContain(
      `${total} of ${total} cases passed: ${url}/chaos speaks control protocol v1`,
    )
    // It cleans up: nothing is left running on the target.
    expect((await externalSandbox.control.info()).active_experiments).toEqual([])
  })

  test('--metrics-url: the right URL passes (--json), a wrong one fails the metrics case naming it', async ({
    workdir,
    externalSandbox,
  }) => {
    const { url, token } = externalSandbox
    const good = await check(
      ['--target', url, '--token', token, '--metrics-url', `${url}/metrics`, '--json'],
      workdir,
    )
    expect(good.exitCode, good.stderr).toBe(0)
    const parsed = JSON.parse(good.stdout) as AgentCheckResult
    expect(parsed).toMatchObject({
      ok: true,
      failed: 0,
      metrics_url: `${url}/metrics`,
      probe_service: 'pms_adapter',
    })

    const wrong = `${url}/not-metrics`
    const bad = await check(['--target', url, '--token', token, '--metrics-url', wrong], workdir)
    expect(bad.exitCode).toBe(1)
    const failures = bad.stdout.split('\n').filter((l) => l.startsWith('✘'))
    expect(failures).toHaveLength(1)
    expect(failures[0]).toContain(`✘ ${CASES.metrics} — GET ${wrong} answered HTTP 404`)
    expect(bad.stdout).toContain(`1 of ${Object.keys(CASES).length} cases failed: metrics`)
  })

  test('the reference host of the broken-agent fixture passes (so each breakage is the only fault)', async ({
    workdir,
  }) => {
    const agent = await broken('none')
    const result = await check(['--target', agent.url, '--token', agent.token, '--json'], workdir)
    expect(failedIds(result.stdout), result.stdout).toEqual([])
    expect(result.exitCode).toBe(0)
  })

  const cases: [Breakage, string, CaseId, RegExp][] = [
    [
      'ignores-delete',
      'says 200 to DELETE and keeps injecting',
      'rollback',
      /faults still injected after DELETE: faults_injected \d+ at DELETE, \d+ after/,
    ],
    ['protocol-2', 'speaks protocol 2', 'info', /expected "protocol": 1, got 2/],
    [
      'malformed-faults-header',
      'answers tagged requests with x-chaos-faults: some',
      'single_request',
      /x-chaos-faults: "some" on a tagged response: expected a non-negative integer/,
    ],
    [
      'unsigned-tag',
      'gives the fault to any request tagged with the id, signed or not',
      'single_request',
      /without a valid x-chaos-signature were in the blast radius \(calls_seen \d+, faults_injected \d+\)/,
    ],
    [
      'no-metrics',
      'has no /metrics',
      'metrics',
      /GET http:\/\/127\.0\.0\.1:\d+\/metrics answered HTTP 404: a \/metrics endpoint is required/,
    ],
  ]
  for (const [breakage, what, caseId, detail] of cases) {
    test(`an agent that ${what} fails the ${caseId} case only, exit 1`, async ({ workdir }) => {
      const agent = await broken(breakage)
      const text = await check(['--target', agent.url, '--token', agent.token], workdir)
      expect(text.exitCode, text.stdout + text.stderr).toBe(1)
      const failures = text.stdout.split('\n').filter((l) => l.startsWith('✘'))
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatch(new RegExp(`^✘ ${escape(CASES[caseId])} — `))
      expect(failures[0]).toMatch(detail)

      const json = await check(['--target', agent.url, '--token', agent.token, '--json'], workdir)
      expect(json.exitCode).toBe(1)
      expect(failedIds(json.stdout)).toEqual([caseId])
    })
  }

  test('exit 4 when the target does not answer, exit 2 on bad input', async ({ workdir }) => {
    const agent = await broken('none')
    const url = agent.url
    await agent.close()
    opened.splice(0)
    const unreachable = await check(['--target', url, '--token', 't'], workdir)
    expect(unreachable.exitCode).toBe(4)
    expect(unreachable.stderr).toContain(`Error: ${url}/chaos unreachable: ECONNREFUSED`)

    const prefix = await check(['--target', url, '--token', 't', '--control-prefix', 'chaos'], workdir)
    expect(prefix.exitCode).toBe(2)
    expect(prefix.stderr).toContain('--control-prefix: "chaos" is not a URL path prefix')

    const two = await check(
      ['--target', `${url},${url}`, '--token', 't', '--metrics-url', `${url}/metrics`],
      workdir,
    )
    expect(two.exitCode).toBe(2)
    expect(two.stderr).toContain('--metrics-url: 1 URL(s) for 2 target instance(s)')
  })

  test('exit 2 when the agent refuses the token', async ({ workdir }) => {
    const agent = await broken('none')
    const result = await check(['--target', agent.url, '--token', 'not-the-token'], workdir)
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain(`Error: ${agent.url}/chaos refused the token (HTTP 401)`)
  })
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
