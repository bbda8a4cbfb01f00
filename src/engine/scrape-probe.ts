/**
 * The metrics probe of a real target: scrapes its Prometheus `/metrics` endpoint and reads the
 * counters the run record needs (breaker trips, faults injected for this experiment) and the
 * target service's circuit breaker state.
 */
import type { Clock } from '../clock.js'
import { counterSeries, findFamily, type Families } from '../metrics/prom-text.js'
import { createScraper, type MetricsScraper } from '../metrics/scraper.js'
import type { BreakerState } from '../record.js'
import { PROBE_METRICS, type MetricsProbe, type ProbeSample } from './probe.js'

const BREAKER_STATES: Record<number, BreakerState> = { 0: 'CLOSED', 1: 'HALF_OPEN', 2: 'OPEN' }

type Counters = 'breaker_trips' | 'faults_injected'
type Gauges = 'breaker_state'

/** A probe for one target instance, scraping `${target}/metrics` (or `metricsUrl`). */
export function createScrapeProbe(options: {
  target: string
  metricsUrl?: string
  timeoutMs?: number
  clock?: Clock
}): MetricsProbe & { close(): Promise<void> } {
  const url = options.metricsUrl ?? `${options.target.replace(/\/+$/, '')}/metrics`
  // One scraper per experiment id: the faults counter is filtered by the experiment label.
  const scrapers = new Map<string, MetricsScraper<Counters, Gauges>>()
  const scraperFor = (experimentId: string) => {
    let scraper = scrapers.get(experimentId)
    if (!scraper) {
      scraper = createScraper<Counters, Gauges>({
        url,
        timeoutMs: options.timeoutMs ?? 3000,
        clock: options.clock,
        counters: {
          breaker_trips: { metric: PROBE_METRICS.breaker_trips },
          faults_injected: {
            metric: PROBE_METRICS.faults_injected,
            labels: { experiment: experimentId },
          },
        },
        gauges: { breaker_state: { metric: 'circuit_breaker_state', by: 'target_service' } },
      })
      scrapers.set(experimentId, scraper)
    }
    return scraper
  }
  return {
    async sample(experimentId, targetService, signal): Promise<ProbeSample | null> {
      const outcome = await scraperFor(experimentId).poll(signal)
      if (!outcome.ok) return null
      const states = outcome.gauges.breaker_state
      const raw = states[targetService]
      // A family the target does not export is unknown (null), not 0.
      const { breaker_trips: trips, faults_injected: faults } = outcome.counters
      return {
        breaker_trips: trips.present ? trips.value : null,
        faults_injected: faults.present ? faults.value : null,
        breaker_state: raw === undefined ? null : (BREAKER_STATES[raw] ?? null),
        restarted: outcome.restarted,
        ...httpTotals(outcome.families),
      }
    },
    async close() {
      await Promise.all([...scrapers.values()].map((s) => s.close()))
      scrapers.clear()
    },
  }
}

/** Labels that name a request's route, and its status code, in common exporters. */
const ROUTE_LABELS = ['route', 'handler', 'path'] as const
const STATUS_LABELS = ['status', 'code', 'status_code'] as const

/**
 * Cumulative requests and error answers (status ≥ 400, as the runner counts its own) from
 * `http_requests_total`, leaving out the `/metrics` route: the probe's own scrapes are not traffic.
 * Errors are unknown (null) when the series carry no status label.
 */
function httpTotals(families: Families): { http_requests: number | null; http_errors: number | null } {
  if (findFamily(families, PROBE_METRICS.http_requests) === undefined)
    return { http_requests: null, http_errors: null }
  let requests = 0
  let errors = 0
  let unlabelled = false
  for (const s of counterSeries(families, PROBE_METRICS.http_requests)) {
    const route = ROUTE_LABELS.map((l) => s.labels[l]).find((v) => v !== undefined)
    if (route === '/metrics') continue
    requests += s.value
    const status = STATUS_LABELS.map((l) => s.labels[l]).find((v) => v !== undefined)
    if (status === undefined) unlabelled = true
    else if (Number(status) >= 400) errors += s.value
  }
  return { http_requests: requests, http_errors: unlabelled ? null : errors }
}
