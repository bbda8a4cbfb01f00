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
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { Resolver } from 'node:dns/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { discoverInstances } from '../src/discovery/discover.js'
import { parseDiscoverSpec } from '../src/discovery/spec.js'
import { RuntimeFailure } from '../src/errors.js'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { freePort } from './support/free-port.js'
import {
  POLL_TIMEOUT_MS,
  assertBuilt,
  controlClient,
  pollUntil,
  runChaos,
  startupBudgetMs,
  tempCwd,
} from './support/index.js'

const TOKEN = 'discovery-token-0123456789'
const BINARIES = ['prometheus', 'dnsmasq'] as const

function onPath(name: string): boolean {
  return [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin'].some((dir) => {
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
    `discovery-e2e: SKIPPED, not installed: ${missing.join(', ')}. Install the Debian packages ` +
      '(apt-get install --no-install-recommends prometheus dnsmasq-base, as .ci/run does); with CI set these tests fail instead.',
  )
}

const spec = (text: string) => parseDiscoverSpec(text, '--discover')

describe.skipIf(skip)('discovery through real Prometheus file_sd and a real DNS server', () => {
  let dir: string
  let sandboxes: Sandbox[] = []
  let port: number
  let downAddress: string
  let prometheus: { url: string; child: ResultPromise } | undefined
  let dns: { server: string; child: ResultPromise } | undefined

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

      const targets = join(dir, 'hotel.json')
      const addresses = [...sandboxes.map((s) => new URL(s.url).host), downAddress]
      await writeFile(targets, JSON.stringify([{ targets: addresses }]))
      const config = join(dir, 'prometheus.yml')
      await writeFile(
        config,
        [
          'global: { scrape_interval: 1s, scrape_timeout: 900ms }',
          'scrape_configs:',
          '  - job_name: hotel',
          `    file_sd_configs: [{ files: [${JSON.stringify(targets)}] }]`,
          '',
        ].join('\n'),
      )
      const promPort = await freePort()
      const promUrl = `http://127.0.0.1:${promPort}`
      const promChild = execa(
        'prometheus',
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          '--log.level=warn',
        ],
        { reject: false, all: true, stdin: 'ignore', cleanup: true },
      )
      prometheus = { url: promUrl, child: promChild }

      const dnsPort = await freePort()
      const dnsChild = execa(
        '/usr/sbin/dnsmasq',
        [
          '--no-daemon',
          `--port=${dnsPort}`,
          '--listen-address=127.0.0.1',
          '--bind-interfaces',
          '--no-resolv',
          '--no-hosts',
          // Answer for *.test locally: NXDOMAIN for unknown names, no data for a missing AAAA.
          '--local=/test/',
          ...sandboxes.map((s) => `--host-record=hotel.test,${new URL(s.url).hostname}`),
          ...sandboxes.map((s, i) => `--host-record=n${i + 1}.hotel.test,${new URL(s.url).hostname}`),
          ...sandboxes.map((_, i) => `--srv-host=_chaos._tcp.hotel.test,n${i + 1}.hotel.test,${port}`),
          '--srv-host=_ghost._tcp.hotel.test,ghost.hotel.test,8080',
        ],
        { reject: false, all: true, stdin: 'ignore', cleanup: true },
      )
      dns = { server: `127.0.0.1:${dnsPort}`, child: dnsChild }

      const resolver = new Resolver({ timeout: 500, tries: 1 })
      resolver.setServers([dns.server])
      await pollUntil(
        () =>
          resolver.resolve4('hotel.test').then(
            (a) => a.length === 3,
            () => undefined,
          ),
        { timeoutMs: startupBudgetMs(), everyMs: 100, what: `dnsmasq on ${dns.server}` },
      )
      // Scraped: every target has a health other than unknown (three up, the empty address down).
      await pollUntil(
        async () => {
          const res = await fetch(`${promUrl}/api/v1/targets?state=active`).catch(() => null)
          if (!res?.ok) return undefined
          const body = (await res.json()) as { data: { activeTargets: { health: string }[] } }
          const health = body.data.activeTargets.map((t) => t.health).sort()
          return health.join() === 'down,up,up,up' ? true : undefined
        },
        {
          timeoutMs: startupBudgetMs() + POLL_TIMEOUT_MS,
          everyMs: 100,
          what: 'Prometheus to scrape the 4 targets',
        },
      )
      // The query API sees the scrapes too (up series for all four).
      await pollUntil(
        async () => {
          const found = await discoverInstances([spec('prometheus:up{job="hotel"}')], {
            prometheusUrl: promUrl,
          })
          return found.length === 4 ? true : undefined
        },
        { timeoutMs: POLL_TIMEOUT_MS, everyMs: 200, what: 'up{job="hotel"} to have 4 series' },
      )
    },
    3 * startupBudgetMs() + 2 * POLL_TIMEOUT_MS,
  )

  afterAll(async () => {
    for (const child of [prometheus?.child, dns?.child]) {
      child?.kill('SIGTERM')
      await child
    }
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
