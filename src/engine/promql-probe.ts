/**
 * The fleet's metrics probe read from Prometheus (`--metrics-source prometheus`): one probe for
 * every instance of the job, with PromQL over the series the metrics selector picks (e.g.
 * `job="hotel"`) instead of scraping each instance's `/metrics`.
 *
 * Counters: the probe asks for every series (`chaos_agent_faults_injected_total{experiment="<id>",
 * <selector>}`, `circuit_breaker_trips_total{<selector>}`, `http_requests_total{<selector>}`) and
 * sums them itself, per series, restart-safe: a series that went down, or an instance whose
 * `process_start_time_seconds` changed, restarted, and then counts its whole new value, as the
 * scraper and PromQL's `increase()` do. Each reading is the experiment's first sum plus every
 * increase since, so it never goes down and the difference of two readings is exactly what the
 * fleet counted between them. Why not `sum(x)`: a sum drops when one instance restarts and hides
 * what the others counted. Why not `sum(increase(x[w]))`: increase() extrapolates to the window's
 * edges (fractions of a fault) and its window would have to cover the whole experiment, so two
 * readings would not subtract to an exact count. A series missing from one reading (its instance
 * down, a failed scrape) keeps its last value, so it neither counts twice nor goes backwards when
 * it comes back.
 *
 * A family no target of the selector exports (no series, and no target declares it in its last
 * scrape: the targets metadata API) reads null (not measured), never 0. The breaker state is
 * `max(circuit_breaker_state{target_service="<svc>", <selector>})`: the worst of the fleet.
 *
 * Prometheus sees a counter only at its next scrape: readings lag by up to the scrape interval, so
 * the engine's poll interval should be at least the scrape interval (docs/observability.md).
 */
import { sleep, systemClock, type Clock } from '../clock.js'
import { createPromqlClient, PromqlError, type PromqlClient, type VectorSample } from '../metrics/promql.js'
import { formatSelector, parseSelector } from '../metrics/selector.js'
import type { Labels } from '../metrics/prom-text.js'
import { isErrorSeries, isMetricsRoute, statusOf } from './http-series.js'
import { PROBE_METRICS, type MetricsProbe, type ProbeSample } from './probe.js'
import { BREAKER_STATES } from './scrape-probe.js'

/** How often settle() asks whether Prometheus has scraped again. */
const SETTLE_POLL_MS = 100

/** The counter families the probe follows. */
type Family = 'faults' | 'trips' | 'http'

const FAMILY_METRIC: Record<Family, string> = {
  faults: PROBE_METRICS.faults_injected,
  trips: PROBE_METRICS.breaker_trips,
  http: PROBE_METRICS.http_requests,
}

/** The counters a sample reports, each a sum over some series of one family. */
const COUNTERS = {
  faults_injected: { family: 'faults', counts: () => true },
  breaker_trips: { family: 'trips', counts: () => true },
  http_requests: { family: 'http', counts: (l: Labels) => !isMetricsRoute(l) },
  http_errors: { family: 'http', counts: isErrorSeries },
} as const satisfies Record<string, { family: Family; counts: (l: Labels) => boolean }>
type Counter = keyof typeof COUNTERS

export interface PromqlProbeOptions {
  /** Prometheus base URL (`--prometheus`), or a client to share (then not closed by close()). */
  prometheus: string | PromqlClient
  /** The fleet's label matchers (`--metrics-selector`), e.g. `job="hotel"`; braces optional. */
  selector: string
  /** Per-query timeout (default 3 000 ms, as a scrape's). */
  timeoutMs?: number
  /** Longest settle() wait (default 15 000 ms); a scrape interval longer than it cannot settle. */
  settleTimeoutMs?: number
  clock?: Clock
}

/** A probe for the whole fleet, reading Prometheus. */
export interface PromqlProbe extends MetricsProbe {
  /** The normalised selector, as the queries use it. */
  readonly selector: string
  /**
   * Whether Prometheus can be asked and the selector picks targets: the instances (`instance`
   * labels of `up{<selector>}`) and how many are up. Throws PromqlError when Prometheus cannot be
   * queried. For preflight: a selector matching no target would leave every counter null.
   */
  check(signal?: AbortSignal): Promise<{ instances: string[]; up: number }>
  /**
   * Waits until Prometheus has scraped every target of the selector (up or down) after `afterMs`,
   * polling `timestamp(up{<selector>})`: a reading taken then includes everything the fleet counted
   * before `afterMs`. False when that is not so within `settleTimeoutMs`, or on abort, or when
   * Prometheus cannot be queried. The engine calls it after the rollback, before the reading that
   * later ones are compared to (faults after the rollback), so counts from before the rollback
   * that Prometheus had not scraped yet are not mistaken for faults that outlived it.
   */
  settle(afterMs: number, signal?: AbortSignal): Promise<boolean>
  close(): Promise<void>
}

/** One series' last value and the instance it belongs to. */
interface Seen {
  instance: string
  value: number
}

/** What the probe remembers of one experiment's readings. */
interface ExperimentState {
  last: Record<Family, Map<string, Seen>>
  /** Each counter's sum at the experiment's first reading, plus every increase since. */
  reading: Partial<Record<Counter, number>>
  /** Families some target exported during this experiment (stays true: unknown → known only). */
  exported: Set<Family>
  startTimes: Map<string, number>
  first: boolean
}

/** The target an instant-vector series comes from (Prometheus adds `job` and `instance`). */
function instanceOf(metric: Record<string, string>): string {
  return `${metric.job ?? ''}/${metric.instance ?? ''}`
}

function seriesKey(metric: Record<string, string>): string {
  return Object.keys(metric)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`)
    .join(',')
}

/** Creates the PromQL-backed probe of a fleet. Throws InvalidInputError for a bad selector. */
export function createPromqlProbe(options: PromqlProbeOptions): PromqlProbe {
  const selector = formatSelector(parseSelector(options.selector))
  const clock = options.clock ?? systemClock
  const owned = typeof options.prometheus === 'string'
  const client =
    typeof options.prometheus === 'string'
      ? createPromqlClient({ baseUrl: options.prometheus, timeoutMs: options.timeoutMs ?? 3000, clock })
      : options.prometheus
  const states = new Map<string, ExperimentState>()

  const vector = async (query: string, time: number, signal?: AbortSignal): Promise<VectorSample[]> => {
    const result = await client.instant(query, { time, signal })
    if (result.type !== 'vector')
      throw new PromqlError(`PromQL query "${query}" returned a scalar, not series`, 'UNSUPPORTED_RESULT')
    return result.samples
  }

  /** Whether some target of the selector declares the family, though it has no series yet. */
  const declared = async (family: Family, signal?: AbortSignal): Promise<boolean> => {
    const metric = FAMILY_METRIC[family]
    // OpenMetrics exporters declare a counter `x` whose samples are `x_total`.
    for (const name of [metric, metric.replace(/_total$/, '')]) {
      if ((await client.targetsExporting(name, `{${selector}}`, { signal })).length > 0) return true
    }
    return false
  }

  const sample = async (
    experimentId: string,
    targetService: string,
    signal?: AbortSignal,
  ): Promise<ProbeSample | null> => {
    const time = clock.now()
    const st = ensure(experimentId)
    const queries: Record<Family, string> = {
      faults: `${FAMILY_METRIC.faults}{experiment=${JSON.stringify(experimentId)},${selector}}`,
      trips: `${FAMILY_METRIC.trips}{${selector}}`,
      http: `${FAMILY_METRIC.http}{${selector}}`,
    }
    let series: Record<Family, VectorSample[]>
    let starts: VectorSample[]
    let worst: number | null
    try {
      const [faults, trips, http, startTimes, state] = await Promise.all([
        vector(queries.faults, time, signal),
        vector(queries.trips, time, signal),
        vector(queries.http, time, signal),
        vector(`process_start_time_seconds{${selector}}`, time, signal),
        client.query(
          `max(circuit_breaker_state{target_service=${JSON.stringify(targetService)},${selector}})`,
          { time, signal },
        ),
      ])
      series = { faults, trips, http }
      starts = startTimes
      worst = state
      // Known once: a family that had series, or a declaration at the experiment's first reading,
      // stays measured. The metadata API is asked at the first reading only: a family that starts
      // later shows up as series, so asking again every poll would only repeat the same answer.
      for (const family of Object.keys(series) as Family[]) {
        if (
          series[family].length > 0 ||
          st.exported.has(family) ||
          (st.first && (await declared(family, signal)))
        )
          st.exported.add(family)
      }
    } catch (err) {
      if (signal?.aborted) throw err
      // Prometheus unreachable or refusing: this reading is unknown, as a failed scrape is.
      if (err instanceof PromqlError) return null
      throw err
    }

    // An instance restarted when its start time changed or any of its series went down.
    const restartedInstances = new Set<string>()
    for (const s of starts) {
      const id = instanceOf(s.metric)
      const before = st.startTimes.get(id)
      if (!st.first && before !== undefined && before !== s.value) restartedInstances.add(id)
      st.startTimes.set(id, s.value)
    }
    for (const family of Object.keys(series) as Family[]) {
      for (const s of series[family]) {
        const before = st.last[family].get(seriesKey(s.metric))
        if (before !== undefined && s.value < before.value) restartedInstances.add(instanceOf(s.metric))
      }
    }

    // A restarted instance's series missing from this reading start again from 0 when they return.
    for (const family of Object.keys(series) as Family[]) {
      const present = new Set(series[family].map((s) => seriesKey(s.metric)))
      for (const [key, seen] of st.last[family])
        if (restartedInstances.has(seen.instance) && !present.has(key)) st.last[family].delete(key)
    }

    for (const family of Object.keys(series) as Family[]) {
      const last = st.last[family]
      const increases = new Map<Counter, number>()
      const firstSums = new Map<Counter, number>()
      for (const s of series[family]) {
        const key = seriesKey(s.metric)
        const before = last.get(key)
        const instance = instanceOf(s.metric)
        // A new series counts in full (prom-client exports a labelled counter once incremented),
        // except at the first reading, which is the base.
        const increase = st.first
          ? 0
          : restartedInstances.has(instance) || before === undefined
            ? s.value
            : s.value - before.value
        last.set(key, { instance, value: s.value })
        for (const [name, spec] of Object.entries(COUNTERS) as Array<[Counter, (typeof COUNTERS)[Counter]]>) {
          if (spec.family !== family || !spec.counts(s.metric)) continue
          increases.set(name, (increases.get(name) ?? 0) + increase)
          if (st.first) firstSums.set(name, (firstSums.get(name) ?? 0) + s.value)
        }
      }
      for (const [name, spec] of Object.entries(COUNTERS) as Array<[Counter, (typeof COUNTERS)[Counter]]>) {
        if (spec.family !== family) continue
        st.reading[name] = st.first
          ? (firstSums.get(name) ?? 0)
          : (st.reading[name] ?? 0) + (increases.get(name) ?? 0)
      }
    }
    st.first = false

    const value = (name: Counter) => (st.exported.has(COUNTERS[name].family) ? (st.reading[name] ?? 0) : null)
    // Errors are known only when every traffic series says its status.
    const statusKnown = series.http.every((s) => isMetricsRoute(s.metric) || statusOf(s.metric) !== undefined)
    return {
      faults_injected: value('faults_injected'),
      breaker_trips: value('breaker_trips'),
      breaker_state: worst === null ? null : (BREAKER_STATES[worst] ?? null),
      restarted: restartedInstances.size > 0,
      http_requests: value('http_requests'),
      http_errors: statusKnown ? value('http_errors') : null,
    }
  }

  function ensure(experimentId: string): ExperimentState {
    let st = states.get(experimentId)
    if (!st) {
      st = {
        last: { faults: new Map(), trips: new Map(), http: new Map() },
        reading: {},
        exported: new Set(),
        startTimes: new Map(),
        first: true,
      }
      states.set(experimentId, st)
    }
    return st
  }

  return {
    selector,
    sample,
    async check(signal) {
      const up = await vector(`up{${selector}}`, clock.now(), signal)
      return {
        instances: up.map((s) => s.metric.instance ?? instanceOf(s.metric)).sort(),
        up: up.filter((s) => s.value === 1).length,
      }
    },
    async settle(afterMs, signal) {
      const deadline = clock.monotonic() + (options.settleTimeoutMs ?? 15_000)
      for (;;) {
        if (signal?.aborted) return false
        let scraped: VectorSample[]
        try {
          scraped = await vector(`timestamp(up{${selector}})`, clock.now(), signal)
        } catch {
          return false
        }
        // No target selected: no count can be pending (preflight refuses such a selector anyway).
        if (scraped.length === 0) return true
        // Seconds, the scrape's start: the counts it read include everything before it.
        if (scraped.every((s) => s.value * 1000 > afterMs)) return true
        if (clock.monotonic() >= deadline) return false
        try {
          await sleep(SETTLE_POLL_MS, signal, clock)
        } catch {
          return false
        }
      }
    },
    async close() {
      states.clear()
      if (owned) await client.close()
    },
  }
}
