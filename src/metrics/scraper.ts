/**
 * Scrapes a target's `/metrics` and turns counters into per-poll deltas.
 *
 * Deltas are computed per series (label set) and then summed, so one series restarting cannot
 * hide behind another one growing. Counters only go down when the process restarted, so any
 * followed series going down, or a changed `process_start_time_seconds` (prom-client default
 * metric), marks a restart: every series' new value is then its delta (all it counted since the
 * restart) and the readings say `restarted`. A series that appears after the
 * first poll counts in full (prom-client only exports a labelled counter once it was incremented).
 * The first successful poll is the baseline: every delta is 0.
 *
 * Failed polls (timeout, connection, HTTP status, unparsable body) do not throw: they are
 * reported with the number of consecutive failures, which the engine turns into an abort after 3.
 * The next successful poll's deltas cover the gap.
 */
import type { Dispatcher } from 'undici'
import { systemClock, type Clock } from '../clock.js'
import { createDispatcher, FetchFailure, getText, type FetchFailureKind } from './http-get.js'
import {
  counterSeries,
  findFamily,
  gaugeValues,
  labelsKey,
  parsePrometheusText,
  PromTextParseError,
  type Families,
  type LabelFilter,
  type Labels,
} from './prom-text.js'

/** A counter to follow: its metric name (with or without `_total`) and optional label filter. */
export interface CounterSpec {
  metric: string
  labels?: LabelFilter
  /** A further test on each series' labels, for what a filter cannot say (e.g. "status ≥ 400"). */
  where?: (labels: Labels) => boolean
}

/** A gauge to read; `by` names the label whose value keys the result (e.g. `target_service`). */
export interface GaugeSpec {
  metric: string
  labels?: LabelFilter
  by?: string
}

/** Counters the guide's reports need, with the sandbox's metric names. */
export const STANDARD_COUNTERS = {
  circuit_breaker_trips: { metric: 'circuit_breaker_trips_total' },
  faults_injected: { metric: 'chaos_agent_faults_injected_total' },
  http_requests: { metric: 'http_requests_total' },
} as const satisfies Record<string, CounterSpec>

/** Gauges the guide's reports need: breaker state (0 closed, 1 half-open, 2 open) per service. */
export const STANDARD_GAUGES = {
  circuit_breaker_state: { metric: 'circuit_breaker_state', by: 'target_service' },
} as const satisfies Record<string, GaugeSpec>

export interface ScraperOptions<C extends string = string, G extends string = string> {
  /** Full URL of the metrics endpoint, e.g. `http://127.0.0.1:3000/metrics`. */
  url: string
  /** Per-poll timeout (default 5 000 ms). */
  timeoutMs?: number
  headers?: Record<string, string>
  counters?: Record<C, CounterSpec>
  gauges?: Record<G, GaugeSpec>
  clock?: Clock
  /** Share a dispatcher; by default the scraper owns one (closed by close()). */
  dispatcher?: Dispatcher
}

/** A counter's reading at one poll. */
export interface CounterReading {
  /** Current sum over the matching series. */
  value: number
  /** Increase since the previous successful poll (0 at the first). */
  delta: number
  /** Sum of deltas since the first successful poll (like PromQL increase()). */
  total: number
  /** The target restarted since the previous successful poll (a followed series went down, or the process start time changed). */
  restarted: boolean
  /**
   * The metric family is in the scrape (declared by `# TYPE`/`# HELP` or by a sample). False means
   * the target does not export it at all, which is not the same as 0: the value is then unknown.
   */
  present: boolean
}

export interface ScrapeSuccess<C extends string = string, G extends string = string> {
  ok: true
  /** Wall-clock epoch ms when the poll finished. */
  at: number
  duration_ms: number
  counters: Record<C, CounterReading>
  /** Gauge values keyed by the `by` label's value (or the full label set, `{a="b"}`, without `by`). */
  gauges: Record<G, Record<string, number>>
  /** The target restarted since the previous successful poll. */
  restarted: boolean
  consecutive_failures: 0
  families: Families
}

export interface ScrapeFailure {
  ok: false
  at: number
  duration_ms: number
  kind: FetchFailureKind | 'PARSE'
  error: string
  consecutive_failures: number
}

export type ScrapeOutcome<C extends string = string, G extends string = string> =
  ScrapeSuccess<C, G> | ScrapeFailure

export interface MetricsScraper<C extends string = string, G extends string = string> {
  /** Scrapes once. Never throws for target problems; rejects only if `signal` aborts. */
  poll(signal?: AbortSignal): Promise<ScrapeOutcome<C, G>>
  /** Failed polls in a row (0 after a success). */
  readonly consecutiveFailures: number
  close(): Promise<void>
}

/** Fetches and parses a metrics endpoint once; throws FetchFailure or PromTextParseError. */
export async function scrapeMetrics(
  url: string,
  options: {
    timeoutMs?: number
    headers?: Record<string, string>
    signal?: AbortSignal
    clock?: Clock
    dispatcher?: Dispatcher
  } = {},
): Promise<Families> {
  const { text } = await getText(url, {
    timeoutMs: options.timeoutMs ?? 5000,
    headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1', ...options.headers },
    signal: options.signal,
    clock: options.clock,
    dispatcher: options.dispatcher,
  })
  return parsePrometheusText(text)
}

/** Creates a scraper that follows the given counters and gauges. */
export function createScraper<C extends string = never, G extends string = never>(
  options: ScraperOptions<C, G>,
): MetricsScraper<C, G> {
  const clock = options.clock ?? systemClock
  const ownDispatcher = options.dispatcher ? null : createDispatcher()
  const dispatcher = options.dispatcher ?? ownDispatcher!
  const counterSpecs = Object.entries(options.counters ?? {}) as Array<[C, CounterSpec]>
  const gaugeSpecs = Object.entries(options.gauges ?? {}) as Array<[G, GaugeSpec]>

  let failures = 0
  let baselineTaken = false
  let startTime: number | undefined
  const previous = new Map<C, Map<string, number>>()
  const totals = new Map<C, number>()

  const poll = async (signal?: AbortSignal): Promise<ScrapeOutcome<C, G>> => {
    const started = clock.monotonic()
    let families: Families
    try {
      families = await scrapeMetrics(options.url, {
        timeoutMs: options.timeoutMs,
        headers: options.headers,
        signal,
        clock,
        dispatcher,
      })
    } catch (err) {
      if (signal?.aborted) throw err
      failures++
      const kind =
        err instanceof FetchFailure ? err.kind : err instanceof PromTextParseError ? 'PARSE' : 'OTHER'
      return {
        ok: false,
        at: clock.now(),
        duration_ms: clock.monotonic() - started,
        kind,
        error: err instanceof Error ? err.message : String(err),
        consecutive_failures: failures,
      }
    }
    failures = 0

    const newStart = gaugeValues(families, 'process_start_time_seconds')[0]?.value
    const processRestarted =
      baselineTaken && newStart !== undefined && startTime !== undefined && newStart !== startTime
    if (newStart !== undefined) startTime = newStart

    // Counters only go down when the process restarted, so a drop in any followed series means
    // every series restarted: each then counts its whole current value.
    const seriesBySpec = counterSpecs.map(([key, spec]) => {
      const present = findFamily(families, spec.metric) !== undefined
      const current = new Map<string, number>()
      for (const s of counterSeries(families, spec.metric, spec.labels)) {
        if (spec.where && !spec.where(s.labels)) continue
        const id = labelsKey(s.labels)
        current.set(id, (current.get(id) ?? 0) + s.value)
      }
      return [key, current, present] as const
    })
    const dropped = seriesBySpec.some(([key, current]) => {
      const prev = previous.get(key)
      return prev !== undefined && [...current].some(([id, v]) => v < (prev.get(id) ?? -Infinity))
    })
    const restarted = baselineTaken && (processRestarted || dropped)

    const counters = {} as Record<C, CounterReading>
    for (const [key, current, present] of seriesBySpec) {
      const prev = previous.get(key) ?? new Map<string, number>()
      let value = 0
      let delta = 0
      for (const [id, v] of current) {
        value += v
        if (!baselineTaken) continue
        const before = prev.get(id)
        delta += restarted || before === undefined ? v : v - before
      }
      previous.set(key, current)
      const total = (totals.get(key) ?? 0) + delta
      totals.set(key, total)
      counters[key] = { value, delta, total, restarted, present }
    }
    baselineTaken = true

    const gauges = {} as Record<G, Record<string, number>>
    for (const [key, spec] of gaugeSpecs) {
      const values: Record<string, number> = {}
      for (const s of gaugeValues(families, spec.metric, spec.labels)) {
        values[spec.by ? (s.labels[spec.by] ?? '') : labelsKey(s.labels)] = s.value
      }
      gauges[key] = values
    }

    return {
      ok: true,
      at: clock.now(),
      duration_ms: clock.monotonic() - started,
      counters,
      gauges,
      restarted,
      consecutive_failures: 0,
      families,
    }
  }

  return {
    poll,
    get consecutiveFailures() {
      return failures
    },
    close: async () => {
      await ownDispatcher?.close()
    },
  }
}
