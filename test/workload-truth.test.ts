import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createWorkload, type RequestResult, type Workload } from '../src/engine/workload.js'
import { classifyError } from '../src/http/error-class.js'
import { createMemoryLogger } from '../src/logger.js'
import { EXPERIMENT_HEADER } from '../src/protocol/schemas.js'
import { pollUntil } from './support/poll.js'

interface TestServer {
  url: string
  /** Requests seen per path, counting only those tagged with the experiment header. */
  tagged: Map<string, number>
  close(): Promise<void>
}

const servers: TestServer[] = []
const workloads: Workload[] = []
afterEach(async () => {
  await Promise.all(workloads.splice(0).map((w) => w.stop({ abort: true })))
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const tagged = new Map<string, number>()
  const server: Server = createServer((req, res) => {
    if (req.headers[EXPERIMENT_HEADER] === 'exp-1') tagged.set(req.url!, (tagged.get(req.url!) ?? 0) + 1)
    handler(req, res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const s: TestServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tagged,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
  servers.push(s)
  return s
}

function track(w: Workload): Workload {
  workloads.push(w)
  return w
}

/** Runs a workload for `ms` of real time, then stops it (draining). */
async function runFor(w: Workload, ms: number): Promise<void> {
  w.start()
  await new Promise((r) => setTimeout(r, ms))
  await w.stop()
}

function expectCountsAddUp(w: Workload) {
  const c = w.counts()
  expect(c.sent).toBe(c.successful + c.failed + c.in_flight)
  expect(c.arrivals).toBe(c.sent + c.dropped)
  expect(Object.values(c.failures_by_class).reduce((a, b) => a + b, 0)).toBe(c.failed)
}

describe('workload generator against a real HTTP server', () => {
  it('sends exactly what the server counts, per weighted path, tagged with the experiment header', async () => {
    const server = await startServer((_req, res) => res.end('ok'))
    const results: RequestResult[] = []
    // A deterministic weighted choice: cycles through [0, 0.25, 0.5, 0.75).
    let n = 0
    const w = track(
      createWorkload({
        target: server.url,
        requests: [
          { path: '/a', weight: 1 },
          { method: 'POST', path: '/b', weight: 3, body: { x: 1 } },
        ],
        rate: 200,
        headers: { [EXPERIMENT_HEADER]: 'exp-1' },
        random: () => (n++ % 4) / 4,
        onResult: (r) => results.push(r),
      }),
    )
    await runFor(w, 400)
    const c = w.counts()
    expect(c.sent).toBeGreaterThan(20)
    expect(c).toMatchObject({ in_flight: 0, failed: 0, dropped: 0, successful: c.sent })
    expect(results).toHaveLength(c.sent)
    const served = [...server.tagged.values()].reduce((a, b) => a + b, 0)
    expect(served).toBe(c.sent)
    const byPath = (p: string) => results.filter((r) => r.path === p).length
    expect(server.tagged.get('/a')).toBe(byPath('/a'))
    expect(server.tagged.get('/b')).toBe(byPath('/b'))
    // Weights 1:3 with the cyclic random source: exactly one in four goes to /a.
    expect(byPath('/a')).toBe(Math.ceil(c.sent / 4))
    expectCountsAddUp(w)
  })

  it('measures latency of a server delaying 50 ms: each request within hard bounds, p50 their median', async () => {
    // The workload measures on this process's monotonic clock (performance.now), so each request's
    // latency can be checked against hard bounds instead of a guess about how busy the machine is:
    // it spans at least the server's 50 ms delay, starts no earlier than the workload did, and ends
    // no later than the moment its result was reported.
    const server = await startServer((_req, res) => setTimeout(() => res.end('ok'), 50))
    const results: Array<RequestResult & { reportedAt: number }> = []
    const w = track(
      createWorkload({
        target: server.url,
        requests: [{ path: '/slow' }],
        rate: 100,
        onResult: (r) => results.push({ ...r, reportedAt: performance.now() }),
      }),
    )
    const startedAt = performance.now()
    const timeline = w.start()
    await new Promise((r) => setTimeout(r, 500))
    await w.stop()
    const s = timeline.summary(timeline.t0)
    expect(s.total_requests).toBe(s.sent)
    expect(results).toHaveLength(s.sent)
    for (const r of results) {
      expect(r.ok).toBe(true)
      // Never below the server's delay (timer precision: 1 ms), never beyond the report.
      expect(r.latencyMs).toBeGreaterThanOrEqual(49)
      expect(r.intendedAt).toBeGreaterThanOrEqual(startedAt)
      expect(r.intendedAt + r.latencyMs).toBeLessThanOrEqual(r.reportedAt + 0.001)
    }
    // The summary's p50 is the median of those very latencies, within the histogram's precision
    const sorted = results.map((r) => r.latencyMs).sort((x, y) => x - y)
    const lower = sorted[Math.ceil(sorted.length / 2) - 1]!
    const upper = sorted[Math.floor(sorted.length / 2)]!
    // (3 significant digits: a bucket edge is within 0.1 % of the value; 0.5 % leaves room.)
    expect(s.latency_ms.p50!).toBeGreaterThanOrEqual(lower * 0.995)
    expect(s.latency_ms.p50!).toBeLessThanOrEqual(upper * 1.005)
    expect(s.latency_ms.max!).toBeGreaterThanOrEqual(s.latency_ms.p99!)
    expect(s.success_latency_ms?.p50).toBe(s.latency_ms.p50)
  })

  it('classifies HTTP failures by status and treats 2xx/3xx as success', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/fail') res.writeHead(503).end()
      else if (req.url === '/missing') res.writeHead(404).end()
      else if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end()
      else res.writeHead(204).end()
    })
    const results: RequestResult[] = []
    let n = 0
    const w = track(
      createWorkload({
        target: server.url,
        requests: [{ path: '/fail' }, { path: '/missing' }, { path: '/moved' }, { path: '/ok' }],
        rate: 200,
        random: () => (n++ % 4) / 4,
        onResult: (r) => results.push(r),
      }),
    )
    await runFor(w, 300)
    const c = w.counts()
    const count = (p: string) => results.filter((r) => r.path === p).length
    expect(c.failures_by_class).toEqual({ HTTP_503: count('/fail'), HTTP_404: count('/missing') })
    expect(c.successful).toBe(count('/moved') + count('/ok'))
    expect(results.find((r) => r.path === '/fail')).toMatchObject({
      ok: false,
      status: 503,
      failure: 'HTTP_503',
    })
    expect(results.find((r) => r.path === '/moved')).toMatchObject({ ok: true, status: 302, failure: null })
    expectCountsAddUp(w)
  })

  it('classifies requests without a response within the timeout as TIMEOUT', async () => {
    const server = await startServer(() => {
      /* never answers */
    })
    const results: RequestResult[] = []
    const w = track(
      createWorkload({
        target: server.url,
        requests: [{ path: '/hang' }],
        rate: 50,
        timeoutMs: 150,
        onResult: (r) => results.push(r),
      }),
    )
    await runFor(w, 200)
    const c = w.counts()
    expect(c.sent).toBeGreaterThan(0)
    expect(c).toMatchObject({
      successful: 0,
      failed: c.sent,
      in_flight: 0,
      failures_by_class: { TIMEOUT: c.sent },
    })
    // Time to fail is the timeout (from send), never less.
    for (const r of results) expect(r.latencyMs).toBeGreaterThanOrEqual(150)
  })

  it('classifies a body that stalls mid-response as TIMEOUT too', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '10' })
      res.write('abc') // and never the rest
    })
    const w = track(
      createWorkload({ target: server.url, requests: [{ path: '/' }], rate: 20, timeoutMs: 150 }),
    )
    await runFor(w, 100)
    const c = w.counts()
    expect(c.sent).toBeGreaterThan(0)
    expect(c.failures_by_class).toEqual({ TIMEOUT: c.sent })
  })

  it('classifies connection refused and connection reset as CONNECTION', async () => {
    const reset = await startServer((req) => req.socket.destroy())
    // A port that was just free: nothing listens there any more.
    const gone = await startServer(() => {})
    await servers.pop()!.close()
    for (const target of [gone.url, reset.url]) {
      const w = track(createWorkload({ target, requests: [{ path: '/' }], rate: 100, timeoutMs: 2000 }))
      await runFor(w, 150)
      const c = w.counts()
      expect(c.sent).toBeGreaterThan(0)
      expect(c.failures_by_class).toEqual({ CONNECTION: c.sent })
      expectCountsAddUp(w)
    }
  })

  it('drops arrivals beyond maxInFlight instead of queueing them, and counts them', async () => {
    const server = await startServer(() => {})
    const w = track(
      createWorkload({
        target: server.url,
        requests: [{ path: '/' }],
        rate: 200,
        timeoutMs: 30_000,
        maxInFlight: 5,
      }),
    )
    const timeline = w.start()
    await new Promise((r) => setTimeout(r, 200))
    const c = w.counts()
    expect(c.sent).toBe(5)
    expect(c.in_flight).toBe(5)
    expect(c.dropped).toBeGreaterThan(10)
    expectCountsAddUp(w)
    await w.stop({ abort: true })
    const after = w.counts()
    expect(after).toMatchObject({ sent: 5, in_flight: 0, failed: 5, failures_by_class: { CANCELLED: 5 } })
    const s = timeline.summary(timeline.t0)
    expect(s).toMatchObject({ sent: 5, failed_requests: 5, dropped: after.dropped, in_flight: 0 })
    expectCountsAddUp(w)
  })

  it('phases, per-second series and the sliding window all add up to the totals', async () => {
    let i = 0
    const server = await startServer((_req, res) => {
      // Every fifth request fails; all take ~20 ms so some are in flight at every mark.
      const fail = i++ % 5 === 0
      setTimeout(() => res.writeHead(fail ? 500 : 200).end(), 20)
    })
    const w = track(createWorkload({ target: server.url, requests: [{ path: '/' }], rate: 300 }))
    const timeline = w.start()
    const baseline = timeline.t0
    await new Promise((r) => setTimeout(r, 250))
    const during = performance.now()
    await new Promise((r) => setTimeout(r, 250))
    const window = timeline.recent(performance.now(), 1000)
    const recovery = performance.now()
    await new Promise((r) => setTimeout(r, 250))
    await w.stop()
    const c = w.counts()
    expect(c.in_flight).toBe(0)

    const phases = [
      timeline.summary(baseline, during),
      timeline.summary(during, recovery),
      timeline.summary(recovery),
    ]
    const sum = (k: 'sent' | 'successful_requests' | 'failed_requests' | 'dropped') =>
      phases.reduce((a, p) => a + p[k], 0)
    expect(sum('sent')).toBe(c.sent)
    expect(sum('successful_requests')).toBe(c.successful)
    expect(sum('failed_requests')).toBe(c.failed)
    expect(c.failures_by_class).toEqual({ HTTP_500: Math.ceil(c.sent / 5) })
    const all = timeline.summary(baseline)
    expect(all).toMatchObject({
      sent: c.sent,
      total_requests: c.sent,
      failed_requests: c.failed,
      in_flight: 0,
    })
    expect(all.error_rate).toBeCloseTo(c.failed / c.sent, 12)
    expect(all.availability + all.error_rate).toBeCloseTo(1, 12)
    expect(all.throughput_rps).toBeCloseTo(c.successful / all.duration_seconds, 0)

    const series = timeline.series()
    expect(series.reduce((a, p) => a + p.sent, 0)).toBe(c.sent)
    expect(series.reduce((a, p) => a + p.requests, 0)).toBe(c.sent)
    expect(series.reduce((a, p) => a + p.errors, 0)).toBe(c.failed)
    expect(series[0]!.p95_ms).toBeGreaterThanOrEqual(19)

    // The window (completion time) covered baseline and part of during: a subset of what finished then.
    expect(window.total_requests).toBeGreaterThan(0)
    expect(window.total_requests).toBeLessThanOrEqual(phases[0]!.sent + phases[1]!.sent)
    expect(window.success_latency_ms).toBeNull()
  })

  it('keeps exact accounts when the result hook throws, and logs the failure', async () => {
    const server = await startServer((_req, res) => res.end('ok'))
    const logger = createMemoryLogger()
    const w = track(
      createWorkload({
        target: server.url,
        requests: [{ path: '/' }],
        rate: 100,
        logger,
        onResult: () => {
          throw new Error('hook bug')
        },
      }),
    )
    await runFor(w, 100)
    const c = w.counts()
    expect(c.sent).toBeGreaterThan(0)
    expect(c).toMatchObject({ successful: c.sent, in_flight: 0 })
    const failures = logger.entries.filter((e) => e.event === 'workload_result_hook_failed')
    expect(failures).toHaveLength(c.sent)
    expect(failures[0]!.fields).toEqual({ error: 'hook bug' })
  })

  it('an empty slice reports zero error rate, full availability and null latency', () => {
    const w = track(createWorkload({ target: 'http://127.0.0.1:9', requests: [{ path: '/' }], rate: 1 }))
    const timeline = w.start()
    const s = timeline.summary(timeline.t0)
    expect(s).toMatchObject({ total_requests: 0, error_rate: 0, availability: 1, throughput_rps: 0 })
    expect(s.latency_ms).toEqual({ p50: null, p95: null, p99: null, max: null })
  })

  it('rejects bad options with a clear message', () => {
    const base = { target: 'http://127.0.0.1:1', requests: [{ path: '/' }], rate: 1 }
    expect(() => createWorkload({ ...base, rate: 0 })).toThrow(/rate must be a positive number/)
    expect(() => createWorkload({ ...base, target: 'nope' })).toThrow(/target "nope" is not a URL/)
    expect(() => createWorkload({ ...base, target: 'ftp://x' })).toThrow(/http:\/\/ or https:\/\//)
    expect(() => createWorkload({ ...base, requests: [] })).toThrow(/at least one request/)
    expect(() => createWorkload({ ...base, maxInFlight: 0 })).toThrow(/maxInFlight/)
  })
})

describe('defect 8, several instances: the workload spreads over every origin', () => {
  it('splits requests round-robin (±1) and the timeline per instance matches what each server counted', async () => {
    // Two real servers, each counting the tagged requests it served; the second fails every third
    // one and sits behind a path prefix (each origin keeps its own prefix).
    let seen = 0
    const a = await startServer((_req, res) => res.end('ok'))
    const b = await startServer((_req, res) => res.writeHead(seen++ % 3 === 0 ? 503 : 200).end())
    const results: RequestResult[] = []
    const w = track(
      createWorkload({
        targets: [a.url, `${b.url}/v2/`],
        requests: [{ path: '/ping' }],
        rate: 200,
        headers: { [EXPERIMENT_HEADER]: 'exp-1' },
        onResult: (r) => results.push(r),
      }),
    )
    expect(w.targets).toEqual([a.url, `${b.url}/v2/`])
    const timeline = w.start()
    await pollUntil(() => w.counts().sent >= 61, { what: '61 requests sent' })
    await w.stop()
    const c = w.counts()
    expect(c.in_flight).toBe(0)
    expectCountsAddUp(w)

    const servedA = a.tagged.get('/ping') ?? 0
    const servedB = b.tagged.get('/v2/ping') ?? 0
    expect([...a.tagged.keys()]).toEqual(['/ping'])
    expect([...b.tagged.keys()]).toEqual(['/v2/ping'])
    expect(servedA + servedB).toBe(c.sent)
    // Request k goes to origin k mod 2: the first origin gets the odd one out.
    expect(servedA).toBe(Math.ceil(c.sent / 2))
    expect(servedB).toBe(Math.floor(c.sent / 2))

    const [ia, ib] = timeline.byInstance(timeline.t0)
    expect(timeline.instances).toBe(2)
    expect(ia).toMatchObject({ sent: servedA, total_requests: servedA, failed_requests: 0, dropped: 0 })
    expect(ib).toMatchObject({
      sent: servedB,
      total_requests: servedB,
      failed_requests: Math.ceil(servedB / 3),
      failures_by_class: { HTTP_503: Math.ceil(servedB / 3) },
    })
    expect(timeline.summary(timeline.t0, Infinity, { instance: 1 })).toEqual(ib)
    const all = timeline.summary(timeline.t0)
    expect(ia!.total_requests + ib!.total_requests).toBe(all.total_requests)
    expect(ia!.failed_requests + ib!.failed_requests).toBe(all.failed_requests)
    expect(all.failed_requests).toBe(c.failed)
    // Each result names its origin, consistently with the send order.
    for (const r of results) expect(r.instance).toBe(r.seq % 2)
  })

  it('shares one in-flight limit across the origins and drops beyond it', async () => {
    const a = await startServer(() => {})
    const b = await startServer(() => {})
    const w = track(
      createWorkload({
        targets: [a.url, b.url],
        requests: [{ path: '/' }],
        rate: 200,
        timeoutMs: 30_000,
        maxInFlight: 4,
      }),
    )
    const timeline = w.start()
    await pollUntil(() => w.counts().dropped >= 10, { what: '10 dropped arrivals' })
    expect(w.counts()).toMatchObject({ sent: 4, in_flight: 4 })
    await w.stop({ abort: true })
    const [ia, ib] = timeline.byInstance(timeline.t0)
    // Dropped arrivals went to no origin: they are in the whole slice only.
    expect(ia).toMatchObject({ sent: 2, failed_requests: 2, dropped: 0 })
    expect(ib).toMatchObject({ sent: 2, failed_requests: 2, dropped: 0 })
    expect(timeline.summary(timeline.t0).dropped).toBe(w.counts().dropped)
    expectCountsAddUp(w)
  })

  it('rejects an empty origin list and a bad origin by name', () => {
    const base = { requests: [{ path: '/' }], rate: 1 }
    expect(() => createWorkload({ ...base, targets: [] })).toThrow(/at least one target URL/)
    expect(() => createWorkload({ ...base, targets: ['http://127.0.0.1:1', 'nope'] })).toThrow(
      /target "nope" is not a URL/,
    )
  })
})

describe('classifyError', () => {
  it('reads codes from the error, its cause and aggregated errors', () => {
    const refused = Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })
    expect(classifyError(refused)).toBe('CONNECTION')
    expect(classifyError(new AggregateError([refused], 'all failed'))).toBe('CONNECTION')
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET', cause: refused }))).toBe(
      'CONNECTION',
    )
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe('TIMEOUT')
    expect(classifyError(Object.assign(new Error('x'), { code: 'HPE_INVALID_CONSTANT' }))).toBe('OTHER')
    expect(classifyError('weird')).toBe('OTHER')
  })
})
