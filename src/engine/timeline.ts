/**
 * The per-request timeline of one workload: every arrival (sent or dropped) and every finished
 * request, in columnar arrays. It is the single source of a run's traffic numbers: each phase's
 * totals, the live safety window and the per-second series are all derived from it, so they
 * always add up and phase attribution is exact.
 *
 * Attribution rules:
 * - a phase ({@link Timeline.summary}) and a second of the series own the requests whose
 *   *intended* send time falls in them, even when they finish later (no coordinated omission: a
 *   slow response still counts against the phase that caused it);
 * - the live window ({@link Timeline.recent}) counts requests by *completion* time, which is what
 *   a safety check needs ("what is the target doing right now");
 * - each sent request is recorded with the index of the instance (workload origin) it went to, so
 *   a slice can be split by instance ({@link Timeline.byInstance}); a dropped arrival was sent
 *   nowhere and belongs to no instance (per-instance slices report `dropped` 0).
 *
 * Definitions: `total_requests = successful + failed` (finished requests); `error_rate = failed /
 * total` and `availability = successful / total`, 0 and 1 when nothing finished (check
 * `total_requests` first); latency runs from the intended send time to the end of the response;
 * `throughput_rps` is successful requests per second of the slice (goodput); dropped arrivals are
 * reported apart and are not failures.
 */
import { LatencyHistogram, type LatencyPercentiles } from './histogram.js'

/**
 * Why a request failed: `HTTP_<status>` for 4xx/5xx responses, `TIMEOUT` (no complete response
 * in time), `CONNECTION` (refused, reset, unreachable, DNS, connect timeout), `CANCELLED` (the
 * workload was stopped with `abort`), `OTHER` (anything else, e.g. a malformed response).
 */
export type FailureClass = `HTTP_${number}` | 'TIMEOUT' | 'CONNECTION' | 'CANCELLED' | 'OTHER'

/** Totals for a slice of the run (a phase, a window). Field names are those of the run record. */
export interface WorkloadSummary {
  duration_seconds: number
  /** Requests dispatched in the slice. */
  sent: number
  /** Of those, still waiting for a response (for a window: in flight now). */
  in_flight: number
  /** Finished requests: successful + failed. */
  total_requests: number
  successful_requests: number
  failed_requests: number
  /** Arrivals refused because too many requests were outstanding (not failures, not sent). */
  dropped: number
  /** failed / total, 0 when total is 0. */
  error_rate: number
  /** successful / total, 1 when total is 0. */
  availability: number
  /** Percentiles over every finished request (failures included: time to fail). */
  latency_ms: LatencyPercentiles
  /** Percentiles over successful requests only (null for windows). */
  success_latency_ms: LatencyPercentiles | null
  /** Successful requests per second of the slice. */
  throughput_rps: number
  failures_by_class: Record<string, number>
  /** Finished requests whose response said how many faults it met (`x-chaos-faults`). */
  tagged_responses: number
  /** Of those, the requests that met at least one fault. */
  requests_with_faults: number
  /** Faults the tagged responses reported in all (a request may meet several: retries). */
  faults_seen: number
  /**
   * Finished requests per workload route (when the timeline knows its routes), by HTTP status, or
   * by failure class when no status arrived; in the order the routes were given.
   */
  routes?: RouteStatusCounts[]
}

/** A workload route's finished requests of a slice, by status (`"200"`, `"404"`) or failure class. */
export interface RouteStatusCounts {
  method: string
  path: string
  requests: number
  statuses: Record<string, number>
}

/** One second of the time series, by intended send time. */
export interface SeriesPoint {
  /** Start of the bucket, seconds since the timeline's start (whole seconds, or a phase boundary). */
  second: number
  /** Wall-clock epoch ms at which the second began. */
  at: number
  sent: number
  /** Finished requests. */
  requests: number
  successful: number
  errors: number
  dropped: number
  in_flight: number
  p50_ms: number | null
  p95_ms: number | null
  p99_ms: number | null
  /** Finished requests whose response said how many faults it met. */
  tagged: number
  /** Faults those responses reported. */
  faults: number
}

/** A growable column of numbers (amortised O(1) append, no per-request object). */
class Column {
  private data: Float64Array
  length = 0
  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity)
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.length++] = value
  }
  at(i: number): number {
    return this.data[i]!
  }
  /** Index of the first value ≥ `x` (the column must be sorted ascending). */
  lowerBound(x: number): number {
    let lo = 0
    let hi = this.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.data[mid]! < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** Failure code stored per finished request: -1 for success, else an index into the class table. */
const OK = -1

/** Options of a {@link Timeline}. */
export interface TimelineOptions {
  /** Monotonic ms of the first arrival's intended time (the workload's t0). */
  t0: number
  /** Wall-clock epoch ms at t0 (for the series' `at`). */
  wallT0: number
  /** How many instances (workload origins) requests are spread over (default 1). */
  instances?: number
  /** The workload's routes, in request order: with them, summaries count statuses per route. */
  routes?: readonly { method: string; path: string }[]
}

/** Which requests a {@link Timeline.summary} counts, besides the time slice. */
export interface SliceFilter {
  /** Only the requests sent to this instance (index into the workload's origins). */
  instance?: number
}

/** Counters accumulated while the slice is scanned. */
interface Tally {
  successful: number
  failed: number
  tagged: number
  withFaults: number
  faults: number
  byClass: Map<string, number>
  latency: LatencyHistogram
  successLatency: LatencyHistogram | null
  /** Per route index: status (or failure class) → count; null when routes are not counted. */
  routes: Map<number, Map<string, number>> | null
}

/** The timeline of one workload; the workload writes it, the engine reads it. */
export class Timeline {
  readonly t0: number
  readonly wallT0: number
  /** How many instances requests are spread over; instance indexes run from 0 to this − 1. */
  readonly instances: number
  private readonly sentAt = new Column()
  private readonly sentInstance = new Column()
  private readonly droppedIntended = new Column()
  private readonly droppedAt = new Column()
  private readonly doneIntended = new Column()
  private readonly doneAt = new Column()
  private readonly doneClass: number[] = []
  /** Faults each finished request's response reported; -1 when it did not say. */
  private readonly doneFaults = new Column()
  private readonly doneInstance = new Column()
  /** Route index of each finished request, and its HTTP status (-1: none arrived). */
  private readonly doneRoute = new Column()
  private readonly doneStatus = new Column()
  private readonly routes: readonly { method: string; path: string }[] | null
  private readonly classes: string[] = []
  private readonly classIndex = new Map<string, number>()
  private closedAt: number | null = null

  constructor(options: TimelineOptions) {
    this.t0 = options.t0
    this.wallT0 = options.wallT0
    this.instances = options.instances ?? 1
    this.routes = options.routes && options.routes.length > 0 ? options.routes : null
    if (!Number.isInteger(this.instances) || this.instances < 1)
      throw new RangeError(`a timeline needs at least one instance, got ${this.instances}`)
  }

  /**
   * A request was dispatched to `instance`; `intendedAt` is its intended send time (arrivals come
   * in order).
   */
  recordSent(intendedAt: number, instance = 0): void {
    this.sentAt.push(intendedAt)
    this.sentInstance.push(instance)
  }

  /** An arrival was refused at `at` because too many requests were outstanding. */
  recordDropped(intendedAt: number, at: number): void {
    this.droppedIntended.push(intendedAt)
    this.droppedAt.push(at)
  }

  /**
   * A request dispatched to `instance` finished at `completedAt` (monotonic ms); `failure` null on
   * success; `faults` what its response's `x-chaos-faults` header said, null without one; `route`
   * the index of its workload request and `status` its HTTP status (null when none arrived).
   */
  recordFinished(
    intendedAt: number,
    completedAt: number,
    failure: FailureClass | null,
    faults: number | null = null,
    instance = 0,
    route = 0,
    status: number | null = null,
  ): void {
    this.doneRoute.push(route)
    this.doneStatus.push(status ?? -1)
    this.doneIntended.push(intendedAt)
    this.doneAt.push(completedAt)
    this.doneFaults.push(faults === null || !(faults >= 0) ? -1 : faults)
    this.doneInstance.push(instance)
    if (failure === null) {
      this.doneClass.push(OK)
      return
    }
    let index = this.classIndex.get(failure)
    if (index === undefined) {
      index = this.classes.push(failure) - 1
      this.classIndex.set(failure, index)
    }
    this.doneClass.push(index)
  }

  /** Marks the end of arrivals (the workload stopped at `at`); open-ended slices end here. */
  close(at: number): void {
    this.closedAt ??= at
  }

  /** When arrivals stopped, or null while the workload runs. */
  get endedAt(): number | null {
    return this.closedAt
  }

  /** Requests dispatched and not finished yet. */
  get inFlight(): number {
    return this.sentAt.length - this.doneAt.length
  }

  /** Running totals since the start. `sent = successful + failed + in_flight`. */
  counts(): { sent: number; finished: number; failed: number; dropped: number; in_flight: number } {
    let failed = 0
    for (const c of this.doneClass) if (c !== OK) failed++
    return {
      sent: this.sentAt.length,
      finished: this.doneAt.length,
      failed,
      dropped: this.droppedAt.length,
      in_flight: this.inFlight,
    }
  }

  /**
   * Totals of the requests intended in `[from, to)` (monotonic ms), wherever they finished;
   * without `to`, every request from `from` on (the slice then lasts until {@link close}, or the
   * last event). Call it once the slice's requests have settled to have `in_flight` 0. With
   * `filter.instance`, only the requests sent to that instance count (and `dropped` is 0).
   */
  summary(from: number, to = Infinity, filter: SliceFilter = {}): WorkloadSummary {
    const only = filter.instance
    const tally = newTally(3, true, this.routes !== null)
    for (let i = 0; i < this.doneIntended.length; i++) {
      const intended = this.doneIntended.at(i)
      if (intended >= from && intended < to && (only === undefined || this.doneInstance.at(i) === only))
        this.add(tally, i)
    }
    const first = this.sentAt.lowerBound(from)
    const past = this.sentAt.lowerBound(to)
    let sent = past - first
    if (only !== undefined) {
      sent = 0
      for (let i = first; i < past; i++) if (this.sentInstance.at(i) === only) sent++
    }
    const dropped =
      only === undefined ? this.droppedIntended.lowerBound(to) - this.droppedIntended.lowerBound(from) : 0
    const end = Number.isFinite(to) ? to : (this.closedAt ?? this.lastEvent())
    const summary = summarize(tally, end - from, sent, dropped, sent - tally.successful - tally.failed)
    if (this.routes && tally.routes) {
      const counts = tally.routes
      summary.routes = this.routes.map((r, i) => {
        const statuses = Object.fromEntries(counts.get(i) ?? [])
        const requests = Object.values(statuses).reduce((a, b) => a + b, 0)
        return { method: r.method, path: r.path, requests, statuses }
      })
    }
    return summary
  }

  /**
   * {@link summary} of `[from, to)` once per instance, in instance order: entry i covers the
   * requests sent to instance i. Their `sent`, `total_requests` and `failed_requests` add up to
   * the unfiltered summary's.
   */
  byInstance(from: number, to = Infinity): WorkloadSummary[] {
    return Array.from({ length: this.instances }, (_, instance) => this.summary(from, to, { instance }))
  }

  /**
   * Totals of the requests that finished (or were dropped) in `(now - windowMs, now]`, by
   * completion time: what the target is doing right now. `in_flight` is the current count.
   */
  recent(now: number, windowMs: number): WorkloadSummary {
    const from = Math.max(this.t0, now - Math.max(0, windowMs))
    const tally = newTally(2, false)
    for (let i = this.doneAt.length - 1; i >= 0 && this.doneAt.at(i) > from; i--) {
      if (this.doneAt.at(i) <= now) this.add(tally, i)
    }
    const dropped = this.droppedAt.lowerBound(now + 1e-9) - this.droppedAt.lowerBound(from + 1e-9)
    const sent = this.sentAt.lowerBound(now + 1e-9) - this.sentAt.lowerBound(from + 1e-9)
    return summarize(tally, now - from, sent, dropped, this.inFlight)
  }

  /**
   * The series by intended time, from t0 up to `end` (default: the close, or the last event): one
   * bucket per second, split at each of `cuts` (monotonic ms, e.g. phase boundaries) so that no
   * bucket straddles one: a request and its faults are counted in the phase it was sent in.
   */
  series(end = this.closedAt ?? this.lastEvent(), cuts: readonly number[] = []): SeriesPoint[] {
    const edges = new Set<number>()
    for (let e = this.t0; e <= end; e += 1000) edges.add(e)
    for (const cut of cuts) if (cut > this.t0 && cut < end) edges.add(cut)
    const starts = [...edges].sort((x, y) => x - y)
    const bucketOf = (intended: number) => {
      let lo = 0
      let hi = starts.length - 1
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1
        if (starts[mid]! <= intended) lo = mid
        else hi = mid - 1
      }
      return lo
    }
    const tallies = starts.map(() => newTally(2, false))
    for (let i = 0; i < this.doneIntended.length; i++)
      this.add(tallies[bucketOf(this.doneIntended.at(i))]!, i)
    const sent = new Array<number>(starts.length).fill(0)
    for (let i = 0; i < this.sentAt.length; i++) sent[bucketOf(this.sentAt.at(i))]!++
    const dropped = new Array<number>(starts.length).fill(0)
    for (let i = 0; i < this.droppedIntended.length; i++) dropped[bucketOf(this.droppedIntended.at(i))]!++
    return tallies.map((t, k) => ({
      second: (starts[k]! - this.t0) / 1000,
      at: this.wallT0 + (starts[k]! - this.t0),
      sent: sent[k]!,
      requests: t.successful + t.failed,
      successful: t.successful,
      errors: t.failed,
      dropped: dropped[k]!,
      in_flight: sent[k]! - t.successful - t.failed,
      p50_ms: t.latency.percentileMs(50),
      p95_ms: t.latency.percentileMs(95),
      p99_ms: t.latency.percentileMs(99),
      tagged: t.tagged,
      faults: t.faults,
    }))
  }

  /** The latest time anything was recorded (t0 when nothing was). */
  private lastEvent(): number {
    const last = (c: Column) => (c.length > 0 ? c.at(c.length - 1) : this.t0)
    return Math.max(this.t0, last(this.doneAt), last(this.sentAt), last(this.droppedAt))
  }

  private add(tally: Tally, i: number): void {
    const latency = this.doneAt.at(i) - this.doneIntended.at(i)
    const code = this.doneClass[i]!
    const faults = this.doneFaults.at(i)
    if (faults >= 0) {
      tally.tagged++
      tally.faults += faults
      if (faults > 0) tally.withFaults++
    }
    tally.latency.record(latency)
    if (tally.routes) {
      const status = this.doneStatus.at(i)
      const key = status >= 0 ? String(status) : code === OK ? 'OK' : this.classes[code]!
      const route = this.doneRoute.at(i)
      let byStatus = tally.routes.get(route)
      if (!byStatus) tally.routes.set(route, (byStatus = new Map<string, number>()))
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1)
    }
    if (code === OK) {
      tally.successful++
      tally.successLatency?.record(latency)
    } else {
      tally.failed++
      const cls = this.classes[code]!
      tally.byClass.set(cls, (tally.byClass.get(cls) ?? 0) + 1)
    }
  }
}

function newTally(precision: 2 | 3, withSuccess: boolean, withRoutes = false): Tally {
  return {
    routes: withRoutes ? new Map() : null,
    successful: 0,
    failed: 0,
    tagged: 0,
    withFaults: 0,
    faults: 0,
    byClass: new Map(),
    latency: new LatencyHistogram(precision),
    successLatency: withSuccess ? new LatencyHistogram(precision) : null,
  }
}

function summarize(
  t: Tally,
  durationMs: number,
  sent: number,
  dropped: number,
  inFlight: number,
): WorkloadSummary {
  const total = t.successful + t.failed
  const seconds = Math.max(0, durationMs) / 1000
  return {
    duration_seconds: round3(seconds),
    sent,
    in_flight: Math.max(0, inFlight),
    total_requests: total,
    successful_requests: t.successful,
    failed_requests: t.failed,
    dropped,
    error_rate: total === 0 ? 0 : t.failed / total,
    availability: total === 0 ? 1 : t.successful / total,
    latency_ms: t.latency.percentiles(),
    success_latency_ms: t.successLatency ? t.successLatency.percentiles() : null,
    throughput_rps: seconds > 0 ? round3(t.successful / seconds) : 0,
    failures_by_class: Object.fromEntries(t.byClass),
    tagged_responses: t.tagged,
    requests_with_faults: t.withFaults,
    faults_seen: t.faults,
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000
}
