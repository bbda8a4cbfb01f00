/**
 * Where an experiment's counters come from (`--metrics-source`, config `metrics_source`): each
 * instance's `/metrics` scraped and summed (`scrape`, the default), or Prometheus queried once for
 * the whole fleet (`prometheus`, with `--prometheus` and the fleet's `--metrics-selector`).
 */
import type { Clock } from '../clock.js'
import { InvalidInputError } from '../errors.js'
import { resolveMetricsSelector, type MetricsSource } from '../metrics/selector.js'
import type { MetricsProbe } from './probe.js'
import { createPromqlProbe } from './promql-probe.js'
import { createScrapeProbe } from './scrape-probe.js'

export { METRICS_SOURCES, resolveMetricsSelector, type MetricsSource } from '../metrics/selector.js'

/** The metrics probes of one experiment (or run) and how to release them. */
export interface MetricsProbes {
  /** One per instance (scrape), or one for the fleet (prometheus); the engine sums them. */
  probes: MetricsProbe[]
  close(): Promise<void>
}

/**
 * Creates the probes: per instance for `scrape` (`metricsUrls[i]` pairs with `targets[i]`, else
 * `<target>/metrics`), one PromQL probe for `prometheus`. Throws InvalidInputError when the
 * prometheus source lacks `--prometheus` or a selector, or the selector is not label matchers.
 */
export function createMetricsProbes(options: {
  source: MetricsSource
  targets: readonly string[]
  metricsUrls?: ReadonlyArray<string | undefined>
  prometheus?: string
  selector?: string
  discover?: readonly string[]
  clock?: Clock
}): MetricsProbes {
  if (options.source === 'prometheus') {
    if (options.prometheus === undefined)
      throw new InvalidInputError(
        '--metrics-source prometheus needs --prometheus URL',
        'e.g. --prometheus http://127.0.0.1:9090 (config prometheus)',
      )
    const probe = createPromqlProbe({
      prometheus: options.prometheus,
      selector: resolveMetricsSelector(options.selector, options.discover),
      clock: options.clock,
    })
    return { probes: [probe], close: () => probe.close() }
  }
  const probes = options.targets.map((target, i) =>
    createScrapeProbe({ target, metricsUrl: options.metricsUrls?.[i], clock: options.clock }),
  )
  return {
    probes,
    close: async () => {
      await Promise.all(probes.map((p) => p.close()))
    },
  }
}
