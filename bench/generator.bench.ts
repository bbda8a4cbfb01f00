/**
 * Workload generator: (1) achieved/requested arrival rate at 100, 1 000 and 5 000 rps against a
 * trivial server (goal ≈ 1.0, no drops), (2) its maximum throughput as a ratio to autocannon's on the
 * same server in the same run (goal ≥ 0.8).
 *
 * The server runs in a child process so it has a core of its own, as it would in production;
 * the generator and autocannon run in this process, one after the other, with the same number of
 * connections. For the maximum, the generator's rate is set well above what the server can take,
 * with maxInFlight = connections, so it saturates the connections like a closed-loop tool does
 * (arrivals finding every connection busy are dropped, and do not count). Rounds alternate and
 * medians are compared, so load drift hits both alike; CPU time per request (this process) is
 * printed too, being less sensitive than throughput to other processes on a busy machine.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { createWorkload } from '../src/engine/workload.js'

interface AutocannonResult {
  requests: { total: number }
  non2xx: number
  errors: number
  duration: number
}
type Autocannon = (opts: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const CONNECTIONS = 50
const RATE_SECONDS = 3
const MAX_SECONDS = 3
const MAX_ROUNDS = 3

const SERVER = `
const http = require('node:http')
const server = http.createServer((req, res) => { res.end('ok') })
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'))
`

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer]
  return { url: `http://127.0.0.1:${chunk.toString().trim()}`, child }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** CPU microseconds this process spends while `fn` runs. */
async function cpuOf<T>(fn: () => Promise<T>): Promise<{ result: T; cpuUs: number }> {
  const before = process.cpuUsage()
  const result = await fn()
  const used = process.cpuUsage(before)
  return { result, cpuUs: used.user + used.system }
}

async function runGenerator(url: string, rate: number, seconds: number, maxInFlight?: number) {
  const w = createWorkload({
    target: url,
    requests: [{ path: '/' }],
    rate,
    timeoutMs: 10_000,
    ...(maxInFlight ? { maxInFlight, connections: maxInFlight } : {}),
  })
  const { result, cpuUs } = await cpuOf(async () => {
    const timeline = w.start()
    await sleep(seconds * 1000)
    const sent = w.counts().sent
    await w.stop()
    return { summary: timeline.summary(timeline.t0), sent }
  })
  const s = result.summary
  return {
    summary: s,
    sentRate: result.sent / s.duration_seconds,
    cpuPerRequest: cpuUs / s.successful_requests,
  }
}

export default async function generatorBench(log: (line: string) => void): Promise<void> {
  const { url, child } = await startServer()
  try {
    log(`load average at start: ${loadavg()[0]!.toFixed(2)} (ratios are only meaningful on an idle machine)`)
    await runGenerator(url, 2000, 1) // warm-up (JIT, connections)

    for (const rate of [100, 1000, 5000]) {
      const r = await runGenerator(url, rate, RATE_SECONDS)
      const s = r.summary
      log(
        `rate ${String(rate).padStart(5)} rps: achieved ${r.sentRate.toFixed(1)} sent/s, ratio ${(r.sentRate / rate).toFixed(3)}; ` +
          `ok ${s.throughput_rps.toFixed(1)}/s, dropped ${s.dropped}, failed ${s.failed_requests}, ` +
          `p50 ${s.latency_ms.p50} ms, p99 ${s.latency_ms.p99} ms`,
      )
    }

    const ac = { rps: [] as number[], cpu: [] as number[] }
    const gen = { rps: [] as number[], cpu: [] as number[] }
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const a = await cpuOf(() => autocannon({ url, connections: CONNECTIONS, duration: MAX_SECONDS }))
      const acRps = a.result.requests.total / a.result.duration
      ac.rps.push(acRps)
      ac.cpu.push(a.cpuUs / a.result.requests.total)
      const offered = Math.ceil(acRps * 2)
      const g = await runGenerator(url, offered, MAX_SECONDS, CONNECTIONS)
      gen.rps.push(g.summary.throughput_rps)
      gen.cpu.push(g.cpuPerRequest)
      log(
        `round ${round + 1}: autocannon ${acRps.toFixed(0)} req/s (${(a.cpuUs / a.result.requests.total).toFixed(1)} µs CPU/req, ` +
          `errors ${a.result.errors}, non2xx ${a.result.non2xx}); generator ${g.summary.throughput_rps.toFixed(0)} ok/s ` +
          `(${g.cpuPerRequest.toFixed(1)} µs CPU/req, offered ${offered} rps, dropped ${g.summary.dropped}, ` +
          `failed ${g.summary.failed_requests})`,
      )
    }
    log(
      `autocannon, ${CONNECTIONS} connections, median: ${median(ac.rps).toFixed(0)} req/s, ${median(ac.cpu).toFixed(1)} µs CPU/req`,
    )
    log(
      `generator, ${CONNECTIONS} in flight, median:   ${median(gen.rps).toFixed(0)} ok/s, ${median(gen.cpu).toFixed(1)} µs CPU/req`,
    )
    log(
      `max throughput ratio generator/autocannon: ${(median(gen.rps) / median(ac.rps)).toFixed(3)} (goal >= 0.8)`,
    )
    log(
      `CPU efficiency ratio autocannon/generator (per request): ${(median(ac.cpu) / median(gen.cpu)).toFixed(3)}`,
    )
  } finally {
    child.kill()
  }
}
