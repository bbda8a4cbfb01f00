/**
 * The PromQL metrics probe (`--metrics-source prometheus`) against a real Prometheus (Debian
 * package, as in test/prometheus-integration-e2e.test.ts) scraping two real in-process sandboxes
 * every second: the probe's faults for an experiment equal the sum of both agents' own counts,
 * also across one of them restarting (its counters start again from 0); a family nobody exports
 * reads null. Waits are polls on Prometheus having scraped a newer sample, never fixed sleeps.
 *
 * Without the binary the test is skipped with a printed reason, and FAILS when CI is set.
 */
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../src/clock.js'
import { createControlClient } from '../src/engine/control-client.js'
import { runExperiment } from '../src/engine/experiment.js'
import { createMetricsProbes } from '../src/engine/metrics-source.js'
import { counterDelta, type ProbeSample } from '../src/engine/probe.js'
import { createPromqlProbe, type PromqlProbe } from '../src/engine/promql-probe.js'
import { createWorkload } from '../src/engine/workload.js'
import { createMemoryLogger } from '../src/logger.js'
import { counterSeries } from '../src/metrics/prom-text.js'
import { scrapeMetrics } from '../src/metrics/scraper.js'
import { Scenario } from '../src/scenario/schema.js'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { freePort } from './support/free-port.js'
import { controlClient, pollUntil, POLL_TIMEOUT_MS, startupBudgetMs } from './support/index.js'

const onPath = (name: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
const skip = !onPath('prometheus') && !process.env.CI
if (skip) {
  console.warn(
    'fleet-metrics-prometheus: SKIPPED, prometheus is not installed (apt-get install prometheus, as .ci/run does); with CI set this test fails instead.',
  )
}

const TOKEN = 'fleet-metrics-token'
const EXPERIMENT = 'fleet_faults'
/** A 1 ms PMS delay on every call: each availability search that reaches the PMS counts a fault. */
const FAULT = { fault_type: 'LATENCY', latency_ms: 1, probability: 1, blast_radius: 'SINGLE_SERVICE' }

let dir = ''
let prometheus: { url: string; child: ResultPromise; output: () => string } | undefined
const sandboxes: Sandbox[] = []
let probe: PromqlProbe | undefined

/**
 * A target whose /metrics text the test writes (node:http, port 0): counters that can pause (the
 * target answers 500, so Prometheus marks its series stale), grow, or restart (drop, or a new
 * process_start_time_seconds).
 */
interface TextTarget {
  host: string
  state: { faults: number; startTime: number; down: boolean }
  close(): Promise<void>
}
const textTargets: TextTarget[] = []

async function textTarget(faults: number): Promise<TextTarget> {
  const state = { faults, startTime: 1000, down: false }
  const server = createServer((_req, res) => {
    if (state.down) return void res.writeHead(500).end('down')
    res
      .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      .end(
        [
          '# TYPE process_start_time_seconds gauge',
          `process_start_time_seconds ${state.startTime}`,
          '# TYPE chaos_agent_faults_injected_total counter',
          `chaos_agent_faults_injected_total{experiment="e",target_service="pms_adapter"} ${state.faults}`,
          '',
        ].join('\n'),
      )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const target: TextTarget = {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  textTargets.push(target)
  return target
}

async function sandboxOn(port: number): Promise<Sandbox> {
  const sandbox = await startSandbox({ token: TOKEN, port, host: '127.0.0.1', defaultMetrics: false })
  sandboxes.push(sandbox)
  return sandbox
}

/** Epoch ms of the oldest last scrape among the job's targets, when they are all up. */
async function oldestScrape(job: string, instances: number): Promise<number | undefined> {
  const res = await fetch(`${prometheus!.url}/api/v1/targets?state=active`)
  const body = (await res.json()) as {
    data: { activeTargets: Array<{ labels: Record<string, string>; health: string; lastScrape: string }> }
  }
  const targets = body.data.activeTargets.filter((t) => t.labels.job === job)
  if (targets.length !== instances || targets.some((t) => t.health !== 'up')) return undefined
  return Math.min(...targets.map((t) => Date.parse(t.lastScrape)))
}

/** The health of one target of the job after a scrape that started after `afterMs`, else undefined. */
async function targetHealth(job: string, host: string, afterMs: number): Promise<string | undefined> {
  const res = await fetch(`${prometheus!.url}/api/v1/targets?state=active`)
  const body = (await res.json()) as {
    data: { activeTargets: Array<{ labels: Record<string, string>; health: string; lastScrape: string }> }
  }
  const target = body.data.activeTargets.find((t) => t.labels.job === job && t.labels.instance === host)
  return target && Date.parse(target.lastScrape) > afterMs ? target.health : undefined
}

/** Waits until Prometheus has scraped every target of the job after `afterMs` (epoch ms). */
async function scrapedAfter(job: string, instances: number, afterMs: number): Promise<void> {
  await pollUntil(async () => ((await oldestScrape(job, instances)) ?? 0) > afterMs, {
    timeoutMs: 20_000,
    everyMs: 100,
    what: `Prometheus to scrape every ${job} target after ${new Date(afterMs).toISOString()}`,
  })
}

/** The date `offset` days from today, as the sandbox's queries write it. */
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)

/** `count` availability searches on the sandbox, one after another (each calls the PMS). */
async function search(sandbox: Sandbox, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await fetch(
      `${sandbox.url}/api/availability?check_in=${day(3 + (i % 7))}&check_out=${day(5 + (i % 7))}`,
    )
    expect(res.status, await res.text()).toBe(200)
  }
}

beforeAll(
  async () => {
    if (skip) return
    if (!onPath('prometheus'))
      throw new Error('CI is set but prometheus is not installed: .ci/run must install it')
    dir = await mkdtemp(join(tmpdir(), 'chaos-fleet-metrics-'))
    await Promise.all([sandboxOn(0), sandboxOn(0), textTarget(100), textTarget(10)])
    const promPort = await freePort()
    const url = `http://127.0.0.1:${promPort}`
    const config = join(dir, 'prometheus.yml')
    await writeFile(
      config,
      [
        'global: { scrape_interval: 1s }',
        'scrape_configs:',
        '  - job_name: hotel',
        `    static_configs: [{ targets: [${sandboxes.map((s) => JSON.stringify(new URL(s.url).host)).join(', ')}] }]`,
        '  - job_name: text',
        `    static_configs: [{ targets: [${textTargets.map((t) => JSON.stringify(t.host)).join(', ')}] }]`,
        // Prometheus itself: a job that exports none of the probe's families.
        '  - job_name: prometheus',
        `    static_configs: [{ targets: ["127.0.0.1:${promPort}"] }]`,
        '',
      ].join('\n'),
    )
    const child = execa(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { reject: false, all: true, stdin: 'ignore', cleanup: true },
    )
    let output = ''
    child.all?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    prometheus = { url, child, output: () => output }
    let exited = false
    void child.then(() => (exited = true))
    await pollUntil(
      async () => {
        if (exited) throw new Error(`prometheus exited before it was ready:\n${output}`)
        return (await fetch(`${url}/-/ready`).catch(() => null))?.status === 200
      },
      { timeoutMs: startupBudgetMs(), everyMs: 50, what: 'Prometheus to be ready' },
    )
    await scrapedAfter('hotel', 2, 0)
    await scrapedAfter('prometheus', 1, 0)
    await scrapedAfter('text', 2, 0)
    probe = createPromqlProbe({ prometheus: url, selector: 'job="hotel"' })
  },
  startupBudgetMs() + 2 * POLL_TIMEOUT_MS,
)

afterAll(async () => {
  await probe?.close()
  if (prometheus) {
    prometheus.child.kill('SIGTERM')
    await prometheus.child
  }
  await Promise.all([...sandboxes, ...textTargets].map((s) => s.close()))
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('the PromQL metrics probe on a real Prometheus', () => {
  it.skipIf(skip)(
    "faults for the experiment are the sum of both instances' own counts, across one instance restarting",
    async () => {
      const [a, b] = sandboxes as [Sandbox, Sandbox]
      const readings: ProbeSample[] = []
      const read = async () => {
        const sample = await probe!.sample(EXPERIMENT, 'pms_adapter')
        if (!sample) throw new Error('Prometheus could not be read')
        readings.push(sample)
        return sample
      }
      await expect(probe!.check()).resolves.toMatchObject({ up: 2 })
      // Before any fault: the agents declare the family (no series yet for this experiment): 0, not null.
      const start = await read()
      expect(start.faults_injected).toBe(0)

      for (const s of [a, b]) await controlClient(s.url, TOKEN).start(EXPERIMENT, 'pms_adapter', FAULT)
      await Promise.all([search(a, 12), search(b, 7)])
      // Ended, so their counts are final: each agent's own count of this experiment.
      const [aBefore, bFirst] = await Promise.all(
        [a, b].map(async (s) => (await controlClient(s.url, TOKEN).stop(EXPERIMENT)).faults_injected),
      )
      expect(aBefore! * bFirst!).toBeGreaterThan(0)
      await scrapedAfter('hotel', 2, Date.now())
      expect(counterDelta(start, await read(), (s) => s.faults_injected)).toBe(aBefore! + bFirst!)

      // A restarts on its port: a new process whose counters start from 0. It counts fewer faults
      // than before, B counts more.
      const port = Number(new URL(a.url).port)
      await a.close()
      sandboxes.splice(sandboxes.indexOf(a), 1)
      const a2 = await sandboxOn(port)
      // The experiment starts again on both: A lost it, B's ended; B's counter series goes on.
      for (const s of [a2, b]) await controlClient(s.url, TOKEN).start(EXPERIMENT, 'pms_adapter', FAULT)
      await Promise.all([search(a2, 3), search(b, 5)])
      const [aAfter, bSecond] = await Promise.all(
        [a2, b].map(async (s) => (await controlClient(s.url, TOKEN).stop(EXPERIMENT)).faults_injected),
      )
      expect(aAfter!).toBeGreaterThan(0)
      expect(aAfter!).toBeLessThan(aBefore!)
      // settle(): the probe's own wait for Prometheus to have scraped both after now.
      expect(await probe!.settle(Date.now())).toBe(true)
      const end = await read()
      expect(counterDelta(start, end, (s) => s.faults_injected)).toBe(aBefore! + bFirst! + aAfter! + bSecond!)
      // The restart was seen (A's series went down), and the sum never went down.
      expect(readings.some((r) => r.restarted)).toBe(true)
      expect(end.http_requests).toBeGreaterThan(0)
      expect(end.breaker_state).toBe('CLOSED')
    },
    startupBudgetMs() + 3 * POLL_TIMEOUT_MS,
  )

  it.skipIf(skip)(
    'the engine runs an experiment on both instances with the fleet probe reading Prometheus',
    async () => {
      const urls = sandboxes.map((s) => s.url)
      const metrics = createMetricsProbes({
        source: 'prometheus',
        targets: urls,
        prometheus: prometheus!.url,
        discover: ['prometheus:up{job="hotel"}'],
        clock: systemClock,
      })
      const id = 'fleet_run.r1'
      try {
        const record = await runExperiment(
          Scenario.parse({
            id: 'fleet_run',
            name: 'PMS delay on the fleet',
            category: 'pms',
            target_service: 'pms_adapter',
            duration_seconds: 3,
            steady_state_hypothesis: 'a 1 ms PMS delay changes nothing',
            // Cluster-wide: the engine starts it on both instances (SINGLE_SERVICE reaches one).
            fault_config: { ...FAULT, blast_radius: 'SERVICE_CLUSTER' },
            checks: ['error_rate < 50% during'],
            workload: {
              requests: [{ path: '/api/availability?check_in={{today+3}}&check_out={{today+5}}' }],
            },
          }),
          {
            experimentId: id,
            baselineMs: 1500,
            // At least the scrape interval (1 s): Prometheus sees nothing newer in between.
            intervalMs: 1000,
            recoveryTimeoutMs: 10_000,
            leaseSeconds: 30,
            allowEntireSystem: false,
            sandbox: true,
          },
          {
            clients: urls.map((target) => createControlClient({ target, token: TOKEN })),
            probes: [],
            fleetProbe: metrics.probes[0]!,
            createWorkload: (headers) =>
              createWorkload({
                targets: urls,
                requests: [{ path: `/api/availability?check_in=${day(3)}&check_out=${day(5)}` }],
                rate: 10,
                headers,
                clock: systemClock,
              }),
            clock: systemClock,
            events: createMemoryLogger(),
          },
          new AbortController().signal,
        )
        expect(record.state, record.abort_reason ?? record.error ?? '').toBe('COMPLETED')
        // The fleet probe measured the counters the record takes from it (null: not measured).
        const during = record.metrics.during!
        expect(during.circuit_breaker_trips).toBe(0)
        expect(during.collateral).not.toBeNull()
        // Each instance's own counter for the experiment, from its /metrics.
        const counted = await Promise.all(
          urls.map(async (u) =>
            counterSeries(await scrapeMetrics(`${u}/metrics`), 'chaos_agent_faults_injected_total', {
              experiment: id,
            }).reduce((sum, series) => sum + series.value, 0),
          ),
        )
        expect(counted[0]! * counted[1]!).toBeGreaterThan(0)
        // Once Prometheus has scraped both after the rollback, the fleet's count is their sum
        // (nothing was counted for this experiment before its first reading, at preflight).
        await scrapedAfter('hotel', 2, Date.now())
        const after = await metrics.probes[0]!.sample(id, 'pms_adapter')
        expect(after?.faults_injected).toBe(counted[0]! + counted[1]!)
      } finally {
        await metrics.close()
      }
    },
    startupBudgetMs() + 2 * POLL_TIMEOUT_MS,
  )

  it.skipIf(skip)(
    'an instance missing from a reading keeps its last value; a restart seen only from process_start_time_seconds counts in full',
    async () => {
      const [t1, t2] = textTargets as [TextTarget, TextTarget]
      const own = createPromqlProbe({ prometheus: prometheus!.url, selector: 'job="text"' })
      const read = async () => {
        const sample = await own.sample('e', 'pms_adapter')
        if (!sample) throw new Error('Prometheus could not be read')
        return sample
      }
      const faults = (s: ProbeSample) => s.faults_injected
      try {
        const start = await read()
        expect(start.faults_injected).toBe(110)

        // T1 stops answering: once Prometheus failed to scrape it, its series is stale (absent).
        t1.state.down = true
        t2.state.faults += 5
        const downSince = Date.now()
        // Both scraped since (settle counts T1's failed scrape: its up == 0 sample), T1 seen down.
        expect(await own.settle(downSince)).toBe(true)
        expect(await targetHealth('text', t1.host, downSince)).toBe('down')
        const series = await fetch(
          `${prometheus!.url}/api/v1/query?query=${encodeURIComponent('chaos_agent_faults_injected_total{job="text"}')}`,
        )
        const listed = (
          (await series.json()) as { data: { result: Array<{ metric: { instance: string } }> } }
        ).data
        expect(listed.result.map((r) => r.metric.instance)).toEqual([t2.host]) // T1's series went stale
        const whileDown = await read()
        expect(counterDelta(start, whileDown, faults)).toBe(5)
        // T1 is back; it counted 3 meanwhile (no restart): 3, not its whole 103.
        t1.state.faults += 3
        t1.state.down = false
        t2.state.faults += 5
        expect(await own.settle(Date.now())).toBe(true)
        const back = await read()
        expect(back.restarted).toBe(false)
        expect(counterDelta(start, back, faults)).toBe(3 + 10)

        // T1 restarts and counts past its old value: only its start time tells; all 150 count.
        t1.state.startTime = 2000
        t1.state.faults = 150
        expect(await own.settle(Date.now())).toBe(true)
        const restarted = await read()
        expect(restarted.restarted).toBe(true)
        expect(counterDelta(back, restarted, faults)).toBe(150)
      } finally {
        await own.close()
      }
    },
    startupBudgetMs() + 3 * POLL_TIMEOUT_MS,
  )

  it.skipIf(skip)('a family no target of the selector exports reads null, never 0', async () => {
    const own = createPromqlProbe({ prometheus: prometheus!.url, selector: '{job="prometheus"}' })
    try {
      expect(await own.sample('any', 'pms_adapter')).toEqual({
        faults_injected: null,
        breaker_trips: null,
        breaker_state: null,
        restarted: false,
        http_requests: null,
        http_errors: null,
      })
      // Prometheus unreachable: the reading is unknown (null), as a failed scrape is.
      const gone = createPromqlProbe({
        prometheus: `http://127.0.0.1:${await freePort()}`,
        selector: 'job="x"',
      })
      expect(await gone.sample('any', 'pms_adapter')).toBeNull()
      await gone.close()
      // A selector that selects no target: check() says so (preflight refuses it), and settle()
      // has nothing to wait for (it must not hold a rollback for its whole timeout).
      const none = createPromqlProbe({
        prometheus: prometheus!.url,
        selector: 'job="nothing"',
        settleTimeoutMs: 60_000,
      })
      expect(await none.check()).toEqual({ instances: [], up: 0 })
      expect(await none.settle(Date.now())).toBe(true)
      await none.close()
    } finally {
      await own.close()
    }
  })
})
