import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import client from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createScrapeProbe } from '../src/engine/scrape-probe.js'
import { createScraper, scrapeMetrics, STANDARD_COUNTERS, STANDARD_GAUGES } from '../src/metrics/scraper.js'

/** A target process's metrics, as the sandbox exposes them (prom-client). */
function targetRegistry(startTime?: number) {
  const registry = new client.Registry()
  const trips = new client.Counter({
    name: 'circuit_breaker_trips_total',
    help: 'Trips',
    labelNames: ['target_service'],
    registers: [registry],
  })
  const faults = new client.Counter({
    name: 'chaos_agent_faults_injected_total',
    help: 'Faults',
    labelNames: ['experiment', 'target_service', 'fault_type'],
    registers: [registry],
  })
  const requests = new client.Counter({
    name: 'http_requests_total',
    help: 'Requests',
    labelNames: ['route', 'status'],
    registers: [registry],
  })
  const state = new client.Gauge({
    name: 'circuit_breaker_state',
    help: 'State',
    labelNames: ['target_service'],
    registers: [registry],
  })
  if (startTime !== undefined) {
    new client.Gauge({ name: 'process_start_time_seconds', help: 'Start', registers: [registry] }).set(
      startTime,
    )
  }
  return { registry, trips, faults, requests, state }
}

type Target = ReturnType<typeof targetRegistry>

let server: Server
let url: string
let target: Target
let mode: 'metrics' | 'error' | 'garbage' | 'hang' = 'metrics'
let seenHeaders: Record<string, string | string[] | undefined> = {}
const hanging: ServerResponse[] = []

beforeEach(async () => {
  target = targetRegistry(1000)
  mode = 'metrics'
  server = createServer((req, res) => {
    seenHeaders = req.headers
    if (mode === 'hang') return void hanging.push(res)
    if (mode === 'error') return void res.writeHead(500).end('boom')
    if (mode === 'garbage') return void res.end('this is { not metrics\n')
    void target.registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': target.registry.contentType }).end(text))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
})

afterEach(async () => {
  for (const res of hanging.splice(0)) res.destroy()
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
})

/**
 * The scrape timeout: the 'hang' cases wait for it, and on a loaded machine a real answer from this
 * in-process server can take hundreds of ms, so it is seconds, not the few hundred ms a hang needs.
 */
const TIMEOUT_MS = 2_000

function scraper() {
  return createScraper({
    url,
    timeoutMs: TIMEOUT_MS,
    headers: { authorization: 'Bearer t0ken' },
    counters: {
      ...STANDARD_COUNTERS,
      pms_trips: { metric: 'circuit_breaker_trips_total', labels: { target_service: 'pms_adapter' } },
      server_errors: { metric: 'http_requests_total', labels: { route: '/api/bookings', status: /^5\d\d$/ } },
    },
    gauges: STANDARD_GAUGES,
  })
}

describe('metrics scraper', () => {
  it('turns counters into per-poll deltas, summed over labels or filtered', async () => {
    const s = scraper()
    target.trips.inc({ target_service: 'pms_adapter' }, 2)
    target.requests.inc({ route: '/api/bookings', status: '503' }, 5)
    target.state.set({ target_service: 'pms_adapter' }, 0)

    const first = await s.poll()
    if (!first.ok) throw new Error(first.error)
    expect(seenHeaders.authorization).toBe('Bearer t0ken')
    expect(first.counters.circuit_breaker_trips).toEqual({
      value: 2,
      delta: 0,
      total: 0,
      restarted: false,
      present: true,
    })
    expect(first.counters.server_errors).toMatchObject({ value: 5, delta: 0 })
    expect(first.gauges.circuit_breaker_state).toEqual({ pms_adapter: 0 })

    target.trips.inc({ target_service: 'pms_adapter' }, 3)
    target.trips.inc({ target_service: 'whatsapp' }, 1) // a series appearing after the baseline counts in full
    target.faults.inc({ experiment: 'e1', target_service: 'pms_adapter', fault_type: 'EXCEPTION' }, 7)
    target.requests.inc({ route: '/api/bookings', status: '500' }, 1)
    target.requests.inc({ route: '/api/bookings', status: '200' }, 10)
    target.requests.inc({ route: '/api/availability', status: '502' }, 4)
    target.state.set({ target_service: 'pms_adapter' }, 2)

    const second = await s.poll()
    if (!second.ok) throw new Error(second.error)
    expect(second.restarted).toBe(false)
    expect(second.counters.circuit_breaker_trips).toEqual({
      value: 6,
      delta: 4,
      total: 4,
      restarted: false,
      present: true,
    })
    expect(second.counters.pms_trips).toMatchObject({ value: 5, delta: 3 })
    expect(second.counters.faults_injected).toMatchObject({ value: 7, delta: 7, total: 7 })
    expect(second.counters.http_requests).toMatchObject({ value: 20, delta: 15 })
    expect(second.counters.server_errors).toMatchObject({ value: 6, delta: 1 })
    expect(second.gauges.circuit_breaker_state).toEqual({ pms_adapter: 2 })

    const third = await s.poll()
    if (!third.ok) throw new Error(third.error)
    expect(third.counters.circuit_breaker_trips).toEqual({
      value: 6,
      delta: 0,
      total: 4,
      restarted: false,
      present: true,
    })
    await s.close()
  })

  it('treats a counter going down as a restart: the new value is the delta', async () => {
    const s = scraper()
    target.trips.inc({ target_service: 'pms_adapter' }, 5)
    target.requests.inc({ route: '/x', status: '200' }, 100)
    await s.poll()
    target.trips.inc({ target_service: 'pms_adapter' }, 1)
    const grown = await s.poll()
    expect(grown.ok && grown.counters.circuit_breaker_trips.total).toBe(1)

    // The target restarts without a start time gauge: detected from the drop alone.
    target = targetRegistry()
    target.trips.inc({ target_service: 'pms_adapter' }, 2)
    target.requests.inc({ route: '/x', status: '200' }, 150) // grew past the old value, still restarted
    const after = await s.poll()
    if (!after.ok) throw new Error(after.error)
    expect(after.restarted).toBe(true)
    expect(after.counters.circuit_breaker_trips).toEqual({
      value: 2,
      delta: 2,
      total: 3,
      restarted: true,
      present: true,
    })
    expect(after.counters.http_requests).toMatchObject({
      value: 150,
      delta: 150,
      restarted: true,
      present: true,
    })
    await s.close()
  })

  it('detects a restart from process_start_time_seconds even when every counter grew', async () => {
    const s = scraper()
    target.trips.inc({ target_service: 'pms_adapter' }, 1)
    await s.poll()
    target = targetRegistry(2000)
    target.trips.inc({ target_service: 'pms_adapter' }, 4)
    const after = await s.poll()
    if (!after.ok) throw new Error(after.error)
    expect(after.restarted).toBe(true)
    expect(after.counters.circuit_breaker_trips).toMatchObject({
      value: 4,
      delta: 4,
      restarted: true,
      present: true,
    })
    await s.close()
  })

  it('reports failed polls by kind and counts them in a row until a success', async () => {
    const s = scraper()
    target.trips.inc({ target_service: 'pms_adapter' }, 1)
    await s.poll()

    mode = 'error'
    const e1 = await s.poll()
    expect(e1).toMatchObject({ ok: false, kind: 'HTTP', consecutive_failures: 1 })
    expect(!e1.ok && e1.error).toMatch(/HTTP 500/)
    mode = 'garbage'
    const e2 = await s.poll()
    expect(e2).toMatchObject({ ok: false, kind: 'PARSE', consecutive_failures: 2 })
    mode = 'hang'
    const e3 = await s.poll()
    expect(e3).toMatchObject({ ok: false, kind: 'TIMEOUT', consecutive_failures: 3 })
    expect(s.consecutiveFailures).toBe(3)

    // Back: the success resets the count and its delta covers the gap.
    mode = 'metrics'
    target.trips.inc({ target_service: 'pms_adapter' }, 2)
    const ok = await s.poll()
    expect(ok).toMatchObject({ ok: true, consecutive_failures: 0 })
    expect(ok.ok && ok.counters.circuit_breaker_trips.delta).toBe(2)
    expect(s.consecutiveFailures).toBe(0)
    await s.close()
  })

  it('reports a refused connection as CONNECTION', async () => {
    const s = scraper()
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
    const r = await s.poll()
    expect(r).toMatchObject({ ok: false, kind: 'CONNECTION', consecutive_failures: 1 })
    await s.close()
    // Reopen so afterEach has something to close.
    server = createServer((_q, res) => res.end())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  })

  it('rejects (does not count a failure) when the caller aborts', async () => {
    const s = scraper()
    mode = 'hang'
    const controller = new AbortController()
    const pending = s.poll(controller.signal)
    controller.abort(new Error('run interrupted'))
    await expect(pending).rejects.toThrow('run interrupted')
    expect(s.consecutiveFailures).toBe(0)
    await s.close()
  })

  it('not measured is not 0: a family absent from the scrape reads null, a declared family without series reads 0', async () => {
    const probe = createScrapeProbe({ target: 'http://unused.test', metricsUrl: url, timeoutMs: TIMEOUT_MS })
    // Declared (# TYPE) but never incremented: measured, and 0.
    expect(await probe.sample('e1', 'pms_adapter')).toMatchObject({ breaker_trips: 0, faults_injected: 0 })
    target.registry.removeSingleMetric('circuit_breaker_trips_total')
    target.faults.inc({ experiment: 'e1', target_service: 'pms_adapter', fault_type: 'EXCEPTION' }, 2)
    expect(await probe.sample('e1', 'pms_adapter')).toMatchObject({
      breaker_trips: null,
      faults_injected: 2,
      breaker_state: null,
      restarted: false,
    })
    const s = scraper()
    const reading = await s.poll()
    if (!reading.ok) throw new Error(reading.error)
    expect(reading.counters.circuit_breaker_trips).toMatchObject({ value: 0, present: false })
    expect(reading.counters.faults_injected).toMatchObject({ value: 2, present: true })
    await Promise.all([s.close(), probe.close()])
  })

  it('scrapeMetrics returns the parsed families', async () => {
    target.requests.inc({ route: '/a', status: '200' }, 3)
    const families = await scrapeMetrics(url)
    expect(families.get('http_requests_total')?.samples).toEqual([
      { name: 'http_requests_total', labels: { route: '/a', status: '200' }, value: 3 },
    ])
  })
})
