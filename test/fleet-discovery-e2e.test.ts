/**
 * Issue 13's "Done when" through `chaos run` with DISCOVERY: three `chaos sandbox` processes (one
 * shared token) on 127.0.0.1, .2 and .3, one port, found by the compiled CLI
 *  - through a real Prometheus whose `file_sd` job also lists an address where nothing listens
 *    (DOWN: skipped for SINGLE_SERVICE, fatal for SERVICE_CLUSTER), and
 *  - through a real DNS server (dnsmasq): A records (`dns:`) and SRV records (`dns+srv:`).
 * What each run reached is read back from every instance's own agent (`GET /chaos/experiments`,
 * `GET /chaos` and the `chaos_agent_faults_injected_total` counter of its `/metrics`), then the
 * record and the text report are checked against those read-backs. The servers are shared; the
 * cases run one after another (an agent runs one experiment at a time).
 *
 * Without the binaries the file is skipped with a printed reason on a developer machine, and FAILS
 * when CI is set (.ci/run installs them).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import {
  faultCounter,
  injectedAs,
  interruptClusterInjection,
  lineFor,
  readBack,
  textLines,
  traffic,
} from './support/fleet.js'
import { ExitCode } from '../src/exit-codes.js'
import type { ExperimentRecord, InstanceRecord, RunRecord } from '../src/record.js'
import { startSandbox } from '../src/sandbox/index.js'
import { fixture, latestReport, readEvents } from './run-helpers.js'
import { skipWithout } from './support/binaries.js'
import { startDnsmasq, type DnsServer } from './support/dnsmasq.js'
import { freePort } from './support/free-port.js'
import {
  POLL_TIMEOUT_MS,
  assertBuilt,
  chaos,
  controlClient,
  fast,
  runBudgetMs,
  runChaos,
  startupBudgetMs,
  stopStragglers,
  test,
  type Cli,
  type ControlClient,
} from './support/index.js'
import { startPrometheus, waitForScrapes, type PrometheusServer } from './support/prometheus.js'
import { hasScript } from './support/pty.js'

const TOKEN = 'fleet-discovery-token-0123456789'
const SCENARIO = 'e2e_latency_truth'
const PROMETHEUS_SPEC = 'prometheus:up{job="hotel"}'
/** A route of the workload: through the wrapped `pms_adapter`, where the scenario's fault sits. */
const ROUTE = '/api/availability?check_in=2030-01-10&check_out=2030-01-12'
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'] as const
/** A fourth address, listed under `grow.test` only, where an instance comes up in the middle of a suite. */
const LATE_HOST = '127.0.0.4'

const skip = skipWithout(
  'fleet-discovery-e2e',
  ['prometheus', 'dnsmasq'],
  'Install the Debian packages (apt-get install --no-install-recommends prometheus dnsmasq-base, as .ci/run does)',
)

interface Instance {
  name: 'A' | 'B' | 'C'
  url: string
  cli: Cli
  control: ControlClient
}

let dir: string
let instances: Instance[] = []
let port: number
/** `http://<address>` of the fourth file_sd entry, where nothing listens. */
let downUrl: string
let prometheus: PrometheusServer | undefined
let dns: DnsServer | undefined

/** Starts `chaos sandbox` on `host:port` and resolves with its URL once it prints its listening line. */
async function startOn(host: string, onPort: number): Promise<{ url: string; cli: Cli }> {
  const cli = chaos(['sandbox', '--host', host, '--port', String(onPort), '--token', TOKEN], {
    cwd: dir,
    // Runs until killed; the process timeout only stops one a crashed test forgot.
    timeoutMs: 600_000,
  })
  const url = (await cli.waitFor(/^sandbox listening on (http:\/\/\S+)$/))[1]!
  return { url, cli }
}

beforeAll(
  async () => {
    if (skip) return
    assertBuilt()
    dir = await mkdtemp(join(tmpdir(), 'chaos-fleet-discovery-'))
    // One port on three loopback addresses, so that dns:hotel.test:<port> reaches all three.
    const first = await startOn(HOSTS[0], 0)
    port = Number(new URL(first.url).port)
    const rest = await Promise.all(HOSTS.slice(1).map((h) => startOn(h, port)))
    instances = [first, ...rest].map((s, i) => ({
      ...s,
      name: (['A', 'B', 'C'] as const)[i]!,
      control: controlClient(s.url, TOKEN),
    }))
    const down = `127.0.0.1:${await freePort()}`
    downUrl = `http://${down}`

    const [prom, dnsServer] = await Promise.all([
      startPrometheus(dir, { hotel: [...instances.map((s) => new URL(s.url).host), down] }),
      startDnsmasq({
        domain: 'test',
        hosts: [
          ...HOSTS.map((address) => ({ name: 'hotel.test', address })),
          ...HOSTS.map((address, i) => ({ name: `n${i + 1}.hotel.test`, address })),
          ...[...HOSTS, LATE_HOST].map((address) => ({ name: 'grow.test', address })),
        ],
        srv: HOSTS.map((_, i) => ({ name: '_chaos._tcp.hotel.test', target: `n${i + 1}.hotel.test`, port })),
      }),
    ])
    prometheus = prom
    dns = dnsServer
    // Readiness: Prometheus has scraped the three sandboxes (up) and the empty address (down).
    await waitForScrapes(prometheus, 'hotel', { up: 3, down: 1 })
  },
  3 * startupBudgetMs() + 2 * POLL_TIMEOUT_MS,
)

afterAll(async () => {
  await stopStragglers()
  await prometheus?.stop()
  await dns?.stop()
  await Promise.all(
    instances.map(async (s) => {
      s.cli.child.kill('SIGKILL')
      await s.cli.child
    }),
  )
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** `--discover 'prometheus:up{job="hotel"}' --prometheus URL --token …`. */
const byPrometheus = () => ['--discover', PROMETHEUS_SPEC, '--prometheus', prometheus!.url, '--token', TOKEN]
/** `--discover <spec> --dns-server IP:PORT --token …` (`dns:hotel.test:<port>` by default). */
const byDns = (spec = `dns:hotel.test:${port}`) => [
  '--discover',
  spec,
  '--dns-server',
  dns!.server,
  '--token',
  TOKEN,
]

/** How many experiments every agent remembers (a run that injects nothing leaves these unchanged). */
const histories = () => Promise.all(instances.map(async (s) => (await s.control.list()).length))

/** The per-instance record of one experiment, in url order. */
const fleetOf = (e: ExperimentRecord): InstanceRecord[] => e.instances ?? []

const RUN = fast({ baseline: '1s', duration: '3s' })
const sortedUrls = () => instances.map((s) => s.url).sort()

describe.skipIf(skip)('a fleet found by discovery, through `chaos run` (compiled CLI)', () => {
  describe('through Prometheus file_sd (three UP, one DOWN)', () => {
    test(
      'SINGLE_SERVICE: PASSED, exactly one instance injected (read back), 4 found and the DOWN one skipped with why',
      async ({ workdir: cwd }) => {
        const args = ['run', fixture(SCENARIO), ...byPrometheus(), ...RUN, '--blast-radius', 'SINGLE_SERVICE']
        const result = await runChaos([...args, '--json'], { cwd })
        expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(ExitCode.OK)
        const id = await injectedAs(cwd)

        const back = await Promise.all(instances.map((s) => readBack(s, id)))
        const started = back.flatMap((b, i) => (b.view ? [i] : []))
        expect(started, 'the experiment was started on exactly one agent').toHaveLength(1)
        const [one] = started as [number]
        // The first usable instance in a stable order: discovered ones sorted by url.
        expect(instances[one]!.url).toBe(sortedUrls()[0])
        expect(back[one]!.view!.faults_injected).toBeGreaterThan(0)
        expect(back[one]!.view!.end_reason, "ended by the runner's rollback").toBe('stopped')
        expect(back[one]!.counter, "the agent's /metrics counts the same faults").toBe(
          back[one]!.view!.faults_injected,
        )
        for (const [i, b] of back.entries()) {
          expect(b.active, `${instances[i]!.name}: nothing left active`).toEqual([])
          if (i !== one) expect(b.counter, `${instances[i]!.name}: no fault injected`).toBe(0)
        }

        // --json prints the run record; latest.json is the same run.
        const printed = JSON.parse(result.stdout) as RunRecord
        const report = await latestReport(cwd)
        expect(printed.run_id).toBe(report.run_id)
        expect(report.outcome).toBe('PASSED')
        const [e] = report.experiments
        expect(e!.state).toBe('COMPLETED')
        expect(e!.hypothesis_held).toBe(true)
        expect(e!.rollback.verified, e!.rollback.error ?? '').toBe(true)
        const discovery = e!.discovery!
        expect(discovery.sources).toEqual([PROMETHEUS_SPEC])
        expect(discovery.found.map((f) => [f.url, f.state]).sort()).toEqual(
          [...instances.map((s) => [s.url, 'UP']), [downUrl, 'DOWN']].sort(),
        )
        expect(discovery.found.every((f) => f.source === PROMETHEUS_SPEC)).toBe(true)
        expect(discovery.skipped).toEqual([{ url: downUrl, reason: 'Prometheus reports up == 0' }])
        const fleet = fleetOf(e!)
        // One entry per instance used (the three UP ones), only the first reached.
        expect(fleet.map((f) => f.url)).toEqual(sortedUrls())
        const reached = fleet.filter((f) => f.reached)
        expect(reached.map((f) => f.url)).toEqual([instances[one]!.url])
        expect(reached[0]!.start).toBe('STARTED')
        expect(reached[0]!.faults_injected).toBe(back[one]!.counter)
        expect(reached[0]!.rollback_verified).toBe(true)
        expect(
          fleet.some((f) => f.url === downUrl),
          'the DOWN instance is not one the run used',
        ).toBe(false)

        // The text report: a line per instance used, and the skipped one with its reason.
        const lines = await textLines(cwd)
        expect(lineFor(lines, instances[one]!.url)).toMatch(/fault started/)
        for (const f of fleet.filter((x) => !x.reached)) expect(lineFor(lines, f.url)).toMatch(/no fault/)
        expect(lines).toContain(`Discovery: 4 found (${PROMETHEUS_SPEC}), 1 skipped`)
        expect(lines).toContain(`  - skipped ${downUrl}: Prometheus reports up == 0`)
      },
      runBudgetMs(RUN),
    )

    test(
      'SERVICE_CLUSTER with the same discovery is refused (exit 3, PREFLIGHT_REFUSED) naming the DOWN instance; nothing injected',
      async ({ workdir: cwd }) => {
        const before = await histories()
        const args = [
          'run',
          fixture(SCENARIO),
          ...byPrometheus(),
          ...RUN,
          '--blast-radius',
          'SERVICE_CLUSTER',
        ]
        const result = await runChaos([...args, '--json'], { cwd })
        const shown = `${result.stdout}\n${result.stderr}`
        expect(result.exitCode, shown).toBe(ExitCode.SAFETY)

        const report = await latestReport(cwd)
        expect((JSON.parse(result.stdout) as RunRecord).run_id, '--json prints this run').toBe(report.run_id)
        const [e] = report.experiments
        expect(e!.state, shown).toBe('ABORTED')
        expect(e!.abort_cause).toBe('PREFLIGHT_REFUSED')
        expect(e!.abort_reason).toContain(
          `a cluster-wide fault cannot reach ${downUrl}: Prometheus reports up == 0`,
        )
        expect(e!.discovery!.skipped).toEqual([{ url: downUrl, reason: 'Prometheus reports up == 0' }])
        // Nothing injected anywhere: no agent took a new experiment, none is active.
        expect(await histories()).toEqual(before)
        for (const s of instances) expect((await s.control.info()).active_experiments, s.name).toEqual([])
      },
      runBudgetMs(RUN),
    )
  })

  describe('fleet counters from Prometheus (--metrics-source prometheus)', () => {
    test(
      "the job's selector (from the prometheus: spec) measures the fleet; a selector that selects no target is refused at preflight",
      async ({ workdir: cwd }) => {
        const base = ['run', fixture(SCENARIO), ...byPrometheus(), ...RUN, '--blast-radius', 'SINGLE_SERVICE']
        const missingFor = async (runId: string) =>
          (await readEvents(cwd)).filter(
            (e) => e.run_id === runId && e.event === 'chaos_preflight_metrics_missing',
          )

        const measured = await runChaos([...base, '--metrics-source', 'prometheus', '--json'], { cwd })
        expect(measured.exitCode, `${measured.stdout}\n${measured.stderr}`).toBe(ExitCode.OK)
        const first = JSON.parse(measured.stdout) as RunRecord
        expect(first.experiments[0]!.rollback.verified, first.experiments[0]!.rollback.error ?? '').toBe(true)
        expect(await missingFor(first.run_id), 'job="hotel" exports every counter').toEqual([])

        // The source is really Prometheus: a selector that selects no target is refused at preflight.
        const before = await histories()
        const unmatched = await runChaos(
          [...base, '--metrics-source', 'prometheus', '--metrics-selector', 'job="nothing"', '--json'],
          { cwd },
        )
        expect(unmatched.exitCode, unmatched.stderr).toBe(ExitCode.SAFETY)
        const [refusedExperiment] = (JSON.parse(unmatched.stdout) as RunRecord).experiments
        expect(refusedExperiment!.abort_cause).toBe('PREFLIGHT_REFUSED')
        expect(refusedExperiment!.abort_reason).toContain(
          `the fleet's metrics selector {job="nothing"} selects no target in Prometheus`,
        )
        expect(await histories(), 'nothing injected anywhere').toEqual(before)

        // Without --prometheus the source is refused before anything starts (usage, exit 2).
        const refused = await runChaos(
          ['run', fixture(SCENARIO), ...byDns(), ...RUN, '--metrics-source', 'prometheus'],
          { cwd, timeoutMs: startupBudgetMs() },
        )
        expect(refused.exitCode).toBe(ExitCode.INVALID_INPUT)
        expect(refused.stderr).toContain('--metrics-source prometheus needs --prometheus URL')
      },
      runBudgetMs(RUN) * 2,
    )
  })

  describe('through DNS (dnsmasq: A and SRV records)', () => {
    test(
      'SERVICE_CLUSTER (dns:) reaches all three (read back from each), rollback verified on each, one report line each',
      async ({ workdir: cwd }) => {
        const args = ['run', fixture(SCENARIO), ...byDns(), ...RUN, '--blast-radius', 'SERVICE_CLUSTER']
        const result = await runChaos(args, { cwd })
        expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(ExitCode.OK)
        const id = await injectedAs(cwd)

        const back = await Promise.all(instances.map((s) => readBack(s, id)))
        for (const [i, b] of back.entries()) {
          const name = instances[i]!.name
          expect(b.view, `${name}: the experiment was started there`).toBeDefined()
          expect(b.view!.end_reason, `${name}: ended by the runner's rollback`).toBe('stopped')
          expect(b.active, `${name}: nothing left active`).toEqual([])
          expect(b.view!.faults_injected, `${name}: faults injected`).toBeGreaterThan(0)
          expect(b.counter, `${name}: /metrics agrees with the agent`).toBe(b.view!.faults_injected)
        }

        const report = await latestReport(cwd)
        expect(report.outcome).toBe('PASSED')
        const [e] = report.experiments
        expect(e!.state).toBe('COMPLETED')
        expect(e!.hypothesis_held).toBe(true)
        expect(e!.rollback.verified, e!.rollback.error ?? '').toBe(true)
        expect(e!.discovery!.sources).toEqual([`dns:hotel.test:${port}`])
        expect(e!.discovery!.found.map((f) => f.url)).toEqual(sortedUrls())
        expect(e!.discovery!.skipped).toEqual([])
        const fleet = fleetOf(e!)
        expect(fleet.map((f) => f.url)).toEqual(sortedUrls())
        const byUrl = new Map(fleet.map((f) => [f.url, f]))
        const lines = await textLines(cwd)
        for (const [i, s] of instances.entries()) {
          const f = byUrl.get(s.url)!
          expect(f.start, s.name).toBe('STARTED')
          expect(f.rollback_verified, s.name).toBe(true)
          expect(f.faults_injected, s.name).toBe(back[i]!.view!.faults_injected)
          expect(lineFor(lines, s.url)).toMatch(/fault started.*rollback verified/)
        }
        expect(lines).toContain(`Discovery: 3 found (dns:hotel.test:${port}), 0 skipped`)
      },
      runBudgetMs(RUN),
    )

    test(
      'one instance refusing the start (dns+srv:) rolls back the other two: exit 3, the refusal named (read back)',
      async ({ workdir: cwd }) => {
        const [a, b, c] = instances as [Instance, Instance, Instance]
        // A 2 s baseline: the window between preflight (C still free) and the start on every instance.
        const run = fast({ baseline: '2s', duration: '3s' })
        const args = [
          'run',
          fixture(SCENARIO),
          ...byDns('dns+srv:_chaos._tcp.hotel.test'),
          ...run,
          '--blast-radius',
          'SERVICE_CLUSTER',
        ]
        const cli = chaos(args, { cwd })
        await cli.waitFor(/preflight passed: 3 instances/)
        // Another experiment takes C after the preflight: C answers the runner's start with 409.
        const blocker = `fleet-discovery-blocker-${Date.now()}`
        await c.control.start(blocker, 'whatsapp_client', {
          fault_type: 'LATENCY',
          probability: 1,
          latency_ms: 1,
        })
        try {
          const result = await cli.child
          const shown = `${result.stdout}\n${result.stderr}`
          expect(result.exitCode, shown).toBe(ExitCode.SAFETY)
          const id = await injectedAs(cwd)

          const report = await latestReport(cwd)
          const [e] = report.experiments
          expect(e!.state, shown).toBe('ABORTED')
          expect(e!.abort_reason).toContain(c.url)
          expect(e!.abort_reason).toMatch(/refused the start: .*\(409\).*; the 2 started were rolled back/)
          expect(e!.rollback.verified, e!.rollback.error ?? '').toBe(true)
          expect(e!.discovery!.sources).toEqual(['dns+srv:_chaos._tcp.hotel.test'])
          expect(e!.discovery!.found.map((f) => f.url)).toEqual(sortedUrls())

          for (const s of [a, b]) {
            const got = await readBack(s, id)
            expect(got.view, `${s.name}: the start had reached it`).toBeDefined()
            expect(got.view!.end_reason, `${s.name}: ended by the runner's rollback`).toBe('stopped')
            expect(got.active, `${s.name}: nothing active`).toEqual([])
            // Its fault counter stops: fresh calls through the wrapped service meet no fault.
            await traffic(s.url, ROUTE, 10)
            expect(await faultCounter(s.url, id), `${s.name}: counter unchanged`).toBe(got.counter)
          }
          const onC = await readBack(c, id)
          expect(onC.view, 'C never took the runner experiment').toBeUndefined()
          expect(onC.active).toEqual([blocker])

          const byUrl = new Map(fleetOf(e!).map((f) => [f.url, f]))
          expect([a, b, c].map((s) => byUrl.get(s.url)?.start)).toEqual(['STARTED', 'STARTED', 'REFUSED'])
          expect([a, b].map((s) => byUrl.get(s.url)?.rollback_verified)).toEqual([true, true])
          const lines = await textLines(cwd)
          expect(lineFor(lines, c.url)).toMatch(/start refused/)
        } finally {
          await c.control.stop(blocker)
        }
        expect((await c.control.info()).active_experiments).toEqual([])
      },
      runBudgetMs(RUN) + 10_000,
    )

    test(
      'discovery runs again before each experiment of a suite: an instance that comes up after the first is reached by the second',
      async ({ workdir: cwd }) => {
        // The second scenario: the first one with a cluster-wide blast radius (reaches every instance found).
        const cluster = join(cwd, 'e2e_latency_cluster.yaml')
        await writeFile(
          cluster,
          (await readFile(fixture(SCENARIO), 'utf8'))
            .replace(`id: ${SCENARIO}`, 'id: e2e_latency_cluster')
            .replace('blast_radius: SINGLE_SERVICE', 'blast_radius: SERVICE_CLUSTER'),
        )
        const args = ['run', fixture(SCENARIO), cluster, ...byDns(`dns:grow.test:${port}`), ...RUN]
        const cli = chaos(args, { cwd })
        // Experiment 1 found four addresses; nothing listens on the fourth yet (skipped, not fatal).
        await cli.waitFor(/preflight passed: 3 instances \(1 found but skipped, see the report\)/)
        // It comes up while experiment 1 runs (in process: listening within milliseconds).
        const late = await startSandbox({ token: TOKEN, port, host: LATE_HOST, baseLatencyMs: 0 })
        try {
          const result = await cli.child
          expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(ExitCode.OK)
          const lateUrl = late.url
          const report = await latestReport(cwd)
          const [first, second] = report.experiments as [ExperimentRecord, ExperimentRecord]
          expect(first.discovery!.found.map((f) => f.url)).toEqual([...sortedUrls(), lateUrl])
          expect(first.discovery!.skipped.map((x) => x.url)).toEqual([lateUrl])
          expect(first.discovery!.skipped[0]!.reason).toMatch(/unreachable: ECONNREFUSED/)
          expect(fleetOf(first).map((f) => f.url)).toEqual(sortedUrls())
          // Experiment 2 asked DNS again and found the fourth instance alive: all four reached.
          expect(second.state).toBe('COMPLETED')
          expect(second.discovery!.skipped).toEqual([])
          expect(fleetOf(second).map((f) => [f.url, f.start, f.rollback_verified])).toEqual(
            [...sortedUrls(), lateUrl].map((u) => [u, 'STARTED', true]),
          )
          const events = await readEvents(cwd)
          const ids = [
            ...new Set(
              events.filter((e) => typeof e.injected_as === 'string').map((e) => e.injected_as as string),
            ),
          ]
          expect(ids).toHaveLength(2)
          const lateClient = controlClient(lateUrl, TOKEN)
          const onLate = (await lateClient.list()).find((e) => e.id === ids[1])
          expect(onLate, 'the late instance took experiment 2 (read back)').toBeDefined()
          expect(onLate!.end_reason).toBe('stopped')
          expect(
            (await lateClient.list()).some((e) => e.id === ids[0]),
            'but not experiment 1',
          ).toBe(false)
          expect((await lateClient.info()).active_experiments).toEqual([])
        } finally {
          await late.close()
        }
      },
      runBudgetMs(RUN, 2),
    )

    test.skipIf(!hasScript)(
      'Ctrl-C during a SERVICE_CLUSTER injection (real pty, dns:) rolls back all three: exit 130, nothing active on any',
      async ({ workdir: cwd }) => {
        // A long injection: the key press lands in it; the run never reaches its end.
        const run = fast({ baseline: '1s', duration: '30s' })
        const args = ['run', fixture(SCENARIO), ...byDns(), ...run, '--blast-radius', 'SERVICE_CLUSTER']
        const { report } = await interruptClusterInjection(args, cwd, instances)
        const [e] = report.experiments
        expect(e!.discovery!.found.map((f) => f.url)).toEqual(sortedUrls())
        expect(fleetOf(e!).map((f) => [f.url, f.rollback_verified])).toEqual(
          sortedUrls().map((u) => [u, true]),
        )
      },
      runBudgetMs(fast({ duration: '30s' })),
    )
  })
})
