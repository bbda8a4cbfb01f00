/**
 * Issue 9's defects through the compiled CLI: `chaos run` against targets that say something false
 * or lose the experiment, and the report must not repeat it. The targets are the hosts of
 * test/fixtures/broken-agents.ts (the real agent with one promise broken) and the real sandbox.
 */
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest'
import { startBrokenAgent, type BrokenAgent } from './fixtures/broken-agents.js'
import { fixture, latestReport, readEvents } from './run-helpers.js'
import { assertBuilt, fast, runBudgetMs, runChaos, stopStragglers, test } from './support/index.js'

beforeAll(assertBuilt)
afterAll(() => stopStragglers())

const opened: BrokenAgent[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.close()))
})

describe('chaos run: verdicts a target cannot fool (issue 9)', () => {
  const args = fast({ duration: '2s', baseline: '1s', interval: '250ms', 'recovery-timeout': '5s' })

  test(
    'defect 1 through the CLI: an agent that answers DELETE but keeps injecting → ROLLBACK NOT VERIFIED, exit 4, counts in the report, `chaos stop --all` printed',
    async ({ workdir: cwd }) => {
      const agent = await startBrokenAgent('ignores-delete')
      opened.push(agent)
      const result = await runChaos(
        ['run', fixture('e2e_rollback_lie'), '--target', agent.url, '--token', agent.token, ...args],
        { cwd, timeoutMs: runBudgetMs(args) },
      )
      const output = `${result.stdout}\n${result.stderr}`
      expect(result.exitCode, output).toBe(4)
      expect(output).toContain('ROLLBACK NOT VERIFIED')
      expect(output).not.toContain('rollback verified')
      expect(output).toContain('chaos stop --all')

      const report = await latestReport(cwd)
      expect(report.outcome).toBe('ERROR')
      expect(report.exit_code).toBe(4)
      const [e] = report.experiments
      expect(e!.state).toBe('FAILED')
      expect(e!.hypothesis_held).not.toBe(true)
      // The target's read-back said "nothing active"; the evidence said otherwise.
      expect(e!.rollback).toMatchObject({ attempted: true, verified: false, method: 'DELETE' })
      expect(e!.rollback.faults_after_rollback).toBeGreaterThan(0)
      // Every source the host offers saw it: its counter and its tagged answers over the whole
      // recovery (the final word), and its control API in the settle window right after the read-back.
      expect(e!.rollback.error).toMatch(
        /^faults continued after the rollback \(\d+ in \/metrics, \d+ in tagged responses(, \d+ in the control API)?\): the target still injects$/,
      )
      const failed = (await readEvents(cwd)).filter((l) => l.event === 'chaos_rollback_failed')
      expect(failed.map((l) => String(l.error)).join('\n')).toMatch(/\d+ in the control API/)
      expect(e!.error).toMatch(/^rollback could not be verified: faults continued after the rollback \(/)
      // The counts: faults during the experiment and requests that met one, and after the rollback
      // (no recovery phase is measured for a rollback that is not verified: the fault never ended).
      expect(e!.metrics.during!.faults_injected).toBeGreaterThan(0)
      expect(e!.metrics.during!.affected_requests).toBeGreaterThan(0)
      expect(e!.metrics.during!.affected_requests).toBeLessThanOrEqual(e!.metrics.during!.total_requests)
      const sources = [...e!.rollback.error!.matchAll(/(\d+) in /g)].map((m) => Number(m[1]))
      expect(e!.rollback.faults_after_rollback).toBe(Math.max(...sources))
      expect(e!.timeseries.some((p) => p.phase === 'RECOVERY' && (p.faults_injected ?? 0) > 0)).toBe(true)
      const actions = e!.analysis.filter((a) => a.level === 'ACTION').map((a) => a.message)
      expect(actions.join('\n')).toMatch(/Rollback not verified \(faults continued after the rollback/)
      expect(actions.join('\n')).toContain('run `chaos stop --all`')
    },
    runBudgetMs(args),
  )

  test(
    'defect 2 through the CLI: a target that restarts mid-run loses the experiment → ABORTED (exit 3), "lost the experiment after N faults", the N faults kept in the report',
    async ({ workdir: cwd }) => {
      const agent = await startBrokenAgent('restarts')
      opened.push(agent)
      const result = await runChaos(
        ['run', fixture('e2e_lost'), '--target', agent.url, '--token', agent.token, ...args],
        { cwd, timeoutMs: runBudgetMs(args) },
      )
      const output = `${result.stdout}\n${result.stderr}`
      expect(result.exitCode, output).toBe(3)
      const report = await latestReport(cwd)
      expect(report.outcome).toBe('ABORTED')
      const [e] = report.experiments
      expect(e!.state).toBe('ABORTED')
      const lost = /lost the experiment after (\d+) faults? \(restarted\?\): HTTP 404/.exec(
        e!.abort_reason ?? '',
      )
      expect(lost, e!.abort_reason ?? 'no abort reason').not.toBeNull()
      const faults = Number(lost![1])
      expect(faults).toBeGreaterThan(0)
      expect(output).toContain(`lost the experiment after ${faults} fault`)
      // The count the target last gave is the experiment's, not 0 (its counters restarted from 0).
      expect(e!.metrics.during!.faults_injected).toBe(faults)
      // The rollback met the new agent's 404: already gone, verified by the read-back.
      expect(e!.rollback).toMatchObject({ attempted: true, verified: true })
      // The faults check, if evaluated, reads them; nothing blames the scenario's target service.
      const reached = e!.checks.find((c) => c.expression.startsWith('faults_injected'))
      if (reached) expect(reached).toMatchObject({ actual: faults, passed: true })
      const text = e!.analysis.map((a) => a.message).join('\n')
      expect(text).not.toMatch(/No faults were injected|Check that target_service/)
    },
    runBudgetMs(args),
  )
})
