/**
 * Workload generator: (1) achieved/requested arrival rate at 100, 1 000 and 5 000 rps against a
 * trivial server (goal ≈ 1.0, no drops), (2) its maximum throughput as a ratio to autocannon's on the
 * same server in the same run (goal ≥ 0.8).
 *
 * The server runs in a child process so it has a core of its own, as it would in production;
 * the generator and autocannon run in this process, one after the other, with the same number of
 * connections. For the maximum, the generator's rate is set well above what the server can take,
 * with maxInFlight = connections, so it saturates the connections like a closed-loop tool does
 * (arrivals finding every connection busy are dropped, and do not count).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { createWorkload } from '../src/engine/workload.js'

interface AutocannonResult {
  requests: { average: number; total: number }
  non2xx: number
  errors: number
  timeouts: number
  duration: number
}
type Autocannon = (opts: {
  url: string
  connections: number
  duration: number
  pipelining?: number
}) => Promise<AutocannonResult>
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

async function runGenerator(url: string, rate: number, seconds: number, maxInFlight?: number) {
  const w = createWorkload({
    target: url,
    requests: [{ path: '/' }],
    rate,
    timeoutMs: 10_000,
    ...(maxInFlight ? { maxInFlight, connections: maxInFlight } : {}),
  })
  const c = w.start()
  await sleep(seconds * 1000)
  const beforeStop = w.counts()
  await w.stop()
  const s = w.summarySince(c)
  return { summary: s, sentRate: beforeStop.sent / s.duration_seconds, counts: w.counts() }
}

export default async function generatorBench(log: (line: string) => void): Promise<void> {
  const { url, child } = await startServer()
  try {
    await runGenerator(url, 2000, 1) // warm-up (JIT, connections)

    for (const rate of [100, 1000, 5000]) {
      const r = await runGenerator(url, rate, RATE_SECONDS)
      const s = r.summary
      log(
        `rate ${String(rate).padStart(5)} rps: achieved ${r.sentRate.toFixed(1)} sent/s, ` +
          `${s.throughput_rps.toFixed(1)} ok/s, ratio ${(r.sentRate / rate).toFixed(3)}; ` +
          `dropped ${s.dropped}, failed ${s.failed_requests}, p50 ${s.latency_ms.p50} ms, p99 ${s.latency_ms.p99} ms`,
      )
    }

    // Alternate autocannon and generator rounds and compare medians, so load drift hits both alike.
    const acRuns: number[] = []
    const genRuns: number[] = []
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const ac = await autocannon({ url, connections: CONNECTIONS, duration: MAX_SECONDS })
      const acRps = ac.requests.total / ac.duration
      acRuns.push(acRps)
      const offered = Math.ceil(acRps * 2)
      const g = await runGenerator(url, offered, MAX_SECONDS, CONNECTIONS)
      genRuns.push(g.summary.throughput_rps)
      log(
        `round ${round + 1}: autocannon ${acRps.toFixed(0)} req/s (errors ${ac.errors}, non2xx ${ac.non2xx}); ` +
          `generator ${g.summary.throughput_rps.toFixed(0)} ok/s (offered ${offered} rps, dropped ${g.summary.dropped}, ` +
          `failed ${g.summary.failed_requests}); ratio ${(g.summary.throughput_rps / acRps).toFixed(3)}`,
      )
    }
    const acMedian = median(acRuns)
    const genMedian = median(genRuns)
    log(`autocannon (${CONNECTIONS} connections), median: ${acMedian.toFixed(0)} req/s`)
    log(`generator (${CONNECTIONS} in flight), median:    ${genMedian.toFixed(0)} ok/s`)
    log(`max throughput ratio generator/autocannon: ${(genMedian / acMedian).toFixed(3)} (goal >= 0.8)`)
  } finally {
    child.kill()
  }
}
