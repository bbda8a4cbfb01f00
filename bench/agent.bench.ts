/**
 * Agent hot-path cost: throughput of a wrapped no-op async call vs the bare call, with no experiment
 * running (goal ≥ 0.95 of bare throughput) and with an experiment running on another service
 * (goal ≥ 0.9).
 *
 * Method: short bare and wrapped rounds alternate (ABBA order) and the median of the per-pair ratios
 * is reported, so drift affects both sides alike. Throughput is measured per CPU second of this
 * process (process.cpuUsage), which keeps other processes competing for the cores out of the ratio;
 * wall-clock ops/s are printed too. Each side has its own loop so each call site stays monomorphic, as
 * in real code where a call site calls one function.
 */
import { createChaosAgent } from '../src/agent/index.js'

const CALLS_PER_ROUND = 200_000
const PAIRS = 30

type Call = (x: number) => Promise<number>
interface Sample {
  cpu: number
  wall: number
}

function cpuMicros(): number {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

async function roundBare(fn: Call): Promise<Sample> {
  const wall = performance.now()
  const cpu = cpuMicros()
  let sum = 0
  for (let i = 0; i < CALLS_PER_ROUND; i++) sum += await fn(i)
  if (sum < 0) throw new Error('unreachable: keeps the result alive')
  return {
    cpu: CALLS_PER_ROUND / ((cpuMicros() - cpu) / 1e6),
    wall: CALLS_PER_ROUND / ((performance.now() - wall) / 1e3),
  }
}

// A literal copy of roundBare: its own call-site feedback.
async function roundWrapped(fn: Call): Promise<Sample> {
  const wall = performance.now()
  const cpu = cpuMicros()
  let sum = 0
  for (let i = 0; i < CALLS_PER_ROUND; i++) sum += await fn(i)
  if (sum < 0) throw new Error('unreachable: keeps the result alive')
  return {
    cpu: CALLS_PER_ROUND / ((cpuMicros() - cpu) / 1e6),
    wall: CALLS_PER_ROUND / ((performance.now() - wall) / 1e3),
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function compare(bare: Call, wrapped: Call) {
  for (let i = 0; i < 3; i++) {
    await roundBare(bare)
    await roundWrapped(wrapped)
  }
  const ratios: number[] = []
  const bareWall: number[] = []
  const wrappedWall: number[] = []
  for (let i = 0; i < PAIRS; i++) {
    let b: Sample
    let w: Sample
    if (i % 2 === 0) {
      b = await roundBare(bare)
      w = await roundWrapped(wrapped)
    } else {
      w = await roundWrapped(wrapped)
      b = await roundBare(bare)
    }
    ratios.push(w.cpu / b.cpu)
    bareWall.push(b.wall)
    wrappedWall.push(w.wall)
  }
  return { ratio: median(ratios), bareWall: median(bareWall), wrappedWall: median(wrappedWall) }
}

function mops(opsPerSecond: number): string {
  return `${(opsPerSecond / 1e6).toFixed(2)} M ops/s`
}

export default async function agentBench(log: (line: string) => void): Promise<void> {
  const agent = createChaosAgent({
    service: 'bench',
    enabled: true,
    token: 'bench-token-0123456789',
    env: {},
  })
  // The subject of the benchmark: an async function that does nothing.
  // eslint-disable-next-line @typescript-eslint/require-await
  const noop: Call = async (x) => x
  const wrapped = agent.wrap('bench_target', noop)
  agent.wrap('other_service', noop)

  const idle = await compare(noop, wrapped)
  log(`no experiment:               bare ${mops(idle.bareWall)}, wrapped ${mops(idle.wrappedWall)} (wall)`)
  log(`  ratio wrapped/bare:        ${idle.ratio.toFixed(3)} (goal >= 0.95)`)

  agent.startExperiment({
    id: 'bench_other',
    target_service: 'other_service',
    fault_config: { fault_type: 'LATENCY', probability: 1, latency_ms: 1000 },
    lease_seconds: 600,
  })
  const busy = await compare(noop, wrapped)
  log(`experiment on other service: bare ${mops(busy.bareWall)}, wrapped ${mops(busy.wrappedWall)} (wall)`)
  log(`  ratio wrapped/bare:        ${busy.ratio.toFixed(3)} (goal >= 0.9)`)
  await agent.close()
}
