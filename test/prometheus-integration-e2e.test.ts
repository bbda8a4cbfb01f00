/**
 * Integration with the real servers (Debian packages `prometheus` and `prometheus-pushgateway`,
 * installed by .ci/run): Prometheus scrapes the sandbox every second and a PromQL check decides a
 * real experiment run through the compiled CLI; the results the CLI pushes are read back from the
 * Pushgateway, and Prometheus fires the shipped alert for the failed hypothesis; promtool checks
 * the shipped rules and config; every dashboard and rule expression runs on the real Prometheus.
 *
 * Without the binaries these tests are skipped with a printed reason on a developer machine, and
 * FAIL when CI is set (CI must install them).
 */
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createResultPusher,
  PUSHED_METRIC_NAMES,
  type PushFailure,
} from '../src/observability/pushgateway.js'
import type { RunRecord } from '../src/record.js'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import {
  PROMETHEUS_CONFIG,
  RULES,
  RULES_TEST,
  dashboardExpressions,
  metricNamesIn,
  readDashboard,
  readRules,
  substituteGrafanaVariables,
} from './observability-helpers.js'
import { guideExperiment } from './report-fixtures.js'
import { latestReport } from './run-helpers.js'
import {
  POLL_TIMEOUT_MS,
  ROOT,
  fast,
  pollUntil,
  runBudgetMs,
  runChaos,
  startupBudgetMs,
  tempCwd,
} from './support/index.js'

const BINARIES = ['prometheus', 'prometheus-pushgateway', 'promtool'] as const

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

const missing = BINARIES.filter((b) => !onPath(b))
const skip = missing.length > 0 && !process.env.CI
if (skip) {
  console.warn(
    `prometheus-integration: SKIPPED, not installed: ${missing.join(', ')}. Install the Debian packages ` +
      '(apt-get install --no-install-recommends prometheus prometheus-pushgateway, as .ci/run does); with CI set these tests fail instead.',
  )
}
const FIXTURES = join(ROOT, 'test', 'fixtures', 'prometheus')

/** A free loopback port (for servers that cannot be told to pick one and report it). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

interface Server {
  url: string
  child: ResultPromise
  output(): string
}

/** Starts a server binary on a free port and resolves once its `/-/ready` answers 200. */
async function startServer(bin: string, args: (port: number) => string[]): Promise<Server> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = execa(bin, args(port), { reject: false, all: true, stdin: 'ignore', cleanup: true })
  let output = ''
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  let exited = false
  void child.then(() => (exited = true))
  await pollUntil(
    async () => {
      if (exited) throw new Error(`${bin} exited before it was ready:\n${output}`)
      const res = await fetch(`${url}/-/ready`).catch(() => null)
      return res?.status === 200 ? true : undefined
    },
    { timeoutMs: startupBudgetMs(), everyMs: 50, what: `${bin} on ${url} to be ready` },
  )
  return { url, child, output: () => output }
}

async function stopServer(server: Server | undefined): Promise<void> {
  if (!server) return
  server.child.kill('SIGTERM')
  await server.child
}

interface QueryResult {
  status: string
  error?: string
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }
}

async function promQuery(base: string, query: string): Promise<QueryResult> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`)
  return (await res.json()) as QueryResult
}

/** The samples of job="chaos" for one experiment in the Pushgateway's /metrics, by metric name. */
async function pushedResults(gateway: string, experiment: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${gateway}/metrics`)).text()
  const values = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^(chaos_experiment_\w+)\{([^}]*)\} (\S+)$/.exec(line)
    if (!m) continue
    const labels = m[2]!
    if (labels.includes('job="chaos"') && labels.includes(`experiment="${experiment}"`))
      values.set(m[1]!, Number(m[3]))
  }
  return values
}

/** Each case makes one short run (runBudgetMs) and may wait for Prometheus to scrape or alert. */
function integration(
  name: string,
  fn: () => Promise<void>,
  timeoutMs = runBudgetMs(fast()) + POLL_TIMEOUT_MS,
): void {
  it.skipIf(skip)(name, fn, timeoutMs)
}

describe('Prometheus, Pushgateway and promtool (real servers)', () => {
  let sandbox: Sandbox | undefined
  let prometheus: Server | undefined
  let pushgateway: Server | undefined
  let dir = ''
  const TOKEN = 'prom-integration'
  const cleanups: Array<() => Promise<void>> = []

  beforeAll(
    async () => {
      if (skip) return
      if (missing.length > 0) {
        throw new Error(
          `CI is set but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed: .ci/run must install the Debian packages prometheus and prometheus-pushgateway`,
        )
      }
      dir = await mkdtemp(join(tmpdir(), 'chaos-prometheus-'))
      sandbox = await startSandbox({ token: TOKEN, port: 0, host: '127.0.0.1' })
      pushgateway = await startServer('prometheus-pushgateway', (port) => [
        `--web.listen-address=127.0.0.1:${port}`,
        '--persistence.file=',
        '--log.level=warn',
      ])
      const config = join(dir, 'prometheus.yml')
      await writeFile(
        config,
        [
          'global: { scrape_interval: 1s, evaluation_interval: 1s }',
          `rule_files: [${JSON.stringify(RULES)}]`,
          'scrape_configs:',
          '  - job_name: sandbox',
          `    static_configs: [{ targets: ["${new URL(sandbox.url).host}"] }]`,
          '  - job_name: pushgateway',
          '    honor_labels: true',
          `    static_configs: [{ targets: ["${new URL(pushgateway.url).host}"] }]`,
          '',
        ].join('\n'),
      )
      prometheus = await startServer('prometheus', (port) => [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ])
      // Ready means the TSDB is open; wait until both targets have been scraped once.
      await pollUntil(
        async () => {
          const r = await promQuery(prometheus!.url, 'sum(up{job=~"sandbox|pushgateway"})')
          return Number(r.data?.result[0]?.value[1] ?? 0) === 2 ? true : undefined
        },
        { timeoutMs: 20_000, everyMs: 100, what: 'Prometheus to scrape the sandbox and the Pushgateway' },
      )
    },
    2 * startupBudgetMs() + POLL_TIMEOUT_MS,
  )

  afterAll(async () => {
    await Promise.all(cleanups.map((c) => c()))
    await stopServer(prometheus)
    await stopServer(pushgateway)
    await sandbox?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  async function run(
    fixture: string,
  ): Promise<{ exitCode: number | undefined; report: RunRecord; output: string }> {
    const { dir: cwd, cleanup } = await tempCwd()
    cleanups.push(cleanup)
    const result = await runChaos(
      [
        'run',
        join(FIXTURES, `${fixture}.yaml`),
        ...fast(),
        '--target',
        sandbox!.url,
        '--token',
        TOKEN,
        '--prometheus',
        prometheus!.url,
        '--pushgateway',
        pushgateway!.url,
      ],
      { cwd },
    )
    return {
      exitCode: result.exitCode,
      report: await latestReport(cwd),
      output: `${result.stdout}\n${result.stderr}`,
    }
  }

  integration(
    'a PromQL check decides a passing experiment; its pushed results read back from the Pushgateway',
    async () => {
      const { exitCode, report, output } = await run('e2e_prom_pass')
      expect(exitCode, output).toBe(0)
      expect(output).not.toMatch(/could not push/)
      const [e] = report.experiments
      const check = e!.checks.find((c) => c.name === 'Prometheus saw the faults')
      expect(check, JSON.stringify(e!.checks)).toMatchObject({ phase: 'during', passed: true })
      expect(check!.actual).toBeGreaterThan(0)

      const pushed = await pushedResults(pushgateway!.url, 'e2e_prom_pass')
      const during = e!.metrics.during!
      expect(Object.fromEntries(pushed)).toEqual({
        chaos_experiment_last_run_timestamp_seconds: Date.parse(e!.finished_at!) / 1000,
        chaos_experiment_hypothesis_held: 1,
        chaos_experiment_availability: during.availability,
        chaos_experiment_error_rate: during.error_rate,
        chaos_experiment_latency_p95_seconds: during.latency_ms.p95 / 1000,
        chaos_experiment_mttr_seconds: e!.metrics.mttr_seconds,
        chaos_experiment_circuit_breaker_trips: during.circuit_breaker_trips,
        chaos_experiment_aborted: 0,
      })
      expect([...pushed.keys()].sort()).toEqual([...PUSHED_METRIC_NAMES].sort())
    },
  )

  integration(
    'a PromQL check that does not hold fails the run (exit 1); Prometheus fires ChaosHypothesisFailed',
    async () => {
      const { exitCode, report, output } = await run('e2e_prom_fail')
      expect(exitCode, output).toBe(1)
      const [e] = report.experiments
      expect(e!.hypothesis_held).toBe(false)
      const check = e!.checks.find((c) => c.name === 'Prometheus saw no faults')
      // Failed on the real query result (faults were seen), not for lack of data.
      expect(check, JSON.stringify(e!.checks)).toMatchObject({ passed: false, expected: 0 })
      expect(check!.actual).toBeGreaterThan(0)

      const pushed = await pushedResults(pushgateway!.url, 'e2e_prom_fail')
      expect(pushed.get('chaos_experiment_hypothesis_held')).toBe(0)
      expect(pushed.get('chaos_experiment_aborted')).toBe(0)

      // Prometheus scrapes the Pushgateway and evaluates the shipped rule every second.
      const firing = await pollUntil(
        async () => {
          const r = await promQuery(
            prometheus!.url,
            'ALERTS{alertname="ChaosHypothesisFailed", alertstate="firing"}',
          )
          return r.data && r.data.result.length > 0 ? r.data.result : undefined
        },
        { timeoutMs: 20_000, everyMs: 200, what: 'the ChaosHypothesisFailed alert to fire' },
      )
      expect(firing.map((s) => s.metric.experiment)).toEqual(['e2e_prom_fail'])
      expect(firing[0]!.metric).toMatchObject({
        job: 'chaos',
        category: 'pms',
        target_service: 'pms_adapter',
        severity: 'warning',
      })
    },
  )

  integration('a push the Pushgateway rejects (400) is reported, never thrown', async () => {
    // A Pushgateway of its own, where another job pushed chaos_experiment_aborted as a counter:
    // ours (a gauge) is inconsistent with it, and the Pushgateway answers 400.
    const gateway = await startServer('prometheus-pushgateway', (port) => [
      `--web.listen-address=127.0.0.1:${port}`,
      '--persistence.file=',
      '--log.level=warn',
    ])
    try {
      const res = await fetch(`${gateway.url}/metrics/job/conflicting`, {
        method: 'PUT',
        body: '# TYPE chaos_experiment_aborted counter\nchaos_experiment_aborted 1\n',
      })
      expect(res.status).toBe(200)
      const failures: PushFailure[] = []
      const push = createResultPusher({ url: gateway.url, onFailure: (f) => void failures.push(f) })
      await expect(push(guideExperiment({ id: 'rejected_push' }), 'run-x')).resolves.toBeUndefined()
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatchObject({
        run_id: 'run-x',
        experiment_id: 'rejected_push',
        pushgateway: gateway.url,
      })
      expect(failures[0]!.error).toMatch(/status 400.*chaos_experiment_aborted/s)
      expect((await pushedResults(gateway.url, 'rejected_push')).size).toBe(0)
    } finally {
      await stopServer(gateway)
    }
  })

  integration(
    'every dashboard and alert-rule expression is valid PromQL on the real Prometheus',
    async () => {
      const rules = await readRules()
      const expressions = [
        ...(await readDashboard().then(dashboardExpressions)),
        ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert}`, expr: r.expr }))),
      ]
      const problems: string[] = []
      for (const { where, expr } of expressions) {
        // label_values(selector, label) is Grafana's; Prometheus gets its selector.
        const query = expr.startsWith('label_values(')
          ? metricNamesIn(expr)[0]!
          : substituteGrafanaVariables(expr)
        const r = await promQuery(prometheus!.url, query)
        if (r.status !== 'success') problems.push(`${where}: ${r.error}`)
      }
      expect(problems).toEqual([])

      // The rules Prometheus loaded from the shipped file all evaluate without error.
      const loaded = (await (await fetch(`${prometheus!.url}/api/v1/rules`)).json()) as {
        data: {
          groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }>
        }
      }
      const names = loaded.data.groups.map((g) => g.name)
      expect(names).toEqual(rules.groups.map((g) => g.name))
      const unhealthy = await pollUntil(
        async () => {
          const now = (await (await fetch(`${prometheus!.url}/api/v1/rules`)).json()) as typeof loaded
          const all = now.data.groups.flatMap((g) => g.rules)
          if (all.some((r) => r.health === 'unknown')) return undefined
          return all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)
        },
        { timeoutMs: 10_000, everyMs: 200, what: 'every rule to be evaluated' },
      )
      expect(unhealthy).toEqual([])
    },
  )

  integration(
    'promtool: the rules pass check rules and their unit tests; the example config is valid',
    async () => {
      const check = await execa('promtool', ['check', 'rules', RULES], { reject: false, all: true })
      expect(check.exitCode, check.all).toBe(0)
      expect(check.all).toMatch(/SUCCESS: 6 rules found/)
      const unit = await execa('promtool', ['test', 'rules', RULES_TEST], { reject: false, all: true })
      expect(unit.exitCode, unit.all).toBe(0)
      expect(unit.all).toContain('SUCCESS')
      const config = await execa('promtool', ['check', 'config', PROMETHEUS_CONFIG], {
        reject: false,
        all: true,
      })
      expect(config.exitCode, config.all).toBe(0)
    },
  )
})
