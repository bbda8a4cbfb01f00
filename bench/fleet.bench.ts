/**
 * Fleet fan-out (issue 13): how long the runner's control calls take across many instances.
 *
 * - `chaos stop --all` across 50 agents: the operator's {@link emergencyStop} over all of them at
 *   once vs the same stop done one instance after another (goal ≤ 1 s; both printed, and the ratio).
 * - Experiment start across 50 instances (goal ≤ 1 s): POST /chaos/experiments to every instance,
 *   through the engine's own fan-out (`startAll` in src/engine/fan-out.ts), bounded at the default
 *   `--max-parallel` (64).
 * - 10, 100 and 1,000 instances: start, lease renewal and stop-all per size, and how the time per
 *   instance grows with the fleet (goal linear or better; stop-all at 1,000 ≤ 5 s).
 *
 * Every instance is a real agent (createChaosAgent) served over HTTP on its own loopback port, all in
 * this one process — also at 1,000 — so the numbers include the agents' own work on the same cores.
 * Loopback has no network round trip, which is what the concurrent fan-out hides; the 50-instance
 * fleet is therefore measured twice: on plain loopback, and with every answer delayed by a 5 ms
 * round trip (server side), where serial vs concurrent shows what it is on a real network.
 * Each fleet runs one warm-up round (connections, JIT) and then at least {@link ROUNDS} measured
 * rounds (more for small fleets, whose few-ms fan-outs are noisy); the median is printed, with the
 * CPU time of this process beside the wall time (the load of other processes moves the wall time;
 * the CPU time is the work the fleet costs). Growth is printed per step (time per instance against
 * the next smaller fleet) and as the exponent k of time ∝ size^k from 10 to 1,000 (1 = linear). Every call's answer is checked (a benchmark of failing calls would be fast and
 * meaningless): a start that is refused or a stop not verified by read-back throws.
 */
import { createServer, type Server } from 'node:http'
import { renewAll as renewOnAll, startAll as startOnAll } from '../src/engine/fan-out.js'
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

/**
 * `n` agents, each on its own loopback port (port 0), with {@link SERVICE} wrapped. `rttMs` delays
 * every answer by that much (a network round trip that loopback does not have).
 */
async function startFleet(n: number, rttMs = 0): Promise<Fleet> {
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
      const handle = agent.listener()
      const server = createServer(
        rttMs === 0 ? handle : (req, res) => void setTimeout(() => handle(req, res), rttMs),
      )
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

/** Start on every instance through the engine's own fan-out; anything but STARTED everywhere throws. */
async function startAll(fleet: Fleet, id: string): Promise<void> {
  const outcomes = await startOnAll(fleet.clients, experiment(id), { maxParallel: MAX_PARALLEL })
  for (const o of outcomes) if (o.status !== 'STARTED') throw o.error
}
/** Lease renewal on every instance (the engine's fan-out); a failed renewal throws. */
async function renewAll(fleet: Fleet, id: string): Promise<void> {
  const settled = await renewOnAll(fleet.clients, id, LEASE_SECONDS, { maxParallel: MAX_PARALLEL })
  const failed = settled.find((r) => r.status === 'rejected')
  if (failed) throw failed.reason as Error
}

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

/** A network round trip for the second 50-instance fleet (same zone, a few hops). */
const RTT_MS = 5

/** 50 instances: concurrent vs serial stop-all, and the start; on loopback, then with {@link RTT_MS}. */
async function fifty(log: (line: string) => void, rttMs: number): Promise<void> {
  const fleet = await startFleet(50, rttMs)
  const where = rttMs === 0 ? 'loopback' : `+${rttMs} ms RTT`
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
      `50 agents (${where}), stop --all: concurrent ${ms(c)}, serial ${ms(s)}, serial/concurrent ${(s / c).toFixed(1)}×`,
    )
    log(`  goal <= 1000 ms: ${verdict(c <= 1000)}`)
    const start = median(starts)
    log(`50 agents (${where}), start: ${ms(start)} (p-limit ${MAX_PARALLEL})`)
    log(`  goal <= 1000 ms: ${verdict(start <= 1000)}`)
  } finally {
    await fleet.close()
  }
}

/** Wall and CPU time (this process: the runner's side and every agent) of one fan-out. */
async function measured(fn: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage()
  const wall = await timed(fn)
  const cpu = process.cpuUsage(cpu0)
  return { wall, cpu: (cpu.user + cpu.system) / 1000 }
}

type Op = 'start' | 'renew' | 'stop'
const OPS: readonly Op[] = ['start', 'renew', 'stop']

/**
 * 10, 100, 1,000 instances: start, renew and stop-all, and their growth per instance. The growth is
 * judged on CPU time per instance: wall time on a shared machine moves with other processes' load,
 * while the CPU this process spends is the work the fleet size costs (both are printed).
 */
async function growth(log: (line: string) => void): Promise<void> {
  const sizes = [10, 100, 1000]
  const rows: { n: number; wall: Record<Op, number>; cpu: Record<Op, number> }[] = []
  for (const n of sizes) {
    const fleet = await startFleet(n)
    try {
      const samples = OPS.map(() => ({ wall: [] as number[], cpu: [] as number[] }))
      // More rounds for small fleets, whose few-ms fan-outs are noisy (a stable base for the growth).
      const rounds = Math.max(ROUNDS, Math.ceil(2000 / n))
      for (let round = -1; round < rounds; round++) {
        const id = `bench-${n}-${round + 1}`
        const runs = [
          await measured(() => startAll(fleet, id)),
          await measured(() => renewAll(fleet, id)),
          await measured(() => stopAllConcurrent(fleet)),
        ]
        if (round < 0) continue // warm-up
        runs.forEach((m, i) => {
          samples[i]!.wall.push(m.wall)
          samples[i]!.cpu.push(m.cpu)
        })
      }
      const pick = (k: 'wall' | 'cpu') =>
        Object.fromEntries(OPS.map((op, i) => [op, median(samples[i]![k])])) as Record<Op, number>
      rows.push({ n, wall: pick('wall'), cpu: pick('cpu') })
    } finally {
      await fleet.close()
    }
  }
  // Time per instance relative to the next smaller fleet: <= 1 is linear or better.
  const growthOf = (i: number, k: 'wall' | 'cpu', op: Op) =>
    i === 0 ? 1 : rows[i]![k][op] / rows[i]!.n / (rows[i - 1]![k][op] / rows[i - 1]!.n)
  log(
    `in-process agents (real HTTP, one process); start/renew bounded at ${MAX_PARALLEL}, stop-all = emergencyStop`,
  )
  for (const [i, row] of rows.entries()) {
    const cells = OPS.map((op) => {
      const name = op === 'stop' ? 'stop-all' : op
      const wallGrowth = growthOf(i, 'wall', op).toFixed(2)
      const cpuGrowth = growthOf(i, 'cpu', op).toFixed(2)
      return `${name} ${ms(row.wall[op])} (cpu ${ms(row.cpu[op])}; ×${wallGrowth} wall, ×${cpuGrowth} cpu)`
    })
    log(`${String(row.n).padStart(5)} instances: ${cells.join(', ')}`)
  }
  const last = rows[rows.length - 1]!
  // The exponent k of time ∝ size^k from the smallest to the largest fleet: 1 is linear. A little
  // above 1 is the bigger heap (1,000 agents' state in this one process), so up to 1.1 counts.
  const exponent = (k: 'wall' | 'cpu', op: Op) =>
    Math.log(last[k][op] / rows[0]![k][op]) / Math.log(last.n / rows[0]!.n)
  log(`  ×: time per instance relative to the next smaller fleet (1 = linear, below 1 = better)`)
  for (const op of OPS) {
    const cpu = exponent('cpu', op)
    log(
      `  ${op === 'stop' ? 'stop-all' : op}: time ∝ size^k, k = ${cpu.toFixed(2)} cpu, ${exponent('wall', op).toFixed(2)} wall; linear or better (cpu k <= 1.1): ${verdict(cpu <= 1.1)}`,
    )
  }
  log(`  stop-all at ${last.n}: ${ms(last.wall.stop)}, goal <= 5000 ms: ${verdict(last.wall.stop <= 5000)}`)
}

export default async function fleetBench(log: (line: string) => void): Promise<void> {
  await fifty(log, 0)
  await fifty(log, RTT_MS)
  await growth(log)
}
