/**
 * Fleet fan-out (issue 13): how long the runner's control calls take across many instances.
 *
 * - `chaos stop --all` across 50 agents: the operator's {@link emergencyStop} over all of them at
 *   once vs the same stop done one instance after another (goal ≤ 1 s; both printed, and the ratio).
 * - Experiment start across 50 instances (goal ≤ 1 s): POST /chaos/experiments to every instance,
 *   concurrent and bounded by p-limit at the default `--max-parallel` (64), as the engine's
 *   all-or-nothing start does.
 * - 10, 100 and 1,000 instances: start, lease renewal and stop-all per size, and how the time per
 *   instance grows with the fleet (goal linear or better; stop-all at 1,000 ≤ 5 s).
 *
 * Every instance is a real agent (createChaosAgent) served over HTTP on its own loopback port, all in
 * this one process — also at 1,000 — so the numbers include the agents' own work on the same cores.
 * Each size runs one warm-up round (connections, JIT) and then {@link ROUNDS} measured rounds; the
 * median is printed. Every call's answer is checked (a benchmark of failing calls would be fast and
 * meaningless): a start that is refused or a stop not verified by read-back throws.
 */
import { createServer, type Server } from 'node:http'
import pLimit from 'p-limit'
import { createChaosAgent, type ChaosAgent } from '../src/agent/index.js'
import { createControlClient, type ControlClient } from '../src/engine/control-client.js'
import { emergencyStop, type StopResult } from '../src/engine/operator.js'
import type { StartExperimentRequest } from '../src/protocol/schemas.js'
import { median } from './support.js'

const TOKEN = 'bench-fleet-token-0123456789'
/** The wrapped service the experiments target on every agent. */
const SERVICE = 'payments_api'
/** The plan's default `--max-parallel`: the bound on concurrent control calls per fan-out. */
const MAX_PARALLEL = 64
const ROUNDS = 5
const LEASE_SECONDS = 60

interface Fleet {
  urls: string[]
  clients: ControlClient[]
  close(): Promise<void>
}

/** `n` agents, each on its own loopback port (port 0), with {@link SERVICE} wrapped. */
async function startFleet(n: number): Promise<Fleet> {
  const agents: ChaosAgent[] = []
  const servers: Server[] = []
  const urls = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const agent = createChaosAgent({
        service: 'bench_fleet',
        instance: `bench-${i}`,
        enabled: true,
        token: TOKEN,
        env: {},
        environment: 'development',
      })
      agent.register(SERVICE)
      const server = createServer(agent.listener())
      agents.push(agent)
      servers.push(server)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`
    }),
  )
  return {
    urls,
    clients: urls.map((target) => createControlClient({ target, token: TOKEN })),
    async close() {
      await Promise.all(agents.map((a) => a.close()))
      for (const server of servers) server.closeAllConnections()
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
    },
  }
}

function experiment(id: string): StartExperimentRequest {
  return {
    id,
    target_service: SERVICE,
    fault_config: {
      fault_type: 'LATENCY',
      probability: 1,
      latency_ms: 1,
      latency_jitter_ms: 0,
      blast_radius: 'SERVICE_CLUSTER',
      enabled: true,
    },
    lease_seconds: LEASE_SECONDS,
  }
}

/** Runs `call` on every client, at most {@link MAX_PARALLEL} at a time (the engine's fan-out). */
async function fanOut(clients: readonly ControlClient[], call: (c: ControlClient) => Promise<unknown>) {
  const limit = pLimit(MAX_PARALLEL)
  await Promise.all(clients.map((c) => limit(() => call(c))))
}

/** Start on every instance; a refusal throws (ControlError). */
const startAll = (fleet: Fleet, id: string) => fanOut(fleet.clients, (c) => c.start(experiment(id)))
/** Lease renewal on every instance. */
const renewAll = (fleet: Fleet, id: string) => fanOut(fleet.clients, (c) => c.renew(id, LEASE_SECONDS))

/** Throws unless every instance stopped exactly one experiment and read back nothing active. */
function expectStopped(results: readonly StopResult[], n: number): void {
  const bad = results.filter((r) => !r.verified || r.stopped.length !== 1)
  if (results.length !== n || bad.length > 0) {
    throw new Error(
      `stop-all not verified on ${bad.length} of ${n}: ${bad[0]?.error ?? 'no experiment stopped'}`,
    )
  }
}

/** `chaos stop --all`: the operator's emergency stop across the fleet, as one call. */
async function stopAllConcurrent(fleet: Fleet): Promise<void> {
  expectStopped(await emergencyStop(fleet.urls, TOKEN, { all: true }), fleet.urls.length)
}

/** The same emergency stop, one instance after another (the serial baseline). */
async function stopAllSerial(fleet: Fleet): Promise<void> {
  const results: StopResult[] = []
  for (const url of fleet.urls) results.push(...(await emergencyStop([url], TOKEN, { all: true })))
  expectStopped(results, fleet.urls.length)
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

const ms = (v: number) => `${v.toFixed(1)} ms`
const verdict = (ok: boolean) => (ok ? 'goal met' : 'GOAL MISSED')

/** 50 instances: concurrent vs serial stop-all, and the start. */
async function fifty(log: (line: string) => void): Promise<void> {
  const fleet = await startFleet(50)
  try {
    const concurrent: number[] = []
    const serial: number[] = []
    const starts: number[] = []
    for (let round = -1; round < ROUNDS; round++) {
      const a = `bench-50-${round + 1}-a`
      const startMs = await timed(() => startAll(fleet, a))
      const concurrentMs = await timed(() => stopAllConcurrent(fleet))
      await startAll(fleet, `bench-50-${round + 1}-b`)
      const serialMs = await timed(() => stopAllSerial(fleet))
      if (round < 0) continue // warm-up
      starts.push(startMs)
      concurrent.push(concurrentMs)
      serial.push(serialMs)
    }
    const c = median(concurrent)
    const s = median(serial)
    log(
      `50 agents, stop --all:  concurrent ${ms(c)}, serial ${ms(s)}, serial/concurrent ${(s / c).toFixed(1)}×`,
    )
    log(`  goal <= 1000 ms:      ${verdict(c <= 1000)}`)
    const start = median(starts)
    log(`50 agents, start:       ${ms(start)} (p-limit ${MAX_PARALLEL})`)
    log(`  goal <= 1000 ms:      ${verdict(start <= 1000)}`)
  } finally {
    await fleet.close()
  }
}

/** 10, 100, 1,000 instances: start, renew and stop-all, and their growth per instance. */
async function growth(log: (line: string) => void): Promise<void> {
  const sizes = [10, 100, 1000]
  const rows: { n: number; start: number; renew: number; stop: number }[] = []
  for (const n of sizes) {
    const fleet = await startFleet(n)
    try {
      const start: number[] = []
      const renew: number[] = []
      const stop: number[] = []
      for (let round = -1; round < ROUNDS; round++) {
        const id = `bench-${n}-${round + 1}`
        const s = await timed(() => startAll(fleet, id))
        const r = await timed(() => renewAll(fleet, id))
        const x = await timed(() => stopAllConcurrent(fleet))
        if (round < 0) continue // warm-up
        start.push(s)
        renew.push(r)
        stop.push(x)
      }
      rows.push({ n, start: median(start), renew: median(renew), stop: median(stop) })
    } finally {
      await fleet.close()
    }
  }
  const [first] = rows as [(typeof rows)[number]]
  const perInstance = (t: number, n: number) => `${((t / n) * 1000).toFixed(0)} µs/inst`
  // Time per instance relative to the smallest fleet: <= 1 is linear or better.
  const growthOf = (t: number, n: number, t0: number) => (t / n / (t0 / first.n)).toFixed(2)
  log(
    `in-process agents (real HTTP, one process); start/renew bounded at ${MAX_PARALLEL}, stop-all = emergencyStop`,
  )
  for (const row of rows) {
    log(
      `${String(row.n).padStart(5)} instances: ` +
        (['start', 'renew', 'stop'] as const)
          .map(
            (k) =>
              `${k === 'stop' ? 'stop-all' : k} ${ms(row[k])} (${perInstance(row[k], row.n)}, ×${growthOf(row[k], row.n, first[k])})`,
          )
          .join(', '),
    )
  }
  const last = rows[rows.length - 1]!
  const linear = rows.every((r) =>
    (['start', 'renew', 'stop'] as const).every((k) => r[k] / r.n <= (first[k] / first.n) * 1.5),
  )
  log(
    `  ×: time per instance relative to ${first.n} instances (goal: linear or better, i.e. about 1 or less)`,
  )
  log(`  growth: ${verdict(linear)} (every per-instance time within 1.5× of ${first.n} instances')`)
  log(`  stop-all at ${last.n}: ${ms(last.stop)}, goal <= 5000 ms: ${verdict(last.stop <= 5000)}`)
}

export default async function fleetBench(log: (line: string) => void): Promise<void> {
  await fifty(log)
  await growth(log)
}
