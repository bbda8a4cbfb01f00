/**
 * The runner's own traffic: an open-model, constant-arrival-rate load generator (undici).
 *
 * Arrival i is *intended* at t0 + i/rate. Every arrival whose intended time has passed is sent,
 * however late the timer fired, and its latency is measured from the intended time to the end of
 * the response, so a slow target cannot hide its slowness by slowing the generator down
 * ("coordinated omission"). The generator never queues: when `maxInFlight` requests are
 * outstanding, an arrival is dropped and counted.
 *
 * Accounting (exact, at every instant): `sent = successful + failed + in_flight`, and
 * `arrivals = sent + dropped`. Every request is attributed by its intended time: to a phase
 * segment (see {@link Workload.mark}) and to a per-second bucket, even when it completes after
 * `stop()`. A sliding window ({@link Workload.recent}) counts by completion time instead, which is
 * what a live safety check needs.
 *
 * Definitions used by every summary: `total_requests = successful + failed` (finished requests);
 * `error_rate = failed / total` and `availability = successful / total`, with error_rate 0 and
 * availability 1 when nothing finished yet (check `total_requests` before trusting either);
 * a request is successful on a 2xx or 3xx response; `throughput_rps` is successful requests per
 * second of the slice (goodput); dropped arrivals are reported apart and are not failures.
 */
import { Pool, type Dispatcher } from 'undici'
import type { z } from 'zod'
import { systemClock, type Clock } from '../clock.js'
import { InvalidInputError } from '../errors.js'
import { classifyError } from '../http/error-class.js'
import { silentLogger, type Logger } from '../logger.js'
import type { WorkloadRequest } from '../scenario/schema.js'
import { OutcomeStats, type LatencyPercentiles } from './histogram.js'

/**
 * Why a request failed: `HTTP_<status>` for 4xx/5xx responses, `TIMEOUT` (no complete response
 * within `timeoutMs`), `CONNECTION` (refused, reset, closed, unreachable, DNS, connect timeout),
 * `CANCELLED` (aborted by `stop({ abort: true })`), `OTHER` (anything else, e.g. a malformed response).
 */
export type FailureClass = `HTTP_${number}` | 'TIMEOUT' | 'CONNECTION' | 'CANCELLED' | 'OTHER'

/** One workload request as written in a scenario or config (weights and method may be omitted). */
export type WorkloadRequestInput = z.input<typeof WorkloadRequest>

/** Options of {@link createWorkload}. */
export interface WorkloadOptions {
  /** Base URL, e.g. `http://127.0.0.1:3000` (a path prefix, if any, is prepended to every request path). */
  target: string
  /** Requests to send, picked at random in proportion to `weight` (default 1). */
  requests: readonly WorkloadRequestInput[]
  /** Arrivals per second (open model). */
  rate: number
  /** Per-request timeout from send to the end of the response (default 10 000 ms). */
  timeoutMs?: number
  /** Most requests outstanding at once; further arrivals are dropped (default rate × timeout, 16..1024). */
  maxInFlight?: number
  /** Most TCP connections (default `maxInFlight`; opened lazily, kept alive). */
  connections?: number
  /** Headers on every request, e.g. `{ 'x-chaos-experiment': id }`; they win over per-request headers. */
  headers?: Record<string, string>
  clock?: Clock
  /** Source of randomness for the weighted choice, in [0, 1) (default Math.random). */
  random?: () => number
  logger?: Logger
  /** Called once per finished request (successful, failed or cancelled), in completion order. */
  onResult?: (result: RequestResult) => void
  /** Longest window {@link Workload.recent} can answer (default 60 000 ms). */
  windowCapacityMs?: number
}

/** What {@link WorkloadOptions.onResult} receives. */
export interface RequestResult {
  /** 0-based send order. */
  seq: number
  method: string
  path: string
  /** Intended send time, on the clock's monotonic scale. */
  intendedAt: number
  /** Intended send time to end of response (or failure), in ms. */
  latencyMs: number
  ok: boolean
  /** HTTP status if a response head arrived, else null. */
  status: number | null
  failure: FailureClass | null
}

/** Running totals since start. `sent = successful + failed + in_flight`; `arrivals = sent + dropped`. */
export interface WorkloadCounts {
  arrivals: number
  sent: number
  successful: number
  failed: number
  in_flight: number
  dropped: number
  failures_by_class: Record<string, number>
}

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
  /** Arrivals refused because `maxInFlight` requests were outstanding (not failures, not sent). */
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
}

/** One second of the time series, by intended send time. */
export interface SeriesPoint {
  /** Seconds since start. */
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
}

/** Opaque position returned by {@link Workload.mark}. */
export interface Cursor {
  readonly segment: number
  /** Wall-clock epoch ms of the mark. */
  readonly at: number
}

/** A running workload. Create with {@link createWorkload}. */
export interface Workload {
  /** Starts sending; t0 is now. Also opens the first segment (cursor index 0). */
  start(): Cursor
  /**
   * Stops new arrivals and waits until every in-flight request finished (each is bounded by its
   * timeout), then closes the connections. With `abort`, in-flight requests are cancelled now and
   * counted as failed with class `CANCELLED`. Idempotent.
   */
  stop(options?: { abort?: boolean }): Promise<void>
  /**
   * Begins a new segment at this instant; arrivals intended from now on belong to it. Arrivals
   * already due are sent first, so that `whenSettled()` after a mark covers the closed segment.
   */
  mark(): Cursor
  /** Totals of the segments from `from` up to (excluding) `until`, or up to now. */
  summarySince(from: Cursor, until?: Cursor): WorkloadSummary
  /**
   * Totals of requests that finished (or were dropped) in the last `windowMs`, by completion time,
   * at 100 ms resolution (the window is rounded up to whole slots). A window longer than
   * `windowCapacityMs` is shortened to it; an empty or negative window gives an empty summary.
   */
  recent(windowMs: number): WorkloadSummary
  /** Per-second time series from start up to now (or stop). */
  series(): SeriesPoint[]
  /** Running totals. */
  counts(): WorkloadCounts
  /** Resolves when every request sent before the call has finished. */
  whenSettled(): Promise<void>
}

/** Arrivals a single timer turn may send before yielding to I/O (catch-up comes in batches). */
const MAX_BATCH = 2048
/** Resolution of the completion-time window. */
const SLOT_MS = 100

/** Intended time of arrival `i` (0-based) for a schedule starting at `t0` (ms). */
export function intendedTime(t0: number, rate: number, i: number): number {
  return t0 + (i * 1000) / rate
}

/**
 * How many arrivals are due at `now`: those with index ≥ `sentSoFar` whose intended time
 * (see {@link intendedTime}) is ≤ `now`. Pure; consistent with intendedTime by construction.
 */
export function dueArrivals(t0: number, rate: number, sentSoFar: number, now: number): number {
  if (now < t0) return 0
  let total = Math.floor(((now - t0) * rate) / 1000) + 1
  // Correct floating-point rounding at the edges so that intendedTime(total - 1) <= now < intendedTime(total).
  while (intendedTime(t0, rate, total) <= now) total++
  while (total > 0 && intendedTime(t0, rate, total - 1) > now) total--
  return Math.max(0, total - sentSoFar)
}

/** Class of an HTTP status: null when successful (1xx–3xx), else `HTTP_<status>`. */
export function classifyStatus(status: number): FailureClass | null {
  return status >= 400 ? `HTTP_${status}` : null
}

interface Template {
  method: string
  path: string
  opts: Dispatcher.DispatchOptions
}

interface Segment {
  /** Monotonic ms at which it began. */
  start: number
  wallStart: number
  stats: OutcomeStats
}

interface Slot {
  index: number
  stats: OutcomeStats
}

/** Error used to abort requests the generator gave up on (timeout or cancel). */
class GaveUp extends Error {
  constructor(readonly failure: 'TIMEOUT' | 'CANCELLED') {
    super(failure === 'TIMEOUT' ? 'workload request timed out' : 'workload request cancelled')
  }
}

/** One outstanding request: the undici handler and its accounting record (an intrusive list node). */
class Pending implements Dispatcher.DispatchHandler {
  prev: Pending | null = null
  next: Pending | null = null
  controller: Dispatcher.DispatchController | null = null
  status = 0
  /** Result recorded (response, error, timeout or cancel); undici may still be busy with it. */
  done = false
  /** What to abort with once undici hands over a controller, if given up before that. */
  abortWith: GaveUp | null = null

  constructor(
    readonly gen: WorkloadImpl,
    readonly seq: number,
    readonly template: Template,
    readonly intendedAt: number,
    readonly sentAt: number,
    readonly segment: OutcomeStats,
    readonly bucket: OutcomeStats,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.abortWith) controller.abort(this.abortWith)
    else this.controller = controller
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode
  }

  onResponseData(): void {
    // The body is read and discarded; only the end matters.
  }

  onResponseEnd(): void {
    this.gen.released()
    if (!this.done) this.gen.finish(this, classifyStatus(this.status))
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.gen.released()
    if (!this.done) this.gen.finish(this, classifyError(err))
  }
}

class WorkloadImpl implements Workload {
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly random: () => number
  private readonly rate: number
  private readonly timeoutMs: number
  private readonly maxInFlight: number
  private readonly templates: Template[]
  private readonly cumulativeWeights: number[]
  private readonly totalWeight: number
  private readonly pool: Pool
  private readonly onResult: ((r: RequestResult) => void) | undefined
  private readonly sweepMs: number
  private readonly slots: Slot[]

  private state: 'idle' | 'running' | 'stopped' = 'idle'
  private t0 = 0
  private wallT0 = 0
  private stoppedAt: number | null = null
  private timer: unknown = null
  private sweepTimer: unknown = null
  private stopPromise: Promise<void> | null = null
  private pumpQueued = false

  private arrivals = 0
  private sent = 0
  private successful = 0
  private failed = 0
  private dropped = 0
  private inFlight = 0
  /** Requests undici still holds (includes ones we gave up on but undici has not released yet). */
  private outstanding = 0
  private readonly failuresByClass = new Map<string, number>()

  private head: Pending | null = null
  private tail: Pending | null = null
  private readonly segments: Segment[] = []
  private readonly seconds: OutcomeStats[] = []
  private readonly waiters: Array<{ seq: number; resolve: () => void }> = []

  constructor(options: WorkloadOptions) {
    const { rate } = options
    if (!Number.isFinite(rate) || rate <= 0)
      throw new InvalidInputError(
        `workload rate must be a positive number of requests per second, got ${rate}`,
      )
    const timeoutMs = options.timeoutMs ?? 10_000
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new InvalidInputError(`workload timeout must be positive, got ${timeoutMs} ms`)
    const maxInFlight =
      options.maxInFlight ?? Math.min(1024, Math.max(16, Math.ceil((rate * timeoutMs) / 1000)))
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
      throw new InvalidInputError(`workload maxInFlight must be a positive integer, got ${maxInFlight}`)
    if (options.requests.length === 0) throw new InvalidInputError('workload needs at least one request')

    let url: URL
    try {
      url = new URL(options.target)
    } catch {
      throw new InvalidInputError(`target "${options.target}" is not a URL`, 'use e.g. http://127.0.0.1:3000')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new InvalidInputError(`target "${options.target}" must be an http:// or https:// URL`)
    const prefix = url.pathname.replace(/\/+$/, '')

    this.clock = options.clock ?? systemClock
    this.logger = options.logger ?? silentLogger
    this.random = options.random ?? Math.random
    this.rate = rate
    this.timeoutMs = timeoutMs
    this.maxInFlight = maxInFlight
    this.onResult = options.onResult
    this.sweepMs = Math.min(100, Math.max(5, Math.floor(timeoutMs / 20)))
    const capacity = options.windowCapacityMs ?? 60_000
    this.slots = Array.from({ length: Math.ceil(capacity / SLOT_MS) + 1 }, () => ({
      index: -1,
      stats: new OutcomeStats(2),
    }))

    this.templates = options.requests.map((r) => buildTemplate(r, prefix, options.headers ?? {}))
    let acc = 0
    this.cumulativeWeights = options.requests.map((r) => (acc += r.weight ?? 1))
    this.totalWeight = acc

    this.pool = new Pool(url.origin, {
      connections: options.connections ?? maxInFlight,
      pipelining: 1,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: Math.min(timeoutMs, 10_000),
      keepAliveTimeout: 30_000,
    })
  }

  start(): Cursor {
    if (this.state !== 'idle') throw new Error('workload already started')
    this.state = 'running'
    this.t0 = this.clock.monotonic()
    this.wallT0 = this.clock.now()
    this.segments.push({ start: this.t0, wallStart: this.wallT0, stats: new OutcomeStats(3, true) })
    this.logger.debug('workload_started', { rate: this.rate, max_in_flight: this.maxInFlight })
    this.tick()
    return { segment: 0, at: this.wallT0 }
  }

  mark(): Cursor {
    if (this.state === 'idle') throw new Error('start() the workload before mark()')
    const wallStart = this.clock.now()
    const start = this.stoppedAt ?? this.clock.monotonic()
    this.segments.push({ start, wallStart, stats: new OutcomeStats(3, true) })
    // Send now what a late timer has not sent yet: every arrival of the closed segment is then in
    // flight or done, so whenSettled() after a mark covers the whole segment.
    let behind = this.state === 'running'
    while (behind) behind = this.pump()
    return { segment: this.segments.length - 1, at: wallStart }
  }

  stop(options: { abort?: boolean } = {}): Promise<void> {
    if (options.abort) {
      for (let p = this.head; p; p = this.head) {
        this.finish(p, 'CANCELLED')
        abortPending(p, new GaveUp('CANCELLED'))
      }
    }
    if (this.stopPromise) return this.stopPromise
    if (this.state === 'running') this.stoppedAt = this.clock.monotonic()
    this.state = 'stopped'
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
    this.stopPromise = this.whenSettled().then(async () => {
      if (this.sweepTimer !== null) this.clock.clearTimeout(this.sweepTimer)
      this.sweepTimer = null
      // Everything is accounted for; requests undici still holds were given up on, so destroy.
      await this.pool.destroy()
      this.logger.debug('workload_stopped', { ...this.counts() })
    })
    return this.stopPromise
  }

  summarySince(from: Cursor, until?: Cursor): WorkloadSummary {
    const end = until ? until.segment : this.segments.length
    const stats = new OutcomeStats(3, true)
    for (let i = from.segment; i < end; i++) stats.add(this.segments[i]!.stats)
    const startMs = this.segments[from.segment]?.start ?? this.t0
    const endMs = this.segments[end]?.start ?? this.endTime()
    return summarize(stats, endMs - startMs, stats.sent - stats.successful - stats.failed)
  }

  recent(windowMs: number): WorkloadSummary {
    windowMs = Math.min(windowMs, (this.slots.length - 1) * SLOT_MS)
    const stats = new OutcomeStats(2)
    if (this.state === 'idle' || !(windowMs > 0)) return summarize(stats, 0, this.inFlight)
    const now = this.endTime()
    const last = this.slotIndex(now)
    const first = last - Math.ceil(windowMs / SLOT_MS) + 1
    for (const slot of this.slots) if (slot.index >= first && slot.index <= last) stats.add(slot.stats)
    // The slots cover from the start of the first one to now.
    const covered = now - (this.t0 + Math.max(0, first) * SLOT_MS)
    return summarize(stats, covered, this.inFlight)
  }

  series(): SeriesPoint[] {
    if (this.state === 'idle') return []
    const lastSecond = Math.floor((this.endTime() - this.t0) / 1000)
    const points: SeriesPoint[] = []
    for (let s = 0; s <= lastSecond; s++) {
      const b = this.seconds[s]
      const lat = b?.latency
      points.push({
        second: s,
        at: this.wallT0 + s * 1000,
        sent: b?.sent ?? 0,
        requests: b ? b.successful + b.failed : 0,
        successful: b?.successful ?? 0,
        errors: b?.failed ?? 0,
        dropped: b?.dropped ?? 0,
        in_flight: b ? b.sent - b.successful - b.failed : 0,
        p50_ms: lat ? lat.percentileMs(50) : null,
        p95_ms: lat ? lat.percentileMs(95) : null,
        p99_ms: lat ? lat.percentileMs(99) : null,
      })
    }
    return points
  }

  counts(): WorkloadCounts {
    return {
      arrivals: this.arrivals,
      sent: this.sent,
      successful: this.successful,
      failed: this.failed,
      in_flight: this.inFlight,
      dropped: this.dropped,
      failures_by_class: Object.fromEntries(this.failuresByClass),
    }
  }

  whenSettled(): Promise<void> {
    const seq = this.sent
    if (!this.head || this.head.seq >= seq) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ seq, resolve }))
  }

  /** Timer turn: sends every due arrival (in batches), then sleeps until the next one. */
  private readonly tick = (): void => {
    this.timer = null
    if (this.state !== 'running') return
    const behind = this.pump()
    const next = intendedTime(this.t0, this.rate, this.arrivals)
    const delay = behind ? 0 : Math.max(0, next - this.clock.monotonic())
    this.timer = this.clock.setTimeout(this.tick, delay)
  }

  /** Sends the arrivals due now (at most one batch); true if more were due than a batch. */
  private pump(): boolean {
    const due = dueArrivals(this.t0, this.rate, this.arrivals, this.clock.monotonic())
    const n = Math.min(due, MAX_BATCH)
    for (let k = 0; k < n; k++) this.arrive(intendedTime(this.t0, this.rate, this.arrivals++))
    return due > n
  }

  /**
   * After a response, arrivals that fell due since the last timer turn go out right away instead
   * of waiting for the next turn: timers have millisecond granularity, responses do not. Deferred to
   * a microtask so undici is never re-entered from its own callback.
   */
  private readonly pumpSoon = (): void => {
    this.pumpQueued = false
    if (this.state === 'running') this.pump()
  }

  private arrive(intendedAt: number): void {
    const segment = this.segmentFor(intendedAt)
    const bucket = this.secondFor(intendedAt)
    if (this.outstanding >= this.maxInFlight) {
      this.dropped++
      segment.dropped++
      bucket.dropped++
      this.slotFor(this.clock.monotonic()).dropped++
      return
    }
    const template = this.pick()
    const now = this.clock.monotonic()
    const p = new Pending(this, this.sent++, template, intendedAt, now, segment, bucket)
    segment.sent++
    bucket.sent++
    this.slotFor(now).sent++
    this.inFlight++
    this.outstanding++
    if (this.tail) {
      this.tail.next = p
      p.prev = this.tail
    } else this.head = p
    this.tail = p
    if (this.sweepTimer === null) this.sweepTimer = this.clock.setTimeout(this.sweep, this.sweepMs)
    this.pool.dispatch(template.opts, p)
  }

  /** Times out requests older than timeoutMs; the list is in send order, so only the head is checked. */
  private readonly sweep = (): void => {
    this.sweepTimer = null
    const deadline = this.clock.monotonic() - this.timeoutMs
    while (this.head && this.head.sentAt <= deadline) {
      const p = this.head
      this.finish(p, 'TIMEOUT')
      abortPending(p, new GaveUp('TIMEOUT'))
    }
    if (this.head) this.sweepTimer = this.clock.setTimeout(this.sweep, this.sweepMs)
  }

  /** undici let go of a request (response ended or errored). */
  released(): void {
    this.outstanding--
    if (this.state === 'running' && !this.pumpQueued) {
      this.pumpQueued = true
      queueMicrotask(this.pumpSoon)
    }
  }

  /** Records a request's result exactly once. */
  finish(p: Pending, failure: FailureClass | null): void {
    p.done = true
    if (p.prev) p.prev.next = p.next
    else this.head = p.next
    if (p.next) p.next.prev = p.prev
    else this.tail = p.prev
    p.prev = p.next = null
    this.inFlight--

    const now = this.clock.monotonic()
    const latencyMs = now - p.intendedAt
    const slot = this.slotFor(now)
    if (failure === null) {
      this.successful++
      p.segment.recordSuccess(latencyMs)
      p.bucket.recordSuccess(latencyMs)
      slot.recordSuccess(latencyMs)
    } else {
      this.failed++
      this.failuresByClass.set(failure, (this.failuresByClass.get(failure) ?? 0) + 1)
      p.segment.recordFailure(failure, latencyMs)
      p.bucket.recordFailure(failure, latencyMs)
      slot.recordFailure(failure, latencyMs)
    }
    if (this.waiters.length > 0) {
      const oldest = this.head ? this.head.seq : Infinity
      while (this.waiters.length > 0 && this.waiters[0]!.seq <= oldest) this.waiters.shift()!.resolve()
    }
    if (this.onResult) {
      try {
        this.onResult({
          seq: p.seq,
          method: p.template.method,
          path: p.template.path,
          intendedAt: p.intendedAt,
          latencyMs,
          ok: failure === null,
          status: p.status === 0 ? null : p.status,
          failure,
        })
      } catch (err) {
        // A broken hook must not corrupt the accounting (this runs inside undici's callbacks).
        this.logger.error('workload_result_hook_failed', {
          error: err instanceof Error ? err.message : String(err),
        })
      }
    }
  }

  private pick(): Template {
    if (this.templates.length === 1) return this.templates[0]!
    const r = this.random() * this.totalWeight
    for (let i = 0; i < this.cumulativeWeights.length; i++)
      if (r < this.cumulativeWeights[i]!) return this.templates[i]!
    return this.templates[this.templates.length - 1]!
  }

  /** The segment whose start is the latest one at or before `intendedAt`. */
  private segmentFor(intendedAt: number): OutcomeStats {
    let i = this.segments.length - 1
    while (i > 0 && this.segments[i]!.start > intendedAt) i--
    return this.segments[i]!.stats
  }

  private secondFor(intendedAt: number): OutcomeStats {
    const s = Math.max(0, Math.floor((intendedAt - this.t0) / 1000))
    while (this.seconds.length <= s) this.seconds.push(new OutcomeStats(2))
    return this.seconds[s]!
  }

  private slotIndex(now: number): number {
    return Math.floor((now - this.t0) / SLOT_MS)
  }

  private slotFor(now: number): OutcomeStats {
    const index = this.slotIndex(now)
    const slot = this.slots[index % this.slots.length]!
    if (slot.index !== index) {
      slot.index = index
      slot.stats.reset()
    }
    return slot.stats
  }

  private endTime(): number {
    return this.stoppedAt ?? this.clock.monotonic()
  }
}

function abortPending(p: Pending, reason: GaveUp): void {
  if (p.controller) p.controller.abort(reason)
  else p.abortWith = reason // not started by undici yet: abort as soon as it is
}

function buildTemplate(r: WorkloadRequestInput, prefix: string, common: Record<string, string>): Template {
  const method = r.method ?? 'GET'
  const path = prefix + r.path
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v
  for (const [k, v] of Object.entries(common)) headers[k.toLowerCase()] = v
  let body: string | undefined
  if (r.body !== undefined) {
    body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
    headers['content-type'] ??= 'application/json'
  }
  // The same options object is reused for every dispatch: undici copies what it needs.
  return { method, path, opts: { path, method, headers, body } }
}

function summarize(stats: OutcomeStats, durationMs: number, inFlight: number): WorkloadSummary {
  const total = stats.successful + stats.failed
  const seconds = Math.max(0, durationMs) / 1000
  return {
    duration_seconds: round3(seconds),
    sent: stats.sent,
    in_flight: inFlight,
    total_requests: total,
    successful_requests: stats.successful,
    failed_requests: stats.failed,
    dropped: stats.dropped,
    error_rate: total === 0 ? 0 : stats.failed / total,
    availability: total === 0 ? 1 : stats.successful / total,
    latency_ms: stats.latency.percentiles(),
    success_latency_ms: stats.successLatency ? stats.successLatency.percentiles() : null,
    throughput_rps: seconds > 0 ? round3(stats.successful / seconds) : 0,
    failures_by_class: Object.fromEntries(stats.failuresByClass),
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000
}

/** Creates a workload generator (not started). Throws {@link InvalidInputError} on bad options. */
export function createWorkload(options: WorkloadOptions): Workload {
  return new WorkloadImpl(options)
}
