/**
 * The metrics probe of a real target: scrapes its Prometheus `/metrics` endpoint and reads the
 * counters the run record needs (breaker trips, faults injected for this experiment) and the
 * target service's circuit breaker state.
 */
import type { Clock } from '../clock.js'
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
      }
    },
    async close() {
      await Promise.all([...scrapers.values()].map((s) => s.close()))
      scrapers.clear()
    },
  }
}
