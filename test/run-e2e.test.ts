/**
 * `chaos run` end to end: the compiled CLI (bin/run.js; `npm test` builds first) against the real
 * sandbox over real HTTP, one temporary working directory per test (reports and the run lock live
 * in `<cwd>/.playbook/chaos_reports`). Each case asserts the exit code AND the JSON report.
 *
 * Scenarios are the small fixtures in test/fixtures/run (short durations, tailored checks and
 * safety limits), loaded by path. The runner starts its own sandbox unless a case needs to reach
 * the target itself (SIGKILL, target killed, measurement truth): then the test starts `chaos
 * sandbox` and passes `--target URL --token T`. Waits follow the runner's stdout (e.g. the
 * `chaos_experiment_started` line) or poll the target, never fixed sleeps.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  REPORTS,
  agentExperiment,
  agentInfo,
  apiRequests,
  assertBuilt,
  chaos,
  expectCountsAddUp,
  fast,
  fixture,
  latestReport,
  limiter,
  pollUntil,
  readEvents,
  requestsByRoute,
  runChaos,
  startExternalSandbox,
  stopStragglers,
  tempCwd,
} from './run-helpers.js'

const cleanups: Array<() => Promise<void>> = []
async function workdir(): Promise<string> {
  const { dir, cleanup } = await tempCwd()
  cleanups.push(cleanup)
  return dir
}
beforeAll(assertBuilt)
afterAll(async () => {
  await stopStragglers()
  await Promise.all(cleanups.map((c) => c()))
})

const STARTED = /chaos_experiment_started\b/

/** Generous: the runs themselves take seconds, but a loaded 2-core machine starts node slowly. */
const TIMEOUT_MS = 120_000
const gate = limiter(3)
/** A concurrent case, at most three running at once (see {@link limiter}). */
function gated(name: string, fn: () => Promise<void>): void {
  it(name, () => gate(fn), TIMEOUT_MS)
}

describe.concurrent('chaos run against the real sandbox (compiled CLI)', () => {
  gated(
    'refuses a second runner on the same reports directory (exit 3, names the owner pid); the first completes',
    async () => {
      const cwd = await workdir()
      const first = chaos(['run', fixture('e2e_pass'), ...fast({ duration: '10s' })], { cwd })
      await first.waitFor(/chaos_preflight_passed/)
      // The second runner gets an unreachable target: were it let through, it would fail with exit 4, not 3.
      const second = await runChaos(
        ['run', fixture('e2e_pass'), '--target', 'http://127.0.0.1:9', '--token', 'x', ...fast()],
        { cwd },
      )
      expect(first.child.exitCode, 'the first runner was still running').toBeNull()
      expect(second.exitCode, `${second.stdout}\n${second.stderr}`).toBe(3)
      expect(second.stderr).toContain(`another chaos run is using`)
      expect(second.stderr).toContain(`pid ${first.child.pid}`)

      const done = await first.child
      expect(done.exitCode, `${done.stdout}\n${done.stderr}`).toBe(0)
      const report = await latestReport(cwd)
      expect(report.outcome).toBe('PASSED')
      expect(report.experiments[0]!.rollback.verified).toBe(true)
      expect(existsSync(join(cwd, REPORTS, 'run.lock'))).toBe(false)
    },
  )

  gated('ends with an error report, without hanging, when the target dies mid-run (exit 4)', async () => {
    const cwd = await workdir()
    const sandbox = await startExternalSandbox(cwd, 'dies-token')
    try {
      // The timeout only guards against a hang: the runner must give up on its own well before it.
      const run = chaos(
        [
          'run',
          fixture('e2e_long'),
          '--target',
          sandbox.url,
          '--token',
          sandbox.token,
          ...fast({ duration: '60s' }),
        ],
        { cwd, timeoutMs: 45_000 },
      )
      await run.waitFor(STARTED)
      await sandbox.kill()
      const result = await run.child
      expect(result.timedOut, 'the runner hung after the target died').toBe(false)
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(4)

      const report = await latestReport(cwd)
      expect(report.outcome).toBe('ERROR')
      expect(report.exit_code).toBe(4)
      const [e] = report.experiments
      expect(e!.state).toBe('FAILED')
      expect(e!.error).toMatch(/unreachable/)
      // Rollback was tried and honestly reported as not verified: the target is gone.
      expect(e!.rollback.attempted).toBe(true)
      expect(e!.rollback.verified).toBe(false)
      expect(e!.finished_at).not.toBeNull()
    } finally {
      await sandbox.kill()
    }
  })
  gated("lets the agent's lease remove the fault when the runner is killed with SIGKILL", async () => {
    const cwd = await workdir()
    const sandbox = await startExternalSandbox(cwd, 'kill-token')
    try {
      const leaseMs = 2000
      const run = chaos(
        [
          'run',
          fixture('e2e_long'),
          '--target',
          sandbox.url,
          '--token',
          sandbox.token,
          '--lease',
          '2s',
          ...fast({ duration: '60s' }),
        ],
        { cwd },
      )
      await run.waitFor(STARTED)
      const [active] = (await agentInfo(sandbox.url, sandbox.token)).active_experiments
      expect(active, 'the experiment runs on the target').toBeDefined()
      expect(active!.state).toBe('RUNNING')
      // The runner keeps renewing (every lease/3): the lease moves forward while it lives.
      const firstLease = Date.parse(active!.lease_expires_at)
      await pollUntil(
        async () => {
          const now = await agentExperiment(sandbox.url, sandbox.token, active!.id)
          return now.state === 'RUNNING' && Date.parse(now.lease_expires_at) > firstLease ? now : undefined
        },
        { timeoutMs: 10_000, what: 'a lease renewal' },
      )

      run.child.kill('SIGKILL')
      const killedAt = Date.now()
      const result = await run.child
      expect(result.signal).toBe('SIGKILL')

      await pollUntil(
        async () =>
          (await agentInfo(sandbox.url, sandbox.token)).active_experiments.length === 0 ? true : undefined,
        { timeoutMs: 15_000, what: 'the agent to expire the orphaned experiment' },
      )
      const ended = await agentExperiment(sandbox.url, sandbox.token, active!.id)
      expect(ended.state).toBe('EXPIRED')
      expect(ended.end_reason).toBe('lease_expired')
      // Gone one lease after the last renewal, which came before the kill; the bound leaves room for
      // a renewal still in flight at the kill, and is far below the default 15 s lease.
      const leaseEnd = Date.parse(ended.lease_expires_at)
      expect(leaseEnd - killedAt).toBeLessThanOrEqual(2 * leaseMs)
      expect(Date.parse(ended.ended_at!)).toBeGreaterThanOrEqual(leaseEnd)
      // The killed runner wrote no report.
      expect(existsSync(join(cwd, REPORTS, 'latest.json'))).toBe(false)
    } finally {
      await sandbox.kill()
    }
  })

  gated('rolls back and writes a partial report on SIGINT mid-experiment (exit 130)', async () => {
    const cwd = await workdir()
    const run = chaos(['run', fixture('e2e_long'), ...fast({ duration: '60s' })], { cwd })
    await run.waitFor(STARTED)
    run.child.kill('SIGINT')
    const result = await run.child
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(130)
    expect(result.stderr).toContain('SIGINT received: rolling back')

    const report = await latestReport(cwd)
    expect(report.outcome).toBe('INTERRUPTED')
    expect(report.exit_code).toBe(130)
    expect(report.partial).toBe(true)
    const [e] = report.experiments
    expect(e!.state).toBe('INTERRUPTED')
    expect(e!.abort_reason).toMatch(/interrupted \(SIGINT\)/)
    expect(e!.rollback).toMatchObject({ attempted: true, verified: true })
    expectCountsAddUp('baseline', e!.metrics.baseline)
    expect(e!.metrics.during).not.toBeNull()
    // Cut short: far less than the planned 60 s of injection was measured.
    expect(e!.metrics.during!.total_requests).toBeLessThan(60 * 20)
    const exited = (await readEvents(cwd)).find((ev) => ev.event === 'chaos_experiment_context_exited')
    expect(exited).toMatchObject({ rollback_verified: true })
  })

  gated('passes a harmless experiment (exit 0), and `chaos report latest` prints that run', async () => {
    const cwd = await workdir()
    const result = await runChaos(['run', fixture('e2e_pass'), ...fast()], { cwd })
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
    expect(result.stdout).toMatch(/started the built-in sandbox at http:\/\/127\.0\.0\.1:\d+/)
    expect(result.stdout).toContain('PASSED (exit 0)')

    const report = await latestReport(cwd)
    expect(report.outcome).toBe('PASSED')
    expect(report.exit_code).toBe(0)
    expect(report.partial).toBe(false)
    expect(report.target.sandbox).toBe(true)
    const [e] = report.experiments
    expect(e!.state).toBe('COMPLETED')
    expect(e!.hypothesis_held).toBe(true)
    expect(e!.rollback).toMatchObject({ attempted: true, verified: true, method: 'DELETE' })
    expect(e!.checks.map((c) => c.name)).toEqual([
      'steady state before injection',
      'the fault reached tagged requests',
      'availability holds during',
      'errors stay low after rollback',
      'recovers quickly',
    ])
    for (const check of e!.checks) expect(check, check.name).toMatchObject({ passed: true })
    for (const phase of ['baseline', 'during', 'recovery'] as const)
      expectCountsAddUp(phase, e!.metrics[phase])
    // SINGLE_REQUEST: only requests carrying x-chaos-experiment were slowed, so faults prove the tagging.
    expect(e!.metrics.during!.affected_requests).toBeGreaterThan(0)
    expect(e!.metrics.recovered).toBe(true)
    expect(e!.metrics.mttr_seconds).not.toBeNull()
    expect(e!.injected_at).not.toBeNull()
    expect(e!.rolled_back_at).not.toBeNull()

    const events = (await readEvents(cwd)).map((ev) => ev.event)
    for (const name of [
      'chaos_experiment_started',
      'chaos_experiment_completed',
      'chaos_experiment_context_exited',
    ])
      expect(events).toContain(name)
    expect(events.indexOf('chaos_experiment_started')).toBeLessThan(
      events.indexOf('chaos_experiment_context_exited'),
    )
    expect(existsSync(join(cwd, REPORTS, 'run.lock')), 'the run lock is released').toBe(false)

    // `chaos report latest`: the text report of this run, and the same record as JSON.
    const text = await runChaos(['report', 'latest'], { cwd })
    expect(text.exitCode, String(text.stderr)).toBe(0)
    expect(text.stdout).toContain(report.run_id)
    expect(text.stdout).toMatch(/Outcome: PASSED/)
    expect(text.stdout).toContain('e2e_pass')
    expect(text.stdout).toMatch(/Total Requests: \d+/)
    const json = await runChaos(['report', 'latest', '--format', 'json'], { cwd })
    expect(json.exitCode, String(json.stderr)).toBe(0)
    const parsed = JSON.parse(String(json.stdout)) as { run_id: string; outcome: string }
    expect(parsed.run_id).toBe(report.run_id)
    expect(parsed.outcome).toBe('PASSED')
  })

  gated('reports a failing check with its actual and expected values (exit 1)', async () => {
    const cwd = await workdir()
    const result = await runChaos(['run', fixture('e2e_failing_check'), ...fast()], { cwd })
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(1)

    const report = await latestReport(cwd)
    expect(report.outcome).toBe('FAILED')
    expect(report.exit_code).toBe(1)
    const [e] = report.experiments
    expect(e!.state).toBe('COMPLETED')
    expect(e!.hypothesis_held).toBe(false)
    expect(e!.rollback.verified).toBe(true)
    const failed = e!.checks.filter((c) => c.passed === false)
    expect(failed).toHaveLength(1)
    expect(failed[0]).toMatchObject({
      name: 'p95 stays under 1 ms',
      expression: 'latency_p95_ms < 1ms during',
      phase: 'during',
      expected: 1,
    })
    // 50 ms were added to every PMS call.
    expect(failed[0]!.actual).toBeGreaterThanOrEqual(50)
    expect(e!.checks.filter((c) => c.passed === true).map((c) => c.name)).toEqual([
      'steady state before injection',
      'availability holds during',
    ])
    for (const phase of ['baseline', 'during', 'recovery'] as const)
      expectCountsAddUp(phase, e!.metrics[phase])
    // The text report on stdout names the check with actual vs expected.
    expect(result.stdout).toMatch(
      /❌ p95 stays under 1 ms: latency_p95_ms < 1ms during - actual \d+(\.\d+)?ms, expected < 1ms/,
    )
  })

  gated(
    'aborts on a safety limit when every booking fails (exit 3, rollback verified, partial report)',
    async () => {
      const cwd = await workdir()
      const result = await runChaos(['run', fixture('e2e_safety_abort'), ...fast({ duration: '20s' })], {
        cwd,
      })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(3)

      const report = await latestReport(cwd)
      expect(report.outcome).toBe('ABORTED')
      expect(report.exit_code).toBe(3)
      expect(report.partial).toBe(true)
      const [e] = report.experiments
      expect(e!.state).toBe('ABORTED')
      expect(e!.hypothesis_held).toBe(false)
      expect(e!.abort_reason).toMatch(/^safety: error rate \d+(\.\d+)?% above 10\.0%/)
      expect(e!.injected_at).not.toBeNull()
      expect(e!.rollback).toMatchObject({ attempted: true, verified: true })
      expectCountsAddUp('baseline', e!.metrics.baseline)
      expectCountsAddUp('during', e!.metrics.during)
      expect(e!.metrics.during!.failed_requests).toBeGreaterThan(0)
      expect(e!.metrics.during!.affected_requests).toBeGreaterThan(0)
      // Aborted well before the planned 20 s: the abort came from the safety limit, not the clock.
      const injected = Date.parse(e!.injected_at!)
      expect(Date.parse(e!.rolled_back_at!) - injected).toBeLessThan(20_000)
      const events = (await readEvents(cwd)).map((ev) => ev.event)
      expect(events).toContain('chaos_safety_error_rate_high')
      expect(events).toContain('chaos_experiment_context_exited')
    },
  )

  gated('stops before injecting when the steady state does not hold (exit 3, nothing injected)', async () => {
    const cwd = await workdir()
    const result = await runChaos(['run', fixture('e2e_steady_state_fails'), ...fast()], { cwd })
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(3)

    const report = await latestReport(cwd)
    expect(report.outcome).toBe('ABORTED')
    expect(report.partial).toBe(true)
    const [e] = report.experiments
    expect(e!.state).toBe('ABORTED')
    expect(e!.abort_reason).toMatch(/steady state did not hold before injection.*nothing was injected/)
    expect(e!.injected_at).toBeNull()
    expect(e!.rolled_back_at).toBeNull()
    expect(e!.rollback.attempted).toBe(false)
    expect(e!.metrics.during).toBeNull()
    expectCountsAddUp('baseline', e!.metrics.baseline)
    expect(e!.checks).toEqual([
      expect.objectContaining({
        name: 'impossible steady state',
        phase: 'before',
        expected: 100000,
        passed: false,
      }),
    ])
    const events = (await readEvents(cwd)).map((ev) => ev.event)
    expect(events).toContain('chaos_preflight_passed')
    expect(events).not.toContain('chaos_experiment_started')
    expect(events).not.toContain('chaos_experiment_context_exited')
    expect(result.stdout).not.toMatch(STARTED)
  })
})

describe('chaos run measurement truth (external sandbox, alone for steady latencies)', () => {
  it(
    'counts exactly the requests the sandbox served, and shows +200 ms injected latency at p50',
    { timeout: TIMEOUT_MS },
    async () => {
      const cwd = await workdir()
      const sandbox = await startExternalSandbox(cwd, 'truth-token')
      try {
        const before = await requestsByRoute(sandbox.url)
        const result = await runChaos(
          [
            'run',
            fixture('e2e_latency_truth'),
            '--target',
            sandbox.url,
            '--token',
            sandbox.token,
            ...fast({ baseline: '2s' }),
          ],
          { cwd },
        )
        expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
        const after = await requestsByRoute(sandbox.url)

        const report = await latestReport(cwd)
        const [e] = report.experiments
        const phases = [e!.metrics.baseline, e!.metrics.during, e!.metrics.recovery]
        phases.forEach((m, i) => expectCountsAddUp(['baseline', 'during', 'recovery'][i]!, m))
        const runner = phases.reduce((n, m) => n + m!.total_requests, 0)
        expect(phases.every((m) => m!.dropped_requests === 0)).toBe(true)
        // The workload only calls GET /api/availability; /metrics (scraped by runner and test) is left out.
        const served = apiRequests(after) - apiRequests(before)
        expect(served, 'sandbox http_requests_total delta over the API routes').toBe(runner)
        expect((after.get('/api/availability') ?? 0) - (before.get('/api/availability') ?? 0)).toBe(served)

        // One PMS call per request, no retries: p50 moves by the injected 200 ms (±10 %).
        const added = e!.metrics.during!.latency_ms.p50 - e!.metrics.baseline!.latency_ms.p50
        expect(added).toBeGreaterThanOrEqual(180)
        expect(added).toBeLessThanOrEqual(220)
      } finally {
        await sandbox.kill()
      }
    },
  )
})
