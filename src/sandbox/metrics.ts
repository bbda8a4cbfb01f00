/**
 * The sandbox's Prometheus metrics, on the registry it shares with the agent. Gauges that mirror
 * live state (breaker state, pool usage, outbox and booking queue sizes) are read at scrape time, so they are never stale.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { DEPENDENCIES, type DependencyName } from './dependencies.js'
import { BREAKER_STATE_VALUE, type BreakerState } from './resilience.js'

/** Live state the scrape-time gauges read. */
export interface MetricSources {
  breakerState(target: DependencyName): BreakerState
  dbPoolInUse(): number
  dbPoolSize(): number
  outboxSize(channel: 'whatsapp' | 'gmail'): number
  pendingBookings(): number
}

export interface SandboxMetrics {
  httpRequests: Counter<'route' | 'status'>
  httpDuration: Histogram<'route'>
  breakerTrips: Counter<'target_service'>
  retries: Counter<'target_service'>
  cacheFallbacks: Counter
  bulkheadRejected: Counter
}

export function createSandboxMetrics(registry: Registry, sources: MetricSources): SandboxMetrics {
  const registers = [registry]
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests served, by route and status code',
    labelNames: ['route', 'status'] as const,
    registers,
  })
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  })
  new Gauge({
    name: 'circuit_breaker_state',
    help: 'Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open',
    labelNames: ['target_service'] as const,
    registers,
    collect() {
      for (const target of DEPENDENCIES)
        this.set({ target_service: target }, BREAKER_STATE_VALUE[sources.breakerState(target)])
    },
  })
  const breakerTrips = new Counter({
    name: 'circuit_breaker_trips_total',
    help: 'Times a circuit breaker opened, per dependency',
    labelNames: ['target_service'] as const,
    registers,
  })
  const retries = new Counter({
    name: 'retries_total',
    help: 'Retried dependency calls, per dependency',
    labelNames: ['target_service'] as const,
    registers,
  })
  const cacheFallbacks = new Counter({
    name: 'cache_fallbacks_total',
    help: 'Availability requests answered from the stale cache because the PMS failed',
    registers,
  })
  new Gauge({
    name: 'db_pool_in_use',
    help: 'Database connections checked out',
    registers,
    collect() {
      this.set(sources.dbPoolInUse())
    },
  })
  new Gauge({
    name: 'db_pool_size',
    help: 'Database connection pool size',
    registers,
    collect() {
      this.set(sources.dbPoolSize())
    },
  })
  const bulkheadRejected = new Counter({
    name: 'db_bulkhead_rejected_total',
    help: 'Database calls rejected at once because the pool and its queue were full',
    registers,
  })
  new Gauge({
    name: 'outbox_messages',
    help: 'Messages waiting in the degraded-mode outbox, per channel',
    labelNames: ['channel'] as const,
    registers,
    collect() {
      for (const channel of ['whatsapp', 'gmail'] as const) this.set({ channel }, sources.outboxSize(channel))
    },
  })
  new Gauge({
    name: 'pending_bookings',
    help: 'Bookings queued while the PMS rate-limited us, waiting for the background drain',
    registers,
    collect() {
      this.set(sources.pendingBookings())
    },
  })
  // Counters start at 0 per dependency so that the first scrape already has a baseline for deltas.
  for (const target of DEPENDENCIES) {
    breakerTrips.inc({ target_service: target }, 0)
    retries.inc({ target_service: target }, 0)
  }
  return { httpRequests, httpDuration, breakerTrips, retries, cacheFallbacks, bulkheadRejected }
}
