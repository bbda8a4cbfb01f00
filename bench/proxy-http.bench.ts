/**
 * `chaos proxy` on an HTTP route, against the same upstream reached directly (issue 12's goals):
 * - pass-through throughput, proxy vs direct (goal ≥ 0.9), against an upstream with a few ms of
 *   service time (a real dependency) and against one that answers at once (the proxy's cost alone);
 * - added p50 latency per request (goal ≤ 0.3 ms);
 * - rollback under load: 1,000 requests held by a LATENCY fault on 1,000 open connections, then
 *   DELETE: the time from the DELETE's answer until the last held request was released (reached the
 *   upstream; goal ≤ 50 ms), and until it was answered.
 *
 * Method: the upstream is a node:http server in this process answering a small body; the proxy is
 * the real CLI (`chaos proxy --json`) in its own process. Throughput: autocannon in short rounds
 * alternating in ABBA order, the median of the per-pair wall-clock ratios (the proxy's work is in
 * another process, so CPU time of this one would not count it). Latency: sequential requests on
 * one keep-alive connection, direct and proxied interleaved, p50 of each.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { execa, type ResultPromise } from 'execa'
import { Agent, request } from 'undici'
import { loadAutocannon, median } from './support.js'

const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const TOKEN = 'bench-proxy-token-0123456789'
const ROUND_SECONDS = 1
const PAIRS = 6
const CONNECTIONS = 10
const LATENCY_SAMPLES = 2000
const HELD = 1000
/** Service time of the upstream's /slow route (ms). */
const SERVICE_MS = 5

interface Ready {
  control_url: string
  routes: { name: string; listen: string }[]
}

/** Starts `chaos proxy` with one HTTP route to `upstream`; resolves with its ready line. */
async function startProxy(upstream: string): Promise<{ child: ResultPromise; ready: Ready }> {
  const child = execa(
    'node',
    [BIN, 'proxy', '--route', `up=127.0.0.1:0->${upstream}`, '--control', '127.0.0.1:0', '--json'],
    { env: { CHAOS_TOKEN: TOKEN }, reject: false, buffer: false },
  )
  const ready = await new Promise<Ready>((resolve, reject) => {
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const line = text.split('\n').find((l) => l.startsWith('{'))
      if (line) resolve(JSON.parse(line) as Ready)
    })
    void child.then((r) =>
      reject(new Error(`chaos proxy exited (${String(r.exitCode)}) before it was ready`)),
    )
  })
  return { child, ready }
}

async function control(url: string, method: string, body?: unknown): Promise<unknown> {
  const res = await request(url, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode}: ${text}`)
  return text ? (JSON.parse(text) as unknown) : undefined
}

export default async function (log: (line: string) => void): Promise<void> {
  const autocannon = await loadAutocannon()
  // /rooms answers at once (the proxy's cost alone); /slow after SERVICE_MS, like a real dependency.
  // Arrival times are kept while `arrivals` is set: when a held request was released upstream.
  let arrivals: number[] | null = null
  const upstream: Server = createServer((req, res) => {
    arrivals?.push(performance.now())
    req.resume()
    req.on('end', () => {
      if (req.url === '/slow') setTimeout(() => res.end('{"ok":true,"rooms":12}'), SERVICE_MS)
      else res.end('{"ok":true,"rooms":12}')
    })
  })
  upstream.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  const direct = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  const { child, ready } = await startProxy(direct)
  const proxied = `http://${ready.routes[0]!.listen}`
  try {
    async function round(url: string): Promise<number> {
      const r = await autocannon({ url, connections: CONNECTIONS, duration: ROUND_SECONDS })
      if (r.non2xx || r.errors || r.timeouts)
        throw new Error(`bench round against ${url} failed: ${JSON.stringify(r)}`)
      return r.requests.total / ROUND_SECONDS
    }
    for (const [path, what] of [
      ['/slow', `an upstream with ${SERVICE_MS} ms service time`],
      ['/rooms', 'an upstream that answers at once (the proxy is then the bottleneck on a shared machine)'],
    ] as const) {
      await round(direct + path)
      await round(proxied + path)
      const ratios: number[] = []
      const rates = { direct: [] as number[], proxied: [] as number[] }
      for (let i = 0; i < PAIRS; i++) {
        const order = i % 2 === 0 ? [proxied, direct] : [direct, proxied]
        const [a, b] = [await round(order[0]! + path), await round(order[1]! + path)]
        const [p, d] = order[0] === proxied ? [a, b] : [b, a]
        rates.proxied.push(p)
        rates.direct.push(d)
        ratios.push(p / d)
      }
      log(
        `HTTP pass-through, ${what}: proxy ${Math.round(median(rates.proxied))} req/s, direct ${Math.round(median(rates.direct))} req/s, ratio ${median(ratios).toFixed(2)} (median of ${PAIRS} ABBA pairs, ${CONNECTIONS} connections; goal ≥ 0.9)`,
      )
    }

    // Added latency: one keep-alive connection each, requests interleaved so both see the same machine.
    const agent = new Agent({ connections: 1, pipelining: 1 })
    const times = { direct: [] as number[], proxied: [] as number[] }
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      for (const [name, url] of [
        ['direct', direct],
        ['proxied', proxied],
      ] as const) {
        const started = performance.now()
        const res = await request(`${url}/rooms`, { dispatcher: agent })
        await res.body.text()
        times[name].push(performance.now() - started)
      }
    }
    await agent.close()
    const added = median(times.proxied) - median(times.direct)
    log(
      `HTTP added p50 latency: ${added.toFixed(3)} ms (proxy p50 ${median(times.proxied).toFixed(3)} ms, direct ${median(times.direct).toFixed(3)} ms, ${LATENCY_SAMPLES} requests each; goal ≤ 0.3 ms)`,
    )

    // Rollback under load: HELD requests, each on its own connection, waiting in a 30 s LATENCY fault.
    const id = `bench-rollback-${Date.now()}`
    await control(`${ready.control_url}/chaos/experiments`, 'POST', {
      id,
      target_service: 'up',
      fault_config: {
        fault_type: 'LATENCY',
        latency_ms: 30_000,
        probability: 1,
        blast_radius: 'SINGLE_SERVICE',
      },
      lease_seconds: 60,
    })
    const held = new Agent({ connections: HELD, pipelining: 1 })
    const answered: number[] = []
    const pending = Array.from({ length: HELD }, async () => {
      const res = await request(`${proxied}/rooms`, { dispatcher: held })
      await res.body.text()
      answered.push(performance.now())
    })
    // Every request must be waiting in the fault before the DELETE: the agent counts them as injected.
    for (let waited = 0; ; waited += 50) {
      const view = (await control(`${ready.control_url}/chaos/experiments/${id}`, 'GET')) as {
        experiment: { faults_injected?: number }
      }
      if ((view.experiment.faults_injected ?? 0) >= HELD) break
      if (waited > 30_000)
        throw new Error(
          `only ${String(view.experiment.faults_injected)} of ${HELD} requests reached the fault`,
        )
      await new Promise((r) => setTimeout(r, 50))
    }
    arrivals = []
    await control(`${ready.control_url}/chaos/experiments/${id}`, 'DELETE')
    const deleted = performance.now()
    await Promise.all(pending)
    await held.close()
    const released = Math.max(...arrivals) - deleted
    const last = Math.max(...answered) - deleted
    arrivals = null
    log(
      `HTTP rollback under load: the last of ${HELD} held requests reached the upstream ${Math.max(0, released).toFixed(1)} ms after the DELETE answered (goal ≤ 50 ms), and was answered after ${Math.max(0, last).toFixed(1)} ms (serving 1,000 requests at once)`,
    )
  } finally {
    child.kill('SIGTERM')
    await child
    await new Promise<void>((resolve) => upstream.close(() => resolve()))
  }
}
