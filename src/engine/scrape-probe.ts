/**
 * The metrics probe of a real target: scrapes its Prometheus `/metrics` endpoint and reads the
 * counters the run record needs (breaker trips, faults injected for this experiment, requests
 * served and failed) and the target service's circuit breaker state.
 *
 * Counters are reported monotonic across the target's restarts: the first reading of an experiment
 * plus everything counted since (the scraper's per-series `total`, like PromQL `increase()`), not
 * the raw value that drops to 0 when the process restarts. The engine subtracts readings and adds
 * instances up ({@link combineSamples}); with raw values, one instance restarting while the others
 * keep counting would make the fleet's sum go down and hide what every instance counted.
 */
import type { Clock } from '../clock.js'
import { counterSeries, findFamily, type Families } from '../metrics/prom-text.js'
import { createScraper, type CounterReading, type MetricsScraper } from '../metrics/scraper.js'
import type { BreakerState } from '../record.js'
import { isErrorSeries, isMetricsRoute, statusOf } from './http-series.js'
import { PROBE_METRICS, type MetricsProbe, type ProbeSample } from './probe.js'

/** The breaker state gauge's values (0 closed, 1 half-open, 2 open). */
export const BREAKER_STATES: Record<number, BreakerState> = { 0: 'CLOSED', 1: 'HALF_OPEN', 2: 'OPEN' }

type Counters = 'breaker_trips' | 'faults_injected' | 'http_requests' | 'http_errors'
type Gauges = 'breaker_state'

/** A probe for one target instance, scraping `${target}/metrics` (or `metricsUrl`). */
export function createScrapeProbe(options: {
  target: string
  metricsUrl?: string
  timeoutMs?: number
  clock?: Clock
}): MetricsProbe & { close(): Promise<void> } {
  const url = options.metricsUrl ?? `${options.target.replace(/\/+$/, '')}/metrics`
  // One scraper per experiment id: the faults counter is filtered by the experiment label, and
  // the experiment's first reading is the base its monotonic counters start from.
  const scrapers = new Map<
    string,
    { scraper: MetricsScraper<Counters, Gauges>; base?: Record<Counters, number> }
  >()
  const scraperFor = (experimentId: string) => {
    let entry = scrapers.get(experimentId)
    if (!entry) {
      const scraper = createScraper<Counters, Gauges>({
        url,
        timeoutMs: options.timeoutMs ?? 3000,
        clock: options.clock,
        counters: {
          breaker_trips: { metric: PROBE_METRICS.breaker_trips },
          faults_injected: {
            metric: PROBE_METRICS.faults_injected,
            labels: { experiment: experimentId },
          },
          http_requests: { metric: PROBE_METRICS.http_requests, where: (l) => !isMetricsRoute(l) },
          http_errors: { metric: PROBE_METRICS.http_requests, where: isErrorSeries },
        },
        gauges: { breaker_state: { metric: 'circuit_breaker_state', by: 'target_service' } },
      })
      entry = { scraper }
      scrapers.set(experimentId, entry)
    }
    return entry
  }
  return {
    async sample(experimentId, targetService, signal): Promise<ProbeSample | null> {
      const entry = scraperFor(experimentId)
      const outcome = await entry.scraper.poll(signal)
      if (!outcome.ok) return null
      const { counters } = outcome
      // The scraper's first success is its baseline (every total 0): its values are the base.
      entry.base ??= {
        breaker_trips: counters.breaker_trips.value,
        faults_injected: counters.faults_injected.value,
        http_requests: counters.http_requests.value,
        http_errors: counters.http_errors.value,
      }
      const base = entry.base
      // A family the target does not export is unknown (null), not 0.
      const monotonic = (key: Counters, reading: CounterReading) =>
        reading.present ? base[key] + reading.total : null
      const raw = outcome.gauges.breaker_state[targetService]
      return {
        breaker_trips: monotonic('breaker_trips', counters.breaker_trips),
        faults_injected: monotonic('faults_injected', counters.faults_injected),
        breaker_state: raw === undefined ? null : (BREAKER_STATES[raw] ?? null),
        restarted: outcome.restarted,
        http_requests: monotonic('http_requests', counters.http_requests),
        http_errors: errorsKnown(outcome.families) ? monotonic('http_errors', counters.http_errors) : null,
      }
    },
    async close() {
      await Promise.all([...scrapers.values()].map((s) => s.scraper.close()))
      scrapers.clear()
    },
  }
}

/**
 * Errors can be told apart only when every traffic series of http_requests_total carries a
 * status label; otherwise they are unknown (null), not 0.
 */
function errorsKnown(families: Families): boolean {
  if (findFamily(families, PROBE_METRICS.http_requests) === undefined) return false
  return counterSeries(families, PROBE_METRICS.http_requests).every(
    (s) => isMetricsRoute(s.labels) || statusOf(s.labels) !== undefined,
  )
}
