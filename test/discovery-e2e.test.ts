/**
 * Discovery against the real servers (docs/discovery.md): a real Prometheus (Debian package, as in
 * test/prometheus-integration-e2e.test.ts) scraping three sandboxes and one address where nothing
 * listens through `file_sd_configs`, and a real dnsmasq on a loopback port answering A and SRV
 * records for the same three sandboxes (127.0.0.1, .2 and .3: all of 127/8 is loopback). Then
 * `chaos status` and `chaos stop --all` through the compiled CLI find them the same way.
 *
 * Without the binaries these tests are skipped with a printed reason on a developer machine, and
 * FAIL when CI is set (.ci/run installs them).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { discoverInstances } from '../src/discovery/discover.js'
import { parseDiscoverSpec } from '../src/discovery/spec.js'
import { RuntimeFailure } from '../src/errors.js'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { skipWithout } from './support/binaries.js'
import { startDnsmasq, type DnsServer } from './support/dnsmasq.js'
import { freePort } from './support/free-port.js'
import {
  POLL_TIMEOUT_MS,
  assertBuilt,
  controlClient,
  runChaos,
  startupBudgetMs,
  tempCwd,
} from './support/index.js'
import { startPrometheus, waitForScrapes, type PrometheusServer } from './support/prometheus.js'

const TOKEN = 'discovery-token-0123456789'
const skip = skipWithout(
  'discovery-e2e',
  ['prometheus', 'dnsmasq'],
  'Install the Debian packages (apt-get install --no-install-recommends prometheus dnsmasq-base, as .ci/run does)',
)

const spec = (text: string) => parseDiscoverSpec(text, '--discover')

describe.skipIf(skip)('discovery through real Prometheus file_sd and a real DNS server', () => {
  let dir: string
  let sandboxes: Sandbox[] = []
  let port: number
  let downAddress: string
  let prometheus: PrometheusServer | undefined
  let dns: DnsServer | undefined

  const sandboxUrls = () => sandboxes.map((s) => s.url).sort()

  beforeAll(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'chaos-discovery-'))
      // One port on three loopback addresses, so that dns:hotel.test:<port> reaches all three.
      const first = await startSandbox({ token: TOKEN, port: 0, host: '127.0.0.1', baseLatencyMs: 0 })
      port = Number(new URL(first.url).port)
      sandboxes = [
        first,
        ...(await Promise.all(
          ['127.0.0.2', '127.0.0.3'].map((host) =>
            startSandbox({ token: TOKEN, port, host, baseLatencyMs: 0 }),
          ),
        )),
      ]
      downAddress = `127.0.0.1:${await freePort()}`

      prometheus = await startPrometheus(dir, {
        hotel: [...sandboxes.map((s) => new URL(s.url).host), downAddress],
      })
      dns = await startDnsmasq({
        domain: 'test',
        hosts: [
          ...sandboxes.map((s) => ({ name: 'hotel.test', address: new URL(s.url).hostname })),
          ...sandboxes.map((s, i) => ({ name: `n${i + 1}.hotel.test`, address: new URL(s.url).hostname })),
        ],
        srv: [
          ...sandboxes.map((_, i) => ({
            name: '_chaos._tcp.hotel.test',
            target: `n${i + 1}.hotel.test`,
            port,
          })),
          { name: '_ghost._tcp.hotel.test', target: 'ghost.hotel.test', port: 8080 },
        ],
      })
      // Scraped: three up, the empty address down, in the targets API and the query API.
      await waitForScrapes(prometheus, 'hotel', { up: 3, down: 1 })
    },
    3 * startupBudgetMs() + 2 * POLL_TIMEOUT_MS,
  )

  afterAll(async () => {
    await prometheus?.stop()
    await dns?.stop()
    await Promise.all(sandboxes.map((s) => s.close()))
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('prometheus: finds the three sandboxes UP and the empty address DOWN, with why', async () => {
    const found = await discoverInstances([spec('prometheus:up{job="hotel"}')], {
      prometheusUrl: prometheus!.url,
    })
    expect(found.filter((i) => i.state === 'UP').map((i) => i.url)).toEqual(sandboxUrls())
    expect(found.find((i) => i.state === 'DOWN')).toEqual({
      url: `http://${downAddress}`,
      source: 'prometheus:up{job="hotel"}',
      state: 'DOWN',
      reason: 'Prometheus reports up == 0',
    })
  })

  it('prometheus-targets: the same instances from the targets API, the DOWN one with the scrape error', async () => {
    const found = await discoverInstances([spec('prometheus-targets:hotel')], {
      prometheusUrl: prometheus!.url,
      instanceUrl: 'http://{host}:{port}/',
    })
    expect(found.filter((i) => i.state === 'UP').map((i) => i.url)).toEqual(sandboxUrls())
    const down = found.filter((i) => i.state === 'DOWN')
    expect(down).toHaveLength(1)
    expect(down[0]!.url).toBe(`http://${downAddress}`)
    expect(down[0]!.reason).toMatch(/^Prometheus target health down: .*connection refused/)
    expect(
      await discoverInstances([spec('prometheus-targets:no_such_job')], { prometheusUrl: prometheus!.url }),
    ).toEqual([])
  })

  it('dns: and dns+srv: find the three sandboxes; a name that does not resolve is a DOWN SRV target', async () => {
    const options = { dnsServers: [dns!.server] }
    const a = await discoverInstances([spec(`dns:hotel.test:${port}`)], options)
    expect(a.map((i) => i.url)).toEqual(sandboxUrls())
    expect(a.every((i) => i.state === 'UP' && i.source === `dns:hotel.test:${port}`)).toBe(true)
    const srv = await discoverInstances([spec('dns+srv:_chaos._tcp.hotel.test')], options)
    expect(srv.map((i) => i.url)).toEqual(sandboxUrls())
    const ghost = await discoverInstances([spec('dns+srv:_ghost._tcp.hotel.test')], options)
    expect(ghost).toEqual([
      {
        url: 'http://ghost.hotel.test:8080',
        source: 'dns+srv:_ghost._tcp.hotel.test',
        state: 'DOWN',
        reason: 'SRV target ghost.hotel.test does not resolve (ENOTFOUND)',
      },
    ])
  })

  it('a source that cannot be asked is a runtime failure naming the spec', async () => {
    const nx = discoverInstances([spec('dns:nope.test:80')], { dnsServers: [dns!.server] })
    await expect(nx).rejects.toBeInstanceOf(RuntimeFailure)
    await expect(nx).rejects.toThrow('--discover dns:nope.test:80: nope.test does not exist (NXDOMAIN)')
    const nowhere = `http://127.0.0.1:${await freePort()}`
    const down = discoverInstances([spec('prometheus-targets:hotel')], { prometheusUrl: nowhere })
    await expect(down).rejects.toBeInstanceOf(RuntimeFailure)
    await expect(down).rejects.toThrow(
      /^--discover prometheus-targets:hotel: GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/targets/,
    )
  })

  describe('through the CLI', () => {
    beforeAll(() => assertBuilt())

    it('chaos status --discover: one line per instance, the DOWN one skipped with why', async () => {
      const { dir: cwd, cleanup } = await tempCwd()
      try {
        const r = await runChaos(
          [
            'status',
            '--discover',
            'prometheus-targets:hotel',
            '--prometheus',
            prometheus!.url,
            '--token',
            TOKEN,
          ],
          { cwd, timeoutMs: startupBudgetMs() },
        )
        expect(r.exitCode, r.stderr).toBe(0)
        const lines = r.stdout.split('\n')
        for (const url of sandboxUrls())
          expect(
            lines.filter((l) => l.startsWith(`● ${url}  `) && l.endsWith('[prometheus-targets:hotel]')),
          ).toHaveLength(1)
        expect(
          lines.filter((l) =>
            l.startsWith(`- http://${downAddress}: skipped: DOWN (Prometheus target health down`),
          ),
        ).toHaveLength(1)
      } finally {
        await cleanup()
      }
    })

    it('chaos doctor --discover: checks every instance that is up, lists the DOWN one', async () => {
      const { dir: cwd, cleanup } = await tempCwd()
      try {
        const r = await runChaos(
          [
            'doctor',
            '--discover',
            'prometheus-targets:hotel',
            '--prometheus',
            prometheus!.url,
            '--token',
            TOKEN,
          ],
          { cwd, timeoutMs: startupBudgetMs() },
        )
        expect(r.exitCode, r.stdout + r.stderr).toBe(0)
        const lines = r.stdout.split('\n')
        // One block per instance checked: the three sandboxes, never the DOWN address.
        for (const url of sandboxUrls()) expect(lines.filter((l) => l === url)).toHaveLength(1)
        expect(lines.some((l) => l.startsWith(`http://${downAddress}`))).toBe(false)
        expect(lines.filter((l) => l.startsWith(`- http://${downAddress}: skipped: DOWN (`))).toHaveLength(1)
        expect(lines.filter((l) => l.startsWith('ready: no check failed'))).toHaveLength(1)
      } finally {
        await cleanup()
      }
    })

    it('chaos stop --all --discover: stops an experiment on every instance, verified per instance', async () => {
      for (const s of sandboxes)
        await controlClient(s.url, TOKEN).start(`fleet-${new URL(s.url).hostname}`, 'pms_adapter', {
          fault_type: 'LATENCY',
          probability: 1,
          latency_ms: 5,
        })
      const { dir: cwd, cleanup } = await tempCwd()
      try {
        const r = await runChaos(
          [
            'stop',
            '--all',
            '--discover',
            `dns:hotel.test:${port}`,
            '--dns-server',
            dns!.server,
            '--discover',
            'prometheus:up{job="hotel"}',
            '--prometheus',
            prometheus!.url,
            '--max-parallel',
            '2',
            '--token',
            TOKEN,
          ],
          { cwd, timeoutMs: startupBudgetMs() },
        )
        expect(r.exitCode, r.stderr).toBe(0)
        const lines = r.stdout.split('\n')
        for (const s of sandboxes) {
          const id = `fleet-${new URL(s.url).hostname}`
          expect(lines).toContain(
            `✓ ${s.url}: stopped ${id}; verified: nothing active  [dns:hotel.test:${port}]`,
          )
          expect((await controlClient(s.url, TOKEN).info()).active_experiments).toEqual([])
        }
        expect(
          lines.filter((l) =>
            l.startsWith(`- http://${downAddress}: skipped: DOWN (Prometheus reports up == 0)`),
          ),
        ).toHaveLength(1)
      } finally {
        await cleanup()
      }
    })

    it('chaos stop --all exits 4 when a discovery source cannot be asked', async () => {
      const { dir: cwd, cleanup } = await tempCwd()
      try {
        const r = await runChaos(
          ['stop', '--all', '--discover', 'dns:nope.test:80', '--dns-server', dns!.server, '--token', TOKEN],
          { cwd, timeoutMs: startupBudgetMs() },
        )
        expect(r.exitCode).toBe(4)
        expect(r.stdout).toContain('✗ --discover dns:nope.test:80: nope.test does not exist (NXDOMAIN)')
      } finally {
        await cleanup()
      }
    })
  })
})
