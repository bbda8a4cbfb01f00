/**
 * Sandbox throughput with the chaos agent mounted vs the same sandbox without it (goal ≥ 0.97).
 *
 * Method: two sandboxes in this process (base latency 0, so the route's own work is measured), the
 * agent-less one built with `withAgent: false`. autocannon (programmatic, same process) drives one
 * route in short rounds that alternate in ABBA order; the median of the per-pair ratios is printed.
 * Throughput is counted per CPU second of this process (client and server share it), which keeps
 * other processes competing for the cores out of the ratio; wall-clock req/s are printed too.
 */
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { loadAutocannon, median } from './support.js'

const ROUND_SECONDS = 1
const PAIRS = 10
const CONNECTIONS = 10

interface Sample {
  cpu: number
  wall: number
}

function cpuSeconds(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

export default async function (log: (line: string) => void): Promise<void> {
  const autocannon = await loadAutocannon()

  const common = { baseLatencyMs: 0, defaultMetrics: false }
  const withAgent = await startSandbox({ ...common, token: 'bench-token-0123456789' })
  const without = await startSandbox({ ...common, withAgent: false })
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)
  const routes = [`/api/availability?check_in=${day(10)}&check_out=${day(12)}`, '/health']

  async function round(sandbox: Sandbox, path: string): Promise<Sample> {
    const cpu = cpuSeconds()
    const result = await autocannon({
      url: sandbox.url + path,
      connections: CONNECTIONS,
      duration: ROUND_SECONDS,
    })
    const used = cpuSeconds() - cpu
    if (result.non2xx || result.errors || result.timeouts) {
      throw new Error(`bench round against ${path} had failures: ${JSON.stringify(result)}`)
    }
    return { cpu: result.requests.total / used, wall: result.requests.total / ROUND_SECONDS }
  }

  try {
    log(
      `route                                   | agent req/s | bare req/s | ratio (median of ${PAIRS} ABBA pairs, per CPU s)`,
    )
    for (const path of routes) {
      await round(withAgent, path) // warm-up: JIT, connections
      await round(without, path)
      const ratios: number[] = []
      const agentWall: number[] = []
      const bareWall: number[] = []
      for (let i = 0; i < PAIRS; i++) {
        const order = i % 2 === 0 ? ([withAgent, without] as const) : ([without, withAgent] as const)
        const first = await round(order[0], path)
        const second = await round(order[1], path)
        const [agent, bare] = order[0] === withAgent ? [first, second] : [second, first]
        ratios.push(agent.cpu / bare.cpu)
        agentWall.push(agent.wall)
        bareWall.push(bare.wall)
      }
      const label = path.startsWith('/api/availability') ? 'GET /api/availability' : `GET ${path}`
      log(
        `${label.padEnd(39)} | ${median(agentWall).toFixed(0).padStart(11)} | ${median(bareWall).toFixed(0).padStart(10)} | ` +
          `${median(ratios).toFixed(3)} (goal >= 0.97; pairs ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
      )
    }
  } finally {
    await withAgent.close()
    await without.close()
  }
}
