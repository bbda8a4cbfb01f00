/**
 * `/metrics` of the long-running modes (`--metrics-port`), so Prometheus can alert when the monkey
 * stops reporting or an experiment stays active too long. The metric names are a contract with
 * deploy/prometheus/chaos-rules.yml and the Grafana dashboard: do not rename them.
 */
import { createServer, type Server } from 'node:http'
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

/** What the monkey loop reports. */
export interface MonkeyMetrics {
  check(nowMs: number): void
  experimentStarted(experiment: string): void
  experimentFinished(experiment: string, outcome: string): void
}

/** The monkey's metrics, registered in `registry`. */
export function createMonkeyMetrics(registry: Registry): MonkeyMetrics {
  const checks = new Counter({
    name: 'chaos_monkey_checks_total',
    help: 'Coin-flip checks made by the chaos monkey',
    registers: [registry],
  })
  const started = new Counter({
    name: 'chaos_monkey_experiments_started_total',
    help: 'Experiments the chaos monkey started',
    registers: [registry],
  })
  const outcomes = new Counter({
    name: 'chaos_monkey_experiment_outcomes_total',
    help: 'Finished monkey experiments by outcome (PASSED, FAILED, INCONCLUSIVE, ABORTED, INTERRUPTED, ERROR, NOT_STARTED, DRY_RUN)',
    labelNames: ['outcome'],
    registers: [registry],
  })
  const active = new Gauge({
    name: 'chaos_monkey_active_experiment',
    help: 'Whether the monkey is running this experiment now (1) or not (0)',
    labelNames: ['experiment'],
    registers: [registry],
  })
  const lastCheck = new Gauge({
    name: 'chaos_monkey_last_check_timestamp_seconds',
    help: 'Unix time of the last monkey check (alert when it stops advancing)',
    registers: [registry],
  })
  // Present from the first scrape, so rate() and absent() behave before the first experiment.
  started.inc(0)
  return {
    check(nowMs) {
      checks.inc()
      lastCheck.set(nowMs / 1000)
    },
    experimentStarted(experiment) {
      started.inc()
      active.set({ experiment }, 1)
    },
    experimentFinished(experiment, outcome) {
      active.set({ experiment }, 0)
      outcomes.inc({ outcome })
    },
  }
}

/** What the scheduler reports. */
export interface ScheduleMetrics {
  tick(nowMs: number): void
  nextRun(schedule: string, atMs: number): void
  runStarted(schedule: string, experiments: readonly string[]): void
  runFinished(schedule: string, experiments: readonly string[], outcome: string): void
}

/** The scheduler's metrics, registered in `registry`. */
export function createScheduleMetrics(registry: Registry): ScheduleMetrics {
  const last = new Gauge({
    name: 'chaos_schedule_last_tick_timestamp_seconds',
    help: 'Unix time the scheduler last woke up (alert when it stops advancing)',
    registers: [registry],
  })
  const next = new Gauge({
    name: 'chaos_schedule_next_run_timestamp_seconds',
    help: 'Unix time of the next run of each schedule',
    labelNames: ['schedule'],
    registers: [registry],
  })
  const runs = new Counter({
    name: 'chaos_schedule_runs_started_total',
    help: 'Scheduled runs started, per schedule',
    labelNames: ['schedule'],
    registers: [registry],
  })
  const outcomes = new Counter({
    name: 'chaos_schedule_run_outcomes_total',
    help: 'Finished scheduled runs by schedule and outcome',
    labelNames: ['schedule', 'outcome'],
    registers: [registry],
  })
  const active = new Gauge({
    name: 'chaos_schedule_active_experiment',
    help: 'Whether a scheduled run of this experiment is running now (1) or not (0)',
    labelNames: ['experiment'],
    registers: [registry],
  })
  return {
    tick: (nowMs) => last.set(nowMs / 1000),
    nextRun: (schedule, atMs) => next.set({ schedule }, atMs / 1000),
    runStarted(schedule, experiments) {
      runs.inc({ schedule })
      for (const experiment of experiments) active.set({ experiment }, 1)
    },
    runFinished(schedule, experiments, outcome) {
      for (const experiment of experiments) active.set({ experiment }, 0)
      outcomes.inc({ schedule, outcome })
    },
  }
}

/** A registry with the process metrics (memory, event loop lag) next to the mode's own. */
export function createRegistry(options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry()
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry })
  return registry
}

export interface MetricsServer {
  /** `http://host:port/metrics`. */
  url: string
  close(): Promise<void>
}

/** Serves `GET /metrics` of `registry` on `host:port` (port 0 = any free port). */
export async function serveMetrics(
  registry: Registry,
  options: { port: number; host: string },
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
