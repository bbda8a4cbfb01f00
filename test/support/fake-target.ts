/**
 * An in-memory target for engine tests: a control endpoint (ControlClient), a metrics probe and a
 * workload that share one state, driven by a virtual clock. Its knobs reproduce the paths a real
 * target can take (a lost experiment, a restart, a failing DELETE, unreadable metrics...).
 */
import type { Clock } from '../../src/clock.js'
import {
  CONTROL_TIMEOUT_MS,
  ControlError,
  ControlTimeoutError,
  UnreachableError,
  type ControlClient,
} from '../../src/engine/control-client.js'
import type { MetricsProbe, ProbeSample } from '../../src/engine/probe.js'
import { Timeline, type FailureClass } from '../../src/engine/timeline.js'
import type { Workload, WorkloadCounts } from '../../src/engine/workload.js'
import type { AgentInfo, ExperimentView, StartExperimentRequest } from '../../src/protocol/schemas.js'

export interface FakeTargetKnobs {
  /** Services the agent wraps. */
  services: string[]
  /** Base latency of a request, ms. */
  latencyMs: number
  /** Every Nth request fails with HTTP 500 whatever the fault (0: never). */
  failEvery: number
  /** The service has a fallback: an injected fault does not fail the request. */
  resilient: boolean
  /** DELETE of the experiment answers 500. */
  deleteFails: boolean
  /** Stop-all answers 500 and leaves the experiment active. */
  stopAllFails: boolean
  /** Ms after the start at which the target forgets the experiment (GET → 404). */
  loseAfterMs: number | null
  /** Ms after the start at which the metrics show a counter reset. */
  restartAfterMs: number | null
  /** Ms after the start from which /metrics cannot be read. */
  metricsDownAfterMs: number | null
  /** Every control call fails as unreachable. */
  unreachable: boolean
  /** Responses to tagged requests say how many faults they met (x-chaos-faults). */
  tagsResponses: boolean
  /** After a DELETE, requests keep failing (HTTP 503) for this long: a slow recovery. */
  failsAfterRollbackMs: number
  /** The agent answers DELETE and reads back "nothing active", but keeps injecting (a lying agent). */
  keepsInjectingAfterDelete: boolean
  /** /metrics cannot be read at all, from the start. */
  noMetrics: boolean
  /** Metric families its /metrics exports (false: the family is absent from the scrape). */
  exports: { breaker_trips?: boolean; faults_injected?: boolean }
  /** GET /chaos `environment`, as the agent spells it (undefined: the field is absent). */
  environment: string | undefined
  /**
   * Ms after the start from which the target is frozen (SIGSTOP): no control call, scrape or
   * request gets an answer. A control call then ends only by its caller's signal or, as with the
   * HTTP client, its own {@link CONTROL_TIMEOUT_MS}; a scrape fails after the probe's 3 s.
   */
  frozenAfterMs: number | null
  /** The start call answers 409 (another runner's experiment started between preflight and start). */
  startConflict: boolean
}

/** The scrape probe's own timeout (ms), as in src/engine/scrape-probe.ts. */
const SCRAPE_TIMEOUT_MS = 3000
/** The workload's per-request timeout (ms), as in src/engine/workload.ts. */
const REQUEST_TIMEOUT_MS = 10_000

interface Active {
  request: StartExperimentRequest
  startedAt: number
  calls: number
  faults: number
}

/** One call the runner made, for assertions. */
export interface ControlCall {
  op: 'info' | 'start' | 'get' | 'renew' | 'stop' | 'stopAll'
  at: number
  id?: string
}

/** Answers asynchronously, as a network call would: a throw becomes a rejection. */
function answerNow<T>(fn: () => T): Promise<T> {
  return Promise.resolve().then(fn)
}

export class FakeTarget {
  readonly knobs: FakeTargetKnobs
  readonly calls: ControlCall[] = []
  private active: Active | null = null
  /** An experiment the target says it ended but still injects (keepsInjectingAfterDelete). */
  private ghost: Active | null = null
  /** When the experiment was deleted (for failsAfterRollbackMs). */
  private rolledBackAt: number | null = null
  /** Cumulative faults for every experiment id ever run (a Prometheus counter). */
  private readonly faultsById = new Map<string, number>()
  private breakerTrips = 0
  private served = 0

  constructor(
    readonly clock: Clock,
    knobs: Partial<FakeTargetKnobs> = {},
    readonly target = 'http://fake-target.test',
  ) {
    this.knobs = {
      services: ['pms_adapter'],
      latencyMs: 10,
      failEvery: 0,
      resilient: false,
      deleteFails: false,
      stopAllFails: false,
      loseAfterMs: null,
      restartAfterMs: null,
      metricsDownAfterMs: null,
      unreachable: false,
      tagsResponses: true,
      failsAfterRollbackMs: 0,
      keepsInjectingAfterDelete: false,
      noMetrics: false,
      exports: {},
      environment: undefined,
      frozenAfterMs: null,
      startConflict: false,
      ...knobs,
    }
  }

  /** Whether an experiment is active on the target now. */
  get isActive(): boolean {
    return this.active !== null && !this.lost()
  }

  /** Calls of one kind. */
  callsOf(op: ControlCall['op']): ControlCall[] {
    return this.calls.filter((c) => c.op === op)
  }

  /** Serves one workload request: the outcome, how long it takes, the faults it met (if tagged). */
  serve(): { latencyMs: number; failure: FailureClass | null; faults: number | null } {
    if (this.frozen()) return { latencyMs: REQUEST_TIMEOUT_MS, failure: 'TIMEOUT', faults: null }
    const n = this.served++
    let failure: FailureClass | null =
      this.knobs.failEvery > 0 && n % this.knobs.failEvery === 0 ? 'HTTP_500' : null
    let latencyMs = this.knobs.latencyMs
    let met = 0
    if (
      this.rolledBackAt !== null &&
      this.clock.monotonic() < this.rolledBackAt + this.knobs.failsAfterRollbackMs
    )
      failure = 'HTTP_503'
    const a = this.isActive ? this.active! : this.ghost
    if (a) {
      const fault = a.request.fault_config
      const before = Math.floor(a.calls * fault.probability)
      a.calls++
      if (Math.floor(a.calls * fault.probability) > before) {
        a.faults++
        met++
        this.faultsById.set(a.request.id, (this.faultsById.get(a.request.id) ?? 0) + 1)
        if (fault.fault_type === 'LATENCY') latencyMs += fault.latency_ms
        else if (!this.knobs.resilient) failure = 'HTTP_500'
        else this.breakerTrips++
      }
    }
    // An agent tags only the responses of requests tagged with the running experiment's id.
    return { latencyMs, failure, faults: this.knobs.tagsResponses && a ? met : null }
  }

  /** Whether the target is frozen now (knob `frozenAfterMs`, counted from the experiment's start). */
  frozen(): boolean {
    const at = this.knobs.frozenAfterMs
    return at !== null && this.startedAt !== null && this.clock.monotonic() - this.startedAt >= at
  }

  /** When the experiment was started (monotonic), null before. */
  private startedAt: number | null = null

  /** The control client the runner uses. */
  client(): ControlClient {
    const answer = <T>(fn: () => T, signal?: AbortSignal): Promise<T> =>
      this.frozen() ? this.noAnswer(signal) : answerNow(fn)
    return {
      target: this.target,
      info: (signal) =>
        answer(() => {
          this.note('info')
          return this.info()
        }, signal),
      start: (body) =>
        answer(() => {
          this.note('start', body.id)
          if (this.knobs.startConflict)
            throw new ControlError('POST /experiments → 409: another experiment is running', 409)
          if (this.active && !this.lost())
            throw new ControlError(`POST /experiments → 409: ${this.active.request.id} running`, 409)
          this.active = { request: body, startedAt: this.clock.monotonic(), calls: 0, faults: 0 }
          this.startedAt ??= this.clock.monotonic()
          return this.view(this.active, 'RUNNING')
        }),
      get: (id, signal) =>
        answer(() => {
          this.note('get', id)
          return this.viewOf(id)
        }, signal),
      renew: (id, _lease, signal) =>
        answer(() => {
          this.note('renew', id)
          return this.viewOf(id)
        }, signal),
      stop: (id, signal) =>
        answer(() => {
          this.note('stop', id)
          if (this.knobs.deleteFails) throw new ControlError(`DELETE /experiments/${id} → 500: boom`, 500)
          const view = this.viewOf(id)
          if (this.knobs.keepsInjectingAfterDelete) this.ghost = this.active
          this.active = null
          this.rolledBackAt = this.clock.monotonic()
          return { ...view, state: 'COMPLETED' }
        }, signal),
      stopAll: (signal) =>
        answer(() => {
          this.note('stopAll')
          if (this.knobs.stopAllFails) throw new ControlError('DELETE /experiments → 500: boom', 500)
          const stopped = this.active ? [this.view(this.active, 'COMPLETED')] : []
          this.active = null
          return stopped
        }, signal),
    }
  }

  /** A frozen target's answer: none. The call ends by its signal or its own timeout, like over HTTP. */
  private noAnswer<T>(signal?: AbortSignal): Promise<T> {
    this.frozenCalls++
    return new Promise<T>((_, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error)
      const timer = this.clock.setTimeout(
        () => reject(new ControlTimeoutError(this.target, CONTROL_TIMEOUT_MS)),
        CONTROL_TIMEOUT_MS,
      )
      signal?.addEventListener(
        'abort',
        () => {
          this.clock.clearTimeout(timer)
          reject(signal.reason as Error)
        },
        { once: true },
      )
    })
  }

  /** Control calls made while frozen (none of them was answered). */
  frozenCalls = 0

  /** The metrics probe the runner uses (cumulative counters, like a Prometheus scrape). */
  probe(): MetricsProbe {
    return {
      sample: (experimentId, _service, signal) =>
        this.frozen()
          ? new Promise<ProbeSample | null>((resolve) => {
              if (signal?.aborted) return resolve(null)
              // The scrape probe's timeout: an unreadable scrape is null.
              const timer = this.clock.setTimeout(() => resolve(null), SCRAPE_TIMEOUT_MS)
              signal?.addEventListener('abort', () => {
                this.clock.clearTimeout(timer)
                resolve(null)
              })
            })
          : answerNow<ProbeSample | null>(() => {
              const since = this.active ? this.clock.monotonic() - this.active.startedAt : -1
              if (this.knobs.noMetrics) return null
              if (this.knobs.metricsDownAfterMs !== null && since >= this.knobs.metricsDownAfterMs)
                return null
              const restarted = this.knobs.restartAfterMs !== null && since >= this.knobs.restartAfterMs
              const exports = this.knobs.exports
              return {
                breaker_trips: exports.breaker_trips === false ? null : this.breakerTrips,
                faults_injected:
                  exports.faults_injected === false
                    ? null
                    : restarted
                      ? 0
                      : (this.faultsById.get(experimentId) ?? 0),
                breaker_state: this.isActive && this.knobs.resilient ? 'OPEN' : 'CLOSED',
                restarted,
              }
            }),
    }
  }

  /** A workload sending `rate` requests per second to this target on the virtual clock. */
  workload(rate: number): Workload {
    return new FakeWorkload(this, rate)
  }

  private info(): AgentInfo {
    return {
      agent: 'chaos-playbook',
      protocol: 1,
      service: 'fake',
      instance: 'fake-1',
      ...(this.knobs.environment !== undefined && { environment: this.knobs.environment }),
      services: this.knobs.services,
      active_experiments: this.isActive ? [this.view(this.active!, 'RUNNING')] : [],
    }
  }

  private lost(): boolean {
    return (
      this.active !== null &&
      this.knobs.loseAfterMs !== null &&
      this.clock.monotonic() - this.active.startedAt >= this.knobs.loseAfterMs
    )
  }

  private viewOf(id: string): ExperimentView {
    if (!this.active || this.active.request.id !== id || this.lost())
      throw new ControlError(`GET /experiments/${id} → 404: no such experiment`, 404)
    return this.view(this.active, 'RUNNING')
  }

  private view(a: Active, state: ExperimentView['state']): ExperimentView {
    const iso = new Date(this.clock.now()).toISOString()
    return {
      id: a.request.id,
      target_service: a.request.target_service,
      fault_config: a.request.fault_config,
      state,
      started_at: iso,
      lease_expires_at: iso,
      ended_at: state === 'RUNNING' ? null : iso,
      calls_seen: a.calls,
      faults_injected: a.faults,
    }
  }

  private note(op: ControlCall['op'], id?: string): void {
    this.calls.push({ op, at: this.clock.monotonic(), id })
    if (this.knobs.unreachable) throw new UnreachableError(`${this.target} unreachable: ECONNREFUSED`)
  }
}

/** A constant-rate workload on the virtual clock, writing the same timeline a real one does. */
class FakeWorkload implements Workload {
  private line: Timeline | null = null
  private timer: unknown = null
  private readonly pending = new Set<{ intendedAt: number; timer: unknown }>()
  private waiters: Array<() => void> = []
  private arrivals = 0
  private counted = { successful: 0, failed: 0 }
  stoppedAt: number | null = null

  constructor(
    private readonly target: FakeTarget,
    private readonly rate: number,
  ) {}

  get timeline(): Timeline {
    return this.line!
  }

  get targets(): readonly string[] {
    return [this.target.target]
  }

  start(): Timeline {
    const clock = this.target.clock
    this.line = new Timeline({ t0: clock.monotonic(), wallT0: clock.now() })
    this.arrive()
    return this.line
  }

  catchUp(): void {
    // Arrivals fire exactly on time on a virtual clock: nothing is ever behind.
  }

  async stop(options: { abort?: boolean } = {}): Promise<void> {
    const clock = this.target.clock
    if (this.stoppedAt === null) {
      this.stoppedAt = clock.monotonic()
      clock.clearTimeout(this.timer)
      this.line!.close(this.stoppedAt)
    }
    if (options.abort) for (const p of [...this.pending]) this.finish(p, 'CANCELLED')
    await this.whenSettled()
  }

  counts(): WorkloadCounts {
    const c = this.line!.counts()
    return {
      arrivals: this.arrivals,
      sent: c.sent,
      successful: this.counted.successful,
      failed: this.counted.failed,
      in_flight: c.in_flight,
      dropped: c.dropped,
      failures_by_class: {},
    }
  }

  whenSettled(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private arrive = (): void => {
    const clock = this.target.clock
    const intendedAt = this.line!.t0 + (this.arrivals++ * 1000) / this.rate
    this.line!.recordSent(intendedAt)
    const outcome = this.target.serve()
    const p = { intendedAt, timer: null as unknown }
    p.timer = clock.setTimeout(() => this.finish(p, outcome.failure, outcome.faults), outcome.latencyMs)
    this.pending.add(p)
    const next = this.line!.t0 + (this.arrivals * 1000) / this.rate
    this.timer = clock.setTimeout(this.arrive, next - clock.monotonic())
  }

  private finish(
    p: { intendedAt: number; timer: unknown },
    failure: FailureClass | null,
    faults: number | null = null,
  ): void {
    if (!this.pending.delete(p)) return
    this.target.clock.clearTimeout(p.timer)
    this.line!.recordFinished(p.intendedAt, this.target.clock.monotonic(), failure, faults)
    if (failure === null) this.counted.successful++
    else this.counted.failed++
    if (this.pending.size === 0) {
      const waiters = this.waiters
      this.waiters = []
      for (const w of waiters) w()
    }
  }
}
