/**
 * `chaos run` end to end: the compiled CLI (bin/run.js; `npm test` builds first) against the real
 * sandbox over real HTTP, one temporary working directory per test (reports and the run lock live
 * in `<cwd>/.playbook/chaos_reports`). Each case asserts the exit code AND the JSON report.
 *
 * Scenarios are the small fixtures in test/fixtures/run (short durations, tailored checks and
 * safety limits), loaded by path. The runner starts its own sandbox unless a case needs to reach
 * the target itself (SIGKILL, target killed): then the test starts `chaos
 * sandbox` and passes `--target URL --token T`. Waits follow the runner's stdout (e.g. the
 * `chaos_experiment_started` line) or poll the target, never fixed sleeps. The measurement-truth
 * case (counts and latency against the sandbox's own counters) is in run-truth.test.ts.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { REPORTS, expectCountsAddUp, fixture, latestReport, readEvents } from './run-helpers.js'
import {
  assertBuilt,
  chaos,
  fast,
  pollUntil,
  runBudgetMs,
  runChaos,
  stopStragglers,
  test,
} from './support/index.js'

beforeAll(assertBuilt)
afterAll(() => stopStragglers())

/** The live line of the injection (a sentence; the event name is in events.jsonl). */
const STARTED = /^\d\d:\d\d:\d\d injecting /m

// Concurrent, at most `maxConcurrency` (vitest.config.ts) at once. Each case's timeout is the budget
// of the CLI runs it makes (runBudgetMs: the phases their flags configure, plus start-up); a case that
// interrupts a long run still gets that run's whole budget, the guard against a runner that hangs.

describe.concurrent('chaos run against the real sandbox (compiled CLI)', () => {
  test(
    'refuses a second runner on the same reports directory (exit 3, names the owner pid); the first completes',
    async ({ workdir: cwd }) => {
      const first = chaos(['run', fixture('e2e_pass'), ...fast({ duration: '10s' })], { cwd })
      await first.waitFor(/^\d\d:\d\d:\d\d preflight passed/)
      // The second runner gets an unreachable target: were it let through, it would fail with exit 4, not 3.
      // (A scenario with its own workload: against a target that is not the sandbox, one without is refused.)
      const second = await runChaos(
        ['run', fixture('e2e_no_fault'), '--target', 'http://127.0.0.1:9', '--token', 'x', ...fast()],
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
    runBudgetMs(fast({ duration: '10s' })) + runBudgetMs(fast()),
  )

  test(
    'ends with an error report, without hanging, when the target dies mid-run (exit 4)',
    async ({ workdir: cwd, externalSandbox: sandbox }) => {
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
        { cwd },
      )
      await run.waitFor(STARTED)
      await sandbox.kill()
      const killedAt = performance.now()
      const result = await run.child
      // It gave up on its own, long before the planned 60 s of injection would have ended.
      expect(result.timedOut, 'the runner hung after the target died').toBe(false)
      expect(performance.now() - killedAt).toBeLessThan(60_000)
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
    },
    runBudgetMs(fast({ duration: '60s' })),
  )

  test(
    "lets the agent's lease remove the fault when the runner is killed with SIGKILL",
    async ({ workdir: cwd, externalSandbox: sandbox }) => {
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
      const [active] = (await sandbox.control.info()).active_experiments
      expect(active, 'the experiment runs on the target').toBeDefined()
      expect(active!.state).toBe('RUNNING')
      // The runner keeps renewing (every lease/3): the lease moves forward while it lives.
      const firstLease = Date.parse(active!.lease_expires_at)
      await pollUntil(
        async () => {
          const now = await sandbox.control.get(active!.id)
          return now.state === 'RUNNING' && Date.parse(now.lease_expires_at) > firstLease ? now : undefined
        },
        { what: 'a lease renewal' },
      )

      run.child.kill('SIGKILL')
      const killedAt = Date.now()
      const result = await run.child
      expect(result.signal).toBe('SIGKILL')

      await pollUntil(async () => (await sandbox.control.info()).active_experiments.length === 0, {
        what: 'the agent to expire the orphaned experiment',
      })
      const ended = await sandbox.control.get(active!.id)
      expect(ended.state).toBe('EXPIRED')
      expect(ended.end_reason).toBe('lease_expired')
      // Gone one lease after the last renewal, which came before the kill; the bound leaves room for
      // a renewal still in flight at the kill, and is far below the default 15 s lease.
      const leaseEnd = Date.parse(ended.lease_expires_at)
      expect(leaseEnd - killedAt).toBeLessThanOrEqual(2 * leaseMs)
      expect(Date.parse(ended.ended_at!)).toBeGreaterThanOrEqual(leaseEnd)
      // The killed runner wrote no report.
      expect(existsSync(join(cwd, REPORTS, 'latest.json'))).toBe(false)
    },
    runBudgetMs(fast({ duration: '60s' })),
  )

  test(
    'rolls back and writes a partial report on SIGINT mid-experiment (exit 130)',
    async ({ workdir: cwd }) => {
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
    },
    runBudgetMs(fast({ duration: '60s' })),
  )

  test(
    'passes a harmless experiment (exit 0), and `chaos report latest` prints that run',
    async ({ workdir: cwd }) => {
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
    },
    runBudgetMs(fast()) + 2 * runBudgetMs([], 0),
  )

  test(
    'reports a failing check with its actual and expected values (exit 1)',
    async ({ workdir: cwd }) => {
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
      // The text report names the check with actual vs expected (the run prints its summary table).
      expect(await readFile(join(cwd, REPORTS, 'latest.txt'), 'utf8')).toMatch(
        /❌ p95 stays under 1 ms: latency_p95_ms < 1ms during - actual \d+(\.\d+)?ms, expected < 1ms/,
      )
    },
    runBudgetMs(fast()),
  )

  test(
    'no fault injected at all → INCONCLUSIVE, exit 5, and the report says why (never PASSED)',
    async ({ workdir: cwd }) => {
      const result = await runChaos(['run', fixture('e2e_no_fault'), ...fast()], { cwd })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(5)
      expect(result.stdout).toContain('INCONCLUSIVE (exit 5)')

      const report = await latestReport(cwd)
      expect(report).toMatchObject({ outcome: 'INCONCLUSIVE', exit_code: 5 })
      const [e] = report.experiments
      expect(e!.state).toBe('COMPLETED')
      expect(e!.checks.every((c) => c.passed === true)).toBe(true)
      expect(e!.metrics.during!.affected_requests).toBe(0)
      expect(e!.hypothesis_held).toBeNull()
      expect(e!.inconclusive_reason).toBe(
        'no fault was injected during the experiment, so the hypothesis was not tested',
      )
      expect(await readFile(join(cwd, REPORTS, 'latest.txt'), 'utf8')).toMatch(
        /^Inconclusive: no fault was injected during the experiment, so the hypothesis was not tested$/m,
      )
    },
    runBudgetMs(fast()),
  )

  test(
    'aborts on a safety limit when every booking fails (exit 3, rollback verified, partial report)',
    async ({ workdir: cwd }) => {
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
    runBudgetMs(fast({ duration: '20s' })),
  )

  test(
    'stops before injecting when the steady state does not hold (exit 3, nothing injected)',
    async ({ workdir: cwd }) => {
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
    },
    runBudgetMs(fast()),
  )
})
