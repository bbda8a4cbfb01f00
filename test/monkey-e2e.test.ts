/**
 * `chaos monkey` end to end: the compiled CLI (bin/run.js; build first) against the real sandbox
 * over real HTTP, one temporary working directory per test. Cases that must look at the target
 * themselves (dry-run counters, rollback after SIGTERM) start `chaos sandbox` and pass --target;
 * the production refusal uses a real chaos agent created with allowProduction in this process.
 * Waits follow the CLI's stdout or poll the target, never fixed sleeps.
 */
import { createServer, type Server } from 'node:http'
import { readdir, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, onTestFinished } from 'vitest'
import { createChaosAgent } from '../src/agent/index.js'
import { RunRecord } from '../src/record.js'
import { REPORTS } from './run-helpers.js'
import { chaos, pollUntil, runBudgetMs, runChaos, test } from './support/index.js'

/** Run reports (not latest.json) in the working directory, parsed and validated. */
async function runReports(cwd: string): Promise<Array<{ file: string; record: RunRecord }>> {
  const dir = join(cwd, REPORTS)
  if (!existsSync(dir)) return []
  const names = (await readdir(dir)).filter((n) => /^\d{8}T\d{6}Z-.+\.json$/.test(n)).sort()
  return Promise.all(
    names.map(async (name) => ({
      file: join(dir, name),
      record: RunRecord.parse(JSON.parse(await readFile(join(dir, name), 'utf8'))),
    })),
  )
}

interface Summary {
  checks: number
  stopped_by: string
  dry_run: boolean
  interrupted: boolean
  exit_code: number
  outcomes: Record<string, number>
  target: { environment: string[]; sandbox: boolean }
  experiments: Array<{ scenario: string; outcome: string; report: string | null; run_id: string | null }>
}

/** The session summary the monkey wrote (exactly one per session). */
async function summaryOf(cwd: string): Promise<Summary> {
  const dir = join(cwd, REPORTS, 'monkey')
  const names = (await readdir(dir)).filter((n) => /^monkey-\d{8}T\d{6}Z(-\d+)?\.json$/.test(n))
  expect(names).toHaveLength(1)
  return JSON.parse(await readFile(join(dir, names[0]!), 'utf8')) as Summary
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url)
  expect(res.status).toBe(200)
  return res.text()
}

/** Value of one sample in a Prometheus text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

// At most `maxConcurrency` (vitest.config.ts) cases at once; each case's timeout is the budget of
// the runs it makes (runBudgetMs: configured phases plus start-up), not a fixed constant.
const SHORT_RUN = ['--duration', '3s', '--baseline', '1s', '--pause', '0s', '--recovery-timeout', '5s']
describe.concurrent('chaos monkey (compiled CLI)', () => {
  const twoRuns = [
    'monkey',
    ...['--chance', '1', '--every', '1', '--max-experiments', '2', '--seed', '3'],
    ...SHORT_RUN,
  ]
  test(
    '--chance 1 --max-experiments 2 runs exactly two experiments, each with its report',
    async ({ workdir: cwd }) => {
      const result = await runChaos(twoRuns, { cwd, timeoutMs: runBudgetMs(twoRuns, 2) })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
      expect(result.stdout).toMatch(/started the built-in sandbox/)
      expect(result.stdout).toMatch(/blast radius limit: SINGLE_SERVICE/)
      expect(result.stdout).toMatch(/environment: +development/)
      expect(result.stdout).toMatch(/service_unavailable: blast radius ENTIRE_SYSTEM/)
      expect(result.stdout).toMatch(/monkey session: 2 checks, 2 experiments .*stopped by MAX_EXPERIMENTS/)

      const reports = await runReports(cwd)
      expect(reports).toHaveLength(2)
      const summary = await summaryOf(cwd)
      expect(summary).toMatchObject({
        checks: 2,
        stopped_by: 'MAX_EXPERIMENTS',
        dry_run: false,
        exit_code: 0,
      })
      expect(summary.experiments.map((e) => e.report)).toEqual(reports.map((r) => r.file))
      for (const [i, { record }] of reports.entries()) {
        const entry = summary.experiments[i]!
        expect(record.selection).toEqual([entry.scenario])
        expect(record.run_id).toBe(entry.run_id)
        expect(record.outcome).toBe(entry.outcome)
        expect(record.experiments).toHaveLength(1)
        expect(record.experiments[0]!.duration_seconds).toBe(3)
        expect(record.experiments[0]!.rollback.verified).toBe(true)
        expect(['SINGLE_REQUEST', 'SINGLE_SERVICE']).toContain(record.experiments[0]!.blast_radius)
      }
      // The two ran one after the other, never at once.
      expect(Date.parse(reports[1]!.record.started_at)).toBeGreaterThanOrEqual(
        Date.parse(reports[0]!.record.finished_at),
      )
      const state = JSON.parse(await readFile(join(cwd, REPORTS, 'monkey', 'monkey-state.json'), 'utf8')) as {
        last_experiment: string
      }
      expect(state.last_experiment).toBe(summary.experiments[1]!.scenario)
      expect(existsSync(join(cwd, REPORTS, 'run.lock'))).toBe(false)
      // `chaos report list` lists the two runs and is not confused by the monkey's own files.
      const list = await runChaos(['report', 'list'], { cwd })
      expect(list.exitCode).toBe(0)
      expect(list.stderr).toBe('')
      expect(list.stdout).toContain('2 runs in')
    },
    runBudgetMs(twoRuns, 2) + runBudgetMs(['report', 'list'], 0),
  )

  test('--dry-run injects nothing: the agent never sees an experiment; SIGINT between checks exits 0', async ({
    workdir: cwd,
    externalSandbox: target,
  }) => {
    const monkey = chaos(
      [
        'monkey',
        ...['--dry-run', '--chance', '1', '--every', '1', '--seed', '5', '--metrics-port', '0'],
        ...['--target', target.url, '--token', target.token],
      ],
      { cwd },
    )
    const metricsUrl = (await monkey.waitFor(/^metrics: (http\S+)$/))[1]!
    await monkey.waitFor(/ check 3 · heads/)
    const metrics = await scrape(metricsUrl)
    expect(sample(metrics, 'chaos_monkey_checks_total')).toBeGreaterThanOrEqual(3)
    expect(sample(metrics, 'chaos_monkey_experiments_started_total')).toBe(0)
    expect(
      sample(metrics, 'chaos_monkey_experiment_outcomes_total{outcome="DRY_RUN"}'),
    ).toBeGreaterThanOrEqual(3)
    expect(sample(metrics, 'chaos_monkey_last_check_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 60,
    )

    monkey.child.kill('SIGINT')
    const result = await monkey.child
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
    expect(result.stdout).toMatch(/dry-run: would inject \S+ now; nothing was injected/)

    expect(await target.control.list()).toEqual([])
    // The agent's fault counter is exposed, and has no series at all: a series appears with the
    // first fault of an experiment (and the active gauge with its start), so any would show here.
    const agentMetrics = await scrape(`${target.url}/metrics`)
    expect(agentMetrics).toContain('# TYPE chaos_agent_faults_injected_total counter')
    expect(agentMetrics).toContain('# TYPE chaos_agent_experiment_active gauge')
    const series = agentMetrics
      .split('\n')
      .filter((l) => /^chaos_agent_(faults_injected_total|experiment_active)\{/.test(l))
    expect(series).toEqual([])
    expect(await runReports(cwd)).toEqual([])
    expect(existsSync(join(cwd, REPORTS, 'monkey', 'monkey-state.json'))).toBe(false)
    const summary = await summaryOf(cwd)
    expect(summary).toMatchObject({ dry_run: true, stopped_by: 'SIGNAL', interrupted: false, exit_code: 0 })
    expect(summary.outcomes).toEqual({ DRY_RUN: summary.checks })
  })

  test('SIGTERM during an experiment rolls it back, reports INTERRUPTED and exits 130', async ({
    workdir: cwd,
    externalSandbox: target,
  }) => {
    const monkey = chaos(
      [
        'monkey',
        ...['--chance', '1', '--every', '1', '--ids', 'network_latency', '--metrics-port', '0'],
        ...['--duration', '60s', '--baseline', '1s', '--target', target.url, '--token', target.token],
      ],
      { cwd },
    )
    const metricsUrl = (await monkey.waitFor(/^metrics: (http\S+)$/))[1]!
    await monkey.waitFor(/^\d\d:\d\d:\d\d injecting /)
    await pollUntil(async () => (await target.control.info()).active_experiments.length === 1, {
      what: 'the experiment to be active on the agent',
    })
    const metrics = await scrape(metricsUrl)
    expect(sample(metrics, 'chaos_monkey_active_experiment{experiment="network_latency"}')).toBe(1)
    expect(sample(metrics, 'chaos_monkey_experiments_started_total')).toBe(1)

    monkey.child.kill('SIGTERM')
    const result = await monkey.child
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(130)
    expect(result.stderr).toMatch(/SIGTERM received: rolling back/)
    expect((await target.control.info()).active_experiments).toEqual([])

    const [report] = await runReports(cwd)
    expect(report!.record.outcome).toBe('INTERRUPTED')
    expect(report!.record.experiments[0]).toMatchObject({
      state: 'INTERRUPTED',
      rollback: { attempted: true, verified: true },
    })
    const summary = await summaryOf(cwd)
    expect(summary).toMatchObject({ interrupted: true, exit_code: 130, stopped_by: 'SIGNAL' })
    expect(summary.experiments).toMatchObject([{ scenario: 'network_latency', outcome: 'INTERRUPTED' }])
  })

  test('refuses a production target (exit 3) unless --allow-production', async ({ workdir: cwd }) => {
    // A real agent that says it runs in production (the sandbox itself refuses NODE_ENV=production).
    const agent = createChaosAgent({
      service: 'hotel',
      enabled: true,
      token: 'prod-token-0123456789',
      allowProduction: true,
      env: { NODE_ENV: 'production' },
    })
    agent.wrap('pms_adapter', () => Promise.resolve('ok'))
    const server: Server = createServer(agent.listener())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(async () => {
      await agent.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    })
    const address = server.address()
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    const targetArgs = ['--target', url, '--token', 'prod-token-0123456789', '--once', '--chance', '1']

    const refused = await runChaos(['monkey', ...targetArgs], { cwd })
    expect(refused.exitCode, `${refused.stdout}\n${refused.stderr}`).toBe(3)
    expect(refused.stderr).toContain(`Error: ${url} reports environment "production"`)
    expect(refused.stderr).toMatch(/Hint: .*--allow-production/)
    expect(refused.stderr).not.toMatch(/\n\s+at /)
    expect(agent.activeExperiments()).toEqual([])
    expect(existsSync(join(cwd, REPORTS, 'monkey'))).toBe(false)

    const allowed = await runChaos(['monkey', ...targetArgs, '--allow-production', '--dry-run'], { cwd })
    expect(allowed.exitCode, `${allowed.stdout}\n${allowed.stderr}`).toBe(0)
    expect(allowed.stdout).toMatch(/environment: +production/)
    expect(allowed.stdout).toMatch(/dry-run: would inject/)
  })

  test('bad input is a one-line error with exit 2, before any target is started', async ({
    workdir: cwd,
  }) => {
    const result = await runChaos(['monkey', '--chance', '2'], { cwd })
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toBe(
      'Error: --chance: "2" is not a probability\nHint: use a number between 0 and 1 (0.3) or a percentage (30%)',
    )
    expect(result.stdout).toBe('')
    const cluster = await runChaos(['monkey', '--ids', 'service_unavailable', '--once'], { cwd })
    expect(cluster.exitCode).toBe(2)
    expect(cluster.stderr).toMatch(
      /^Error: no eligible scenario for the monkey \(1 in scope, all excluded; e\.g\. service_unavailable: blast radius ENTIRE_SYSTEM/,
    )
  })
})
