/**
 * The runner's own traffic: an open-model, constant-arrival-rate load generator (undici).
 *
 * Arrival i is *intended* at t0 + i/rate. Every arrival whose intended time has passed is sent,
 * however late the timer fired, and its latency is measured from the intended time to the end of
 * the response, so a slow target cannot hide its slowness by slowing the generator down
 * ("coordinated omission"). The generator never queues: when `maxInFlight` requests are
 * outstanding, an arrival is dropped and counted.
 *
 * Several origins (`targets`, one per instance): sent requests go round-robin over them in send
 * order (request k to origin k mod n, so counts differ by at most one), each origin with its own
 * connection pool; the in-flight limit, the schedule and the accounting are shared, and a dropped
 * arrival goes to no origin. The timeline records each request's origin index.
 *
 * Accounting (exact, at every instant): `sent = successful + failed + in_flight`, and
 * `arrivals = sent + dropped`. Every arrival and every result is written to the workload's
 * {@link Timeline}, from which phases, live windows and the per-second series are derived (see
 * timeline.ts for the attribution rules and the definitions of every summary field). A request is
 * successful on a 2xx or 3xx response.
 */
import { Pool, type Dispatcher } from 'undici'
import type { z } from 'zod'
import { systemClock, type Clock } from '../clock.js'
import { InvalidInputError } from '../errors.js'
import { classifyError } from '../http/error-class.js'
import { silentLogger, type Logger } from '../logger.js'
import type { WorkloadRequest } from '../scenario/schema.js'
import { FAULTS_HEADER } from '../protocol/schemas.js'
import { Timeline, type FailureClass } from './timeline.js'

export { Timeline, type FailureClass, type SeriesPoint, type WorkloadSummary } from './timeline.js'

/** One workload request as written in a scenario or config (weights and method may be omitted). */
export type WorkloadRequestInput = z.input<typeof WorkloadRequest>

/** Options of {@link createWorkload}. */
export interface WorkloadOptions {
  /** Base URL, e.g. `http://127.0.0.1:3000` (a path prefix, if any, is prepended to every request path). */
  target?: string
  /**
   * Several base URLs (one per instance): requests are spread round-robin over them. Wins over
   * `target`; one of the two is required.
   */
  targets?: readonly string[]
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
}

/** What {@link WorkloadOptions.onResult} receives. */
export interface RequestResult {
  /** 0-based send order. */
  seq: number
  /** Index of the origin (in {@link Workload.targets}) the request went to. */
  instance: number
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

/** A running workload. Create with {@link createWorkload}. */
export interface Workload {
  /** Starts sending; t0 is now. Returns the timeline every arrival and result is written to. */
  start(): Timeline
  /** The timeline (after `start()`). */
  readonly timeline: Timeline
  /** The origins requests are spread over, in instance-index order (as given, validated). */
  readonly targets: readonly string[]
  /**
   * Sends now every arrival already due that a late timer has not sent yet, so that after
   * `catchUp()` at instant t, `whenSettled()` covers every request intended before t.
   */
  catchUp(): void
  /**
   * Stops new arrivals and waits until every in-flight request finished (each is bounded by its
   * timeout), then closes the connections. With `abort`, in-flight requests are cancelled now and
   * counted as failed with class `CANCELLED`. Idempotent.
   */
  stop(options?: { abort?: boolean }): Promise<void>
  /** Monotonic ms at which arrivals stopped, or null while running. */
  readonly stoppedAt: number | null
  /** Running totals. */
  counts(): WorkloadCounts
  /** Resolves when every request sent before the call has finished. */
  whenSettled(): Promise<void>
}

/** Arrivals a single timer turn may send before yielding to I/O (catch-up comes in batches). */
const MAX_BATCH = 2048

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
  /** Index of the workload request this template was built from. */
  index: number
  method: string
  path: string
  opts: Dispatcher.DispatchOptions
}

/** One origin: its connection pool and the request templates with its path prefix. */
interface Origin {
  pool: Pool
  templates: Template[]
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
  /** What the response's `x-chaos-faults` header said, null without one. */
  faults: number | null = null
  /** Result recorded (response, error, timeout or cancel); undici may still be busy with it. */
  done = false
  /** What to abort with once undici hands over a controller, if given up before that. */
  abortWith: GaveUp | null = null

  constructor(
    readonly gen: WorkloadImpl,
    readonly seq: number,
    readonly instance: number,
    readonly template: Template,
    readonly intendedAt: number,
    readonly sentAt: number,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.abortWith) controller.abort(this.abortWith)
    else this.controller = controller
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.status = statusCode
    const tag = headers[FAULTS_HEADER]
    if (typeof tag === 'string') this.faults = Number.parseInt(tag, 10)
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
  private readonly origins: Origin[]
  readonly targets: readonly string[]
  private readonly cumulativeWeights: number[]
  /** The routes as written (method, path without the origin prefix), for per-route status counts. */
  private readonly routes: { method: string; path: string }[]
  private readonly totalWeight: number
  private readonly onResult: ((r: RequestResult) => void) | undefined
  private readonly sweepMs: number
  private line: Timeline | null = null

  private state: 'idle' | 'running' | 'stopped' = 'idle'
  private t0 = 0
  stoppedAt: number | null = null
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

    const targets = options.targets ?? (options.target === undefined ? [] : [options.target])
    if (targets.length === 0) throw new InvalidInputError('workload needs at least one target URL')
    const urls = targets.map(parseOrigin)

    this.clock = options.clock ?? systemClock
    this.logger = options.logger ?? silentLogger
    this.random = options.random ?? Math.random
    this.rate = rate
    this.timeoutMs = timeoutMs
    this.maxInFlight = maxInFlight
    this.onResult = options.onResult
    this.sweepMs = Math.min(100, Math.max(5, Math.floor(timeoutMs / 20)))

    let acc = 0
    this.cumulativeWeights = options.requests.map((r) => (acc += r.weight ?? 1))
    this.routes = options.requests.map((r) => ({ method: r.method ?? 'GET', path: r.path }))
    this.totalWeight = acc

    this.targets = [...targets]
    // One pool per origin; the in-flight limit is the generator's, shared by all of them.
    this.origins = urls.map((url) => {
      const prefix = url.pathname.replace(/\/+$/, '')
      return {
        templates: options.requests.map((r, i) => buildTemplate(r, i, prefix, options.headers ?? {})),
        pool: new Pool(url.origin, {
          connections: options.connections ?? maxInFlight,
          pipelining: 1,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          connectTimeout: Math.min(timeoutMs, 10_000),
          keepAliveTimeout: 30_000,
        }),
      }
    })
  }

  start(): Timeline {
    if (this.state !== 'idle') throw new Error('workload already started')
    this.state = 'running'
    this.t0 = this.clock.monotonic()
    this.line = new Timeline({
      t0: this.t0,
      wallT0: this.clock.now(),
      instances: this.origins.length,
      // Routes as written (path without the origin's prefix), so a report names the scenario's paths.
      routes: this.routes,
    })
    this.logger.debug('workload_started', {
      rate: this.rate,
      max_in_flight: this.maxInFlight,
      targets: this.targets,
    })
    this.tick()
    return this.line
  }

  get timeline(): Timeline {
    if (!this.line) throw new Error('start() the workload before reading its timeline')
    return this.line
  }

  catchUp(): void {
    let behind = this.state === 'running'
    while (behind) behind = this.pump()
  }

  stop(options: { abort?: boolean } = {}): Promise<void> {
    if (options.abort) {
      for (let p = this.head; p; p = this.head) {
        this.finish(p, 'CANCELLED')
        abortPending(p, new GaveUp('CANCELLED'))
      }
    }
    if (this.stopPromise) return this.stopPromise
    if (this.state === 'running') {
      this.stoppedAt = this.clock.monotonic()
      this.line!.close(this.stoppedAt)
    }
    this.state = 'stopped'
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
    this.stopPromise = this.whenSettled().then(async () => {
      if (this.sweepTimer !== null) this.clock.clearTimeout(this.sweepTimer)
      this.sweepTimer = null
      // Everything is accounted for; requests undici still holds were given up on, so destroy.
      await Promise.all(this.origins.map((o) => o.pool.destroy()))
      this.logger.debug('workload_stopped', { ...this.counts() })
    })
    return this.stopPromise
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
    if (this.outstanding >= this.maxInFlight) {
      this.dropped++
      this.line!.recordDropped(intendedAt, this.clock.monotonic())
      return
    }
    // Round-robin in send order: dropped arrivals skip no origin's turn.
    const instance = this.sent % this.origins.length
    const origin = this.origins[instance]!
    const template = this.pick(origin.templates)
    const now = this.clock.monotonic()
    const p = new Pending(this, this.sent++, instance, template, intendedAt, now)
    this.line!.recordSent(intendedAt, instance)
    this.inFlight++
    this.outstanding++
    if (this.tail) {
      this.tail.next = p
      p.prev = this.tail
    } else this.head = p
    this.tail = p
    if (this.sweepTimer === null) this.sweepTimer = this.clock.setTimeout(this.sweep, this.sweepMs)
    origin.pool.dispatch(template.opts, p)
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
    this.line!.recordFinished(
      p.intendedAt,
      now,
      failure,
      p.faults,
      p.instance,
      p.template.index,
      p.status === 0 ? null : p.status,
    )
    if (failure === null) {
      this.successful++
    } else {
      this.failed++
      this.failuresByClass.set(failure, (this.failuresByClass.get(failure) ?? 0) + 1)
    }
    if (this.waiters.length > 0) {
      const oldest = this.head ? this.head.seq : Infinity
      while (this.waiters.length > 0 && this.waiters[0]!.seq <= oldest) this.waiters.shift()!.resolve()
    }
    if (this.onResult) {
      try {
        this.onResult({
          seq: p.seq,
          instance: p.instance,
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

  /** A request of the origin's templates, at random in proportion to the weights. */
  private pick(templates: Template[]): Template {
    if (templates.length === 1) return templates[0]!
    const r = this.random() * this.totalWeight
    for (let i = 0; i < this.cumulativeWeights.length; i++)
      if (r < this.cumulativeWeights[i]!) return templates[i]!
    return templates[templates.length - 1]!
  }
}

/** A workload origin as a URL; throws InvalidInputError unless it is an http(s) URL. */
function parseOrigin(target: string): URL {
  let url: URL
  try {
    url = new URL(target)
  } catch {
    throw new InvalidInputError(`target "${target}" is not a URL`, 'use e.g. http://127.0.0.1:3000')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidInputError(`target "${target}" must be an http:// or https:// URL`)
  return url
}

function abortPending(p: Pending, reason: GaveUp): void {
  if (p.controller) p.controller.abort(reason)
  else p.abortWith = reason // not started by undici yet: abort as soon as it is
}

function buildTemplate(
  r: WorkloadRequestInput,
  index: number,
  prefix: string,
  common: Record<string, string>,
): Template {
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
  return { index, method, path, opts: { path, method, headers, body } }
}

/** Creates a workload generator (not started). Throws {@link InvalidInputError} on bad options. */
export function createWorkload(options: WorkloadOptions): Workload {
  return new WorkloadImpl(options)
}
