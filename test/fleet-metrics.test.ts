/**
 * Fleet counters over real HTTP: every instance serves its own /metrics (node:http on port 0, text
 * changed between polls), one scrape probe per instance, and the engine's sum (combineSamples) and
 * deltas (counterDelta). An instance restarting (its counters drop) must not hide what it and the
 * others counted: the summed delta is exactly the sum of each instance's increases.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createMetricsProbes } from '../src/engine/metrics-source.js'
import { combineSamples, counterDelta, type ProbeSample } from '../src/engine/probe.js'
import type { PromqlProbe } from '../src/engine/promql-probe.js'
import { createScrapeProbe } from '../src/engine/scrape-probe.js'
import { InvalidInputError } from '../src/errors.js'
import { formatSelector, parseSelector, selectorFromDiscovery } from '../src/metrics/selector.js'

/** One instance's counters, as its /metrics text states them. */
interface Counters {
  faults: number
  trips: number
  ok: number
  failed: number
  scrapes: number
}

/** An instance serving `counters` (changed between polls) as Prometheus text on a free port. */
async function instance(initial: Counters) {
  const state = { counters: { ...initial } }
  const server: Server = createServer((_req, res) => {
    const c = state.counters
    res
      .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      .end(
        [
          '# TYPE chaos_agent_faults_injected_total counter',
          `chaos_agent_faults_injected_total{experiment="e1",target_service="pms",fault_type="EXCEPTION"} ${c.faults}`,
          `chaos_agent_faults_injected_total{experiment="other",target_service="pms",fault_type="EXCEPTION"} 1000`,
          '# TYPE circuit_breaker_trips_total counter',
          `circuit_breaker_trips_total{target_service="pms"} ${c.trips}`,
          '# TYPE circuit_breaker_state gauge',
          'circuit_breaker_state{target_service="pms"} 0',
          '# TYPE http_requests_total counter',
          `http_requests_total{route="/api",status="200"} ${c.ok}`,
          `http_requests_total{route="/api",status="503"} ${c.failed}`,
          `http_requests_total{route="/metrics",status="200"} ${c.scrapes}`,
          '',
        ].join('\n'),
      )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const probe = createScrapeProbe({ target: url })
  opened.push(async () => {
    await probe.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    probe,
    /** Adds to every counter (the process keeps running). */
    grow(by: Partial<Counters>) {
      const c = state.counters
      for (const key of Object.keys(by) as Array<keyof Counters>) c[key] += by[key]!
    },
    /** The process restarted: its counters start again from what it counted since. */
    restart(counted: Counters) {
      state.counters = { ...counted }
    },
  }
}

const opened: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((close) => close()))
})

type Instance = Awaited<ReturnType<typeof instance>>

/** One fleet reading, as the engine takes it (sampleAll): every probe, then their sum. */
async function fleet(instances: Instance[]): Promise<ProbeSample> {
  const sample = combineSamples(await Promise.all(instances.map((i) => i.probe.sample('e1', 'pms'))))
  if (!sample) throw new Error('an instance could not be read')
  return sample
}

const faults = (s: ProbeSample) => s.faults_injected
const trips = (s: ProbeSample) => s.breaker_trips
const requests = (s: ProbeSample) => s.http_requests ?? null
const errors = (s: ProbeSample) => s.http_errors ?? null

describe('fleet counters: restarts handled per instance', () => {
  it('one instance restarting while the other keeps counting: the summed delta is the sum of both increases', async () => {
    const a = await instance({ faults: 100, trips: 10, ok: 500, failed: 5, scrapes: 70 })
    const b = await instance({ faults: 30, trips: 2, ok: 300, failed: 0, scrapes: 40 })
    const start = await fleet([a, b])

    a.grow({ faults: 7, trips: 1, ok: 50, failed: 2, scrapes: 9 })
    b.grow({ faults: 20, ok: 40, failed: 1, scrapes: 9 })
    const before = await fleet([a, b])
    expect(before.restarted).toBe(false)
    // No restart: the readings are the instances' own sums (what a single probe always read).
    expect(before).toMatchObject({
      faults_injected: 157,
      breaker_trips: 13,
      http_requests: 898,
      http_errors: 8,
    })

    // A restarts and has counted 4 faults, 1 trip, 12 + 3 requests since; B grows by 20 / 5 / ...
    a.restart({ faults: 4, trips: 1, ok: 12, failed: 3, scrapes: 1 })
    b.grow({ faults: 20, trips: 5, ok: 60, failed: 4, scrapes: 9 })
    const across = await fleet([a, b])
    expect(across.restarted).toBe(true)

    a.grow({ faults: 3, ok: 8, scrapes: 9 })
    b.grow({ faults: 1, trips: 1, ok: 10, failed: 1, scrapes: 9 })
    const end = await fleet([a, b])
    expect(end.restarted).toBe(false)

    // The step over the restart: A's 4 since it restarted + B's 20; raw sums would read
    // (4 + 70) - (107 + 50) < 0, clamped to 0.
    expect(counterDelta(before, across, faults)).toBe(4 + 20)
    expect(counterDelta(before, across, trips)).toBe(1 + 5)
    expect(counterDelta(before, across, requests)).toBe(12 + 3 + 60 + 4)
    expect(counterDelta(before, across, errors)).toBe(3 + 4)
    // The whole run: every increase of both instances, the /metrics route left out.
    expect(counterDelta(start, end, faults)).toBe(7 + 4 + 3 + (20 + 20 + 1))
    expect(counterDelta(start, end, trips)).toBe(1 + 1 + (5 + 1))
    expect(counterDelta(start, end, requests)).toBe(52 + 15 + 8 + (41 + 64 + 11))
    expect(counterDelta(start, end, errors)).toBe(2 + 3 + (1 + 4 + 1))
  })

  it('a restart found from the counters growing past their old value is still a restart when another series dropped', async () => {
    const a = await instance({ faults: 5, trips: 10, ok: 100, failed: 0, scrapes: 1 })
    const b = await instance({ faults: 0, trips: 0, ok: 0, failed: 0, scrapes: 1 })
    const start = await fleet([a, b])
    // A restarted: its trips dropped; its faults (9 since the restart) are above the old 5.
    a.restart({ faults: 9, trips: 1, ok: 150, failed: 0, scrapes: 1 })
    b.grow({ faults: 2 })
    const after = await fleet([a, b])
    expect(after.restarted).toBe(true)
    expect(counterDelta(start, after, faults)).toBe(9 + 2)
    expect(counterDelta(start, after, requests)).toBe(150)
  })
})

describe('the metrics selector (--metrics-selector)', () => {
  it('parses label matchers, with or without braces, and writes them back as PromQL', () => {
    expect(formatSelector(parseSelector('job="hotel"'))).toBe('job="hotel"')
    expect(formatSelector(parseSelector(` { job = 'hotel' , namespace=~"prod-.*",pod!="x\\"y" } `))).toBe(
      'job="hotel",namespace=~"prod-.*",pod!="x\\"y"',
    )
  })

  it('refuses what is not matchers, or what would pick every series', () => {
    for (const bad of [
      '',
      'hotel',
      'job=hotel',
      'job="a" namespace="b"',
      'job=~".*"',
      'job!="x"',
      '1job="a"',
    ]) {
      expect(() => parseSelector(bad), bad).toThrow(InvalidInputError)
    }
    expect(() => parseSelector('job=hotel')).toThrow(/a quoted value is expected after job=/)
  })

  it('is implied by a prometheus: or prometheus-targets: discovery spec', () => {
    expect(selectorFromDiscovery(['prometheus:up{job="hotel"} == 1', 'dns:hotel.svc'])).toBe('job="hotel"')
    expect(selectorFromDiscovery(['prometheus:up{__name__="up",job="hotel",env="prod"}'])).toBe(
      'job="hotel",env="prod"',
    )
    expect(selectorFromDiscovery(['prometheus-targets:hotel'])).toBe('job="hotel"')
    expect(selectorFromDiscovery(['prometheus:up', 'dns:hotel.svc'])).toBeUndefined()
    expect(selectorFromDiscovery(['prometheus:up{job="hotel"}', 'prometheus-targets:hotel'])).toBe(
      'job="hotel"',
    )
    expect(() => selectorFromDiscovery(['prometheus:up{job="a"}', 'prometheus-targets:b'])).toThrow(
      /imply different metrics selectors/,
    )
  })
})

describe('the metrics source (--metrics-source)', () => {
  it('scrape: one probe per instance; prometheus: one for the fleet, with the selector given or implied', async () => {
    const scrape = createMetricsProbes({ source: 'scrape', targets: ['http://a.test', 'http://b.test'] })
    expect(scrape.probes).toHaveLength(2)
    await scrape.close()
    const given = createMetricsProbes({
      source: 'prometheus',
      targets: ['http://a.test', 'http://b.test'],
      prometheus: 'http://127.0.0.1:9090',
      selector: '{job="hotel"}',
    })
    expect(given.probes).toHaveLength(1)
    expect((given.probes[0] as PromqlProbe).selector).toBe('job="hotel"')
    await given.close()
    const implied = createMetricsProbes({
      source: 'prometheus',
      targets: [],
      prometheus: 'http://127.0.0.1:9090',
      discover: ['prometheus:up{job="hotel"}'],
    })
    expect((implied.probes[0] as PromqlProbe).selector).toBe('job="hotel"')
    await implied.close()
  })

  it('prometheus without --prometheus, or without any selector, is a usage error', () => {
    expect(() => createMetricsProbes({ source: 'prometheus', targets: [], selector: 'job="x"' })).toThrow(
      /needs --prometheus URL/,
    )
    expect(() =>
      createMetricsProbes({
        source: 'prometheus',
        targets: [],
        prometheus: 'http://127.0.0.1:9090',
        discover: ['dns:hotel'],
      }),
    ).toThrow(InvalidInputError)
  })
})
