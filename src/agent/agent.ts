/**
 * The chaos agent: wraps a service's outbound calls, keeps the experiment running on this instance
 * (one at a time, guarded by a lease), and answers the control endpoint (see control.ts and
 * docs/control-protocol.md).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { getHeapStatistics } from 'node:v8'
import { Registry } from 'prom-client'
import type { z } from 'zod'
import { systemClock, type Clock } from '../clock.js'
import { silentLogger, type Logger } from '../logger.js'
import {
  EXPERIMENT_HEADER,
  FAULTS_HEADER,
  isProductionEnvironment,
  MAX_EXPERIMENT_SECONDS,
  MIN_TOKEN_LENGTH,
  normalizeEnvironment,
  PROTOCOL_VERSION,
  RenewLeaseRequest,
  ServiceName,
  StartExperimentRequest,
  type AgentInfo,
  type ExperimentState,
  type FaultConfig,
} from '../protocol/schemas.js'
import { SIGNATURE_HEADER, expectedSignature, signatureMatches } from '../protocol/tag.js'
import { fastifyPlugin, type FastifyLikePlugin } from './adapters.js'
import { handleControl, sendJson, type ControlTarget } from './control.js'
import { defaultEnv, defaultInstance } from './defaults.js'
import { ChaosControlError } from './errors.js'
import { Experiment, type AgentExperimentView, type EndReason, type ServiceSlot } from './experiment.js'
import { createFault } from './faults/index.js'
import { createAgentMetrics, type AgentMetrics } from './metrics.js'

/** Ended experiments kept so that GET /chaos/experiments/:id can still report their final state. */
export const HISTORY_LIMIT = 32

/** Injections are logged as one aggregated chaos_fault_injected line per experiment per this period. */
export const FAULT_LOG_INTERVAL_MS = 1000

export interface ChaosAgentOptions {
  /** Name of the host service, e.g. 'hotel'. */
  service: string
  /** Instance name reported by GET /chaos; default `${hostname}:${pid}`. */
  instance?: string
  /** Bearer token for the control endpoint; required when enabled. */
  token?: string
  /** Off by default: when false every control route answers 404 and wrap() is a pass-through. */
  enabled: boolean
  /**
   * The agent refuses to enable in production unless this is true: when NODE_ENV or `environment`
   * names production in any case or spacing (`PRODUCTION`, ` production`, `prod`).
   */
  allowProduction?: boolean
  /**
   * Reported by GET /chaos as `environment`, normalised (trimmed, lower case, `prod` →
   * `production`); default env.NODE_ENV, else 'development'.
   */
  environment?: string
  /**
   * Environment variables; default process.env. Together with the default instance name (pid) this is
   * the only thing the agent reads from `process`.
   */
  env?: Record<string, string | undefined>
  /** Path prefix of the control endpoint; default '/chaos'. */
  prefix?: string
  /** Where the agent's metrics are registered (default: a new Registry). One agent per registry. */
  registry?: Registry
  /** Receives one JSON-line event per control call and state change; default silent. */
  logger?: Logger
  /** Randomness for call selection and jitter (default Math.random); inject a seeded one in tests. */
  random?: () => number
  /** Time source for leases, delays and rate windows; default systemClock. */
  clock?: Clock
  /** Hard cap on an experiment's life from its start, whatever the lease; default and maximum 1800. */
  maxLeaseSeconds?: number
  /**
   * Host-specific refusal: called for a valid POST /chaos/experiments before it starts, with each
   * service the experiment would reach (the target, or every service for ENTIRE_SYSTEM). Lines it
   * returns refuse the experiment with 400 and those lines as `problems` (e.g. `chaos proxy`
   * refuses memory pressure, which acts on a process it does not run). Default: refuse nothing.
   */
  refuse?: (service: string, config: FaultConfig) => string[]
}

/**
 * A fault the running experiment gives to one unit of proxied traffic (an HTTP request, a TCP
 * connection): what {@link ChaosAgent.select} returns for a selected one. A host applies it either
 * with `apply()` (the agent's own fault module decides, waits and counts) or by its own means,
 * calling `injected()` once when it does (a TCP data plane squeezing bandwidth) — not both.
 */
export interface FaultSelection {
  /** Id of the experiment (the `experiment` label of chaos_agent_faults_injected_total). */
  readonly experimentId: string
  /** The experiment's validated fault_config. */
  readonly config: FaultConfig
  /** Aborted when the experiment ends (DELETE, emergency stop, lease expiry, close): stop the fault then. */
  readonly signal: AbortSignal
  /** Counts one injected fault (metrics, faults_injected); does nothing once the experiment ended. A bound function. */
  readonly injected: () => void
  /**
   * Runs the experiment's fault module on this unit, as wrap() would on a call: `null` when the
   * fault lets it through untouched (RATE_LIMIT under its limit: not counted); otherwise counts one
   * injection and returns a promise that resolves when the unit may proceed (after a LATENCY wait,
   * or at once when rolled back during a wait) or rejects with a ChaosInjectedError (EXCEPTION,
   * TIMEOUT after its wait, CIRCUIT_BREAK, RATE_LIMIT with `retry_after_seconds`). `callerSignal`
   * (the client went away) ends a wait early with its reason.
   */
  apply(callerSignal?: AbortSignal): Promise<void> | null
}

/** The experiment currently affecting a service, as {@link ChaosAgent.affecting} reports it. */
export interface AffectingExperiment {
  readonly experimentId: string
  /** Aborted when that experiment ends. */
  readonly signal: AbortSignal
}

/** A standard (TS 5+) decorator for async class methods. */
export type ChaosMethodDecorator = <This, A extends unknown[], R>(
  method: (this: This, ...args: A) => Promise<R>,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => Promise<R>>,
) => (this: This, ...args: A) => Promise<R>

export interface ChaosAgent {
  /**
   * Wraps an async function as a call to `targetService` (which is then listed in GET /chaos
   * `services`). Calls go to `fn` unchanged unless a running experiment targets the service and selects
   * the call. The caller's AbortSignal (an argument that is one, or an object argument's `signal`) ends
   * fault waits early with the signal's reason.
   */
  wrap<A extends unknown[], R>(
    targetService: string,
    fn: (...args: A) => Promise<R>,
  ): (...args: A) => Promise<R>
  /** Decorator form of wrap() for async methods, like the guide's `@chaos_middleware(service_name=...)`. */
  chaos(targetService: string): ChaosMethodDecorator
  /** Control endpoint handler; resolves false (and does nothing) when the URL is not under the prefix. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>
  /** A complete node:http listener for a standalone control server (404 outside the prefix). */
  listener(): (req: IncomingMessage, res: ServerResponse) => void
  /** Express-style middleware (no express dependency); calls next() outside the prefix. */
  express(): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void
  /** Fastify plugin (no fastify dependency); register it without a `prefix` option. */
  fastify(): FastifyLikePlugin
  /**
   * Inbound-request hook: runs `fn` with the request's headers as context. Requests tagged with the
   * running experiment's id (`x-chaos-experiment`) and its signature (`x-chaos-signature`, the
   * HMAC-SHA256 of the id keyed with the token) are the only ones a SINGLE_REQUEST fault touches;
   * given the response, the agent also sets `x-chaos-faults: <n>` on it (the faults injected
   * while serving it), so the runner can count the requests that met a fault. A tag without a
   * valid signature is ignored, as if absent.
   */
  runWithRequest<T>(headers: IncomingHttpHeaders, fn: () => T, res?: ResponseHeadLike): T
  /**
   * Lists `service` in GET /chaos `services` without a wrap(): for hosts that select traffic
   * themselves with {@link ChaosAgent.select} (`chaos proxy` registers each route's name).
   * Throws when the name is not a valid service name. Idempotent.
   */
  register(service: string): void
  /**
   * The proxy hook: decides whether one unit of traffic to `service` (an HTTP request, a new TCP
   * connection) meets the running experiment's fault, as wrap() decides for a call. It counts the
   * unit as a call of `service` (chaos_agent_calls_total); with an experiment affecting the service
   * it applies SINGLE_REQUEST (only units whose `headers` carry the running experiment's signed tag:
   * `x-chaos-experiment` + `x-chaos-signature`, or the same two keys in a W3C `baggage` header,
   * `baggage: x-chaos-experiment=<id>,x-chaos-signature=<hex>`; values percent-decoded), counts it
   * in calls_seen, then draws the fault's probability. Returns the {@link FaultSelection} to apply,
   * or null (let it through untouched). Cheap when nothing runs: one counter bump and one read.
   */
  select(service: string, headers?: IncomingHttpHeaders): FaultSelection | null
  /**
   * The experiment affecting `service` now (whatever its blast radius or probability), or null.
   * Counts nothing: lets a host that memoises selections (per TCP connection) see cheaply that the
   * experiment changed.
   */
  affecting(service: string): AffectingExperiment | null
  readonly registry: Registry
  readonly enabled: boolean
  readonly prefix: string
  /** Wrapped target services. */
  services(): string[]
  /** GET /chaos answer. */
  info(): AgentInfo
  activeExperiments(): AgentExperimentView[]
  /** Running or recently ended experiment, or undefined. */
  getExperiment(id: string): AgentExperimentView | undefined
  /** Starts an experiment from a POST /chaos/experiments body; throws ChaosControlError when refused. */
  startExperiment(body: unknown): AgentExperimentView
  /** Renews a lease from a PUT …/lease body; throws ChaosControlError (404, 410, 400). */
  renewLease(id: string, body: unknown): AgentExperimentView
  /** Stops (rolls back) one experiment: state COMPLETED. Throws ChaosControlError (404, 410). */
  stopExperiment(id: string): AgentExperimentView
  /** Emergency stop, same as DELETE /chaos/experiments: returns what was stopped. */
  stopAll(reason?: string): AgentExperimentView[]
  /** Rolls back everything, clears timers, releases pressure; the agent refuses new experiments after. */
  close(): Promise<void>
}

/** The part of a response the inbound hook touches (node:http `ServerResponse` has it). */
export interface ResponseHeadLike {
  headersSent: boolean
  setHeader(name: string, value: string): unknown
  writeHead: (...args: never[]) => unknown
}

/** What the agent knows about one tagged inbound request while it is served. */
interface RequestScope {
  /** The experiment the request was tagged (and signed) for. */
  experiment: Experiment
  /** Faults injected while serving it. */
  faults: number
}

/** Creates an agent; throws when asked to enable in production (without allowProduction) or without a token. */
export function createChaosAgent(options: ChaosAgentOptions): ChaosAgent {
  return new ChaosAgentImpl(options)
}

type Fn<A extends unknown[], R> = (...args: A) => Promise<R>

class ChaosAgentImpl implements ChaosAgent, ControlTarget {
  readonly registry: Registry
  readonly enabled: boolean
  readonly prefix: string
  readonly logger: Logger
  private readonly service: string
  private readonly instance: string
  private readonly environment: string
  private readonly random: () => number
  private readonly clock: Clock
  private readonly maxLeaseMs: number
  private readonly refuse: ((service: string, config: FaultConfig) => string[]) | undefined
  private readonly tokenDigest: Buffer | null
  /** Key of the workload tag's signature (the token); null when disabled. */
  private readonly tagKey: string | null
  private readonly slots = new Map<string, ServiceSlot>()
  /** Running and recently ended experiments, oldest first. */
  private readonly experiments = new Map<string, Experiment>()
  private running: Experiment | null = null
  private readonly requestContext = new AsyncLocalStorage<RequestScope>()
  private readonly metrics: AgentMetrics
  private closed = false

  constructor(options: ChaosAgentOptions) {
    const env = options.env ?? defaultEnv()
    if (typeof options.service !== 'string' || options.service === '') {
      throw new Error('chaos agent: `service` must name the host service, e.g. "hotel"')
    }
    const prefix = (options.prefix ?? '/chaos').replace(/\/+$/, '')
    if (!/^\/[A-Za-z0-9_.~\-/]*$/.test(prefix) || prefix === '') {
      throw new Error(`chaos agent: prefix "${options.prefix}" must be a URL path such as /chaos`)
    }
    const maxLeaseSeconds = options.maxLeaseSeconds ?? MAX_EXPERIMENT_SECONDS
    if (!(maxLeaseSeconds > 0 && maxLeaseSeconds <= MAX_EXPERIMENT_SECONDS)) {
      throw new Error(
        `chaos agent: maxLeaseSeconds must be in (0, ${MAX_EXPERIMENT_SECONDS}], got ${maxLeaseSeconds}`,
      )
    }
    if (options.enabled) {
      // Either source naming production counts: a staging label must not hide NODE_ENV=production.
      const production = isProductionEnvironment(env.NODE_ENV)
        ? { source: `NODE_ENV=${env.NODE_ENV}`, raw: env.NODE_ENV }
        : isProductionEnvironment(options.environment)
          ? { source: `environment: ${JSON.stringify(options.environment)}`, raw: options.environment }
          : null
      if (production !== null && options.allowProduction !== true) {
        const readAs = production.raw === 'production' ? '' : ' (read as production)'
        throw new Error(
          `chaos agent refused to enable: ${production.source}${readAs}. Pass allowProduction: true to run chaos experiments in production deliberately, or set enabled: false`,
        )
      }
      if (typeof options.token !== 'string' || options.token.trim() === '') {
        throw new Error(
          'chaos agent refused to enable without a token: pass `token` (e.g. from CHAOS_TOKEN) so the control endpoint requires Authorization: Bearer <token>',
        )
      }
      if (/\s/.test(options.token)) {
        throw new Error(
          'chaos agent: `token` must not contain whitespace (it travels as "Authorization: Bearer <token>")',
        )
      }
      if (options.token.length < MIN_TOKEN_LENGTH) {
        throw new Error(
          `chaos agent: \`token\` is ${options.token.length} characters; use at least ${MIN_TOKEN_LENGTH} (a random one, e.g. \`openssl rand -hex 32\`)`,
        )
      }
    }
    this.enabled = options.enabled === true
    this.service = options.service
    this.instance = options.instance ?? defaultInstance()
    this.environment =
      normalizeEnvironment(options.environment) ?? normalizeEnvironment(env.NODE_ENV) ?? 'development'
    this.prefix = prefix
    this.logger = options.logger ?? silentLogger
    this.random = options.random ?? Math.random
    this.clock = options.clock ?? systemClock
    this.maxLeaseMs = maxLeaseSeconds * 1000
    this.refuse = options.refuse
    this.tokenDigest = this.enabled ? digest(options.token!) : null
    this.tagKey = this.enabled ? options.token! : null
    this.registry = options.registry ?? new Registry()
    this.metrics = createAgentMetrics(this.registry, () => this.slots.values())
  }

  // ---- wrapping (the hot path) -------------------------------------------------------------------

  wrap<A extends unknown[], R>(targetService: string, fn: Fn<A, R>): Fn<A, R> {
    if (typeof fn !== 'function')
      throw new TypeError(`chaos agent: wrap("${targetService}", fn) needs a function`)
    const slot = this.slot(targetService)
    if (!this.enabled) return fn
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper must keep its caller's `this`
    const agent = this
    // Hot path: one counter bump and one property read when the service is not under experiment.
    // Reflect.apply measured clearly cheaper here than fn.apply (bench/agent.bench.ts).
    const wrapped = function (this: unknown, ...args: A): Promise<R> {
      slot.calls++
      const experiment = slot.active
      if (experiment === null) return Reflect.apply(fn, this, args)
      return agent.intercept(experiment, slot, fn, this, args)
    }
    Object.defineProperty(wrapped, 'name', { value: fn.name || targetService, configurable: true })
    return wrapped
  }

  chaos(targetService: string): ChaosMethodDecorator {
    // Validate (and register the service) when the decorator is created, not at first call.
    this.slot(targetService)
    return (method, context) => {
      if (context.kind !== 'method') throw new TypeError('@chaos() decorates async class methods only')
      return this.wrap(targetService, method as Fn<unknown[], unknown>) as typeof method
    }
  }

  runWithRequest<T>(headers: IncomingHttpHeaders, fn: () => T, res?: ResponseHeadLike): T {
    // Only requests tagged for the running experiment (the runner's own workload) pay for async
    // context tracking; real users' requests and every request outside an experiment do not.
    // The id is public (a /metrics label): only the signature proves the tag comes from the token's
    // holder, so an unsigned or wrongly signed tag counts as no tag.
    const running = this.running
    if (
      running === null ||
      headers[EXPERIMENT_HEADER] !== running.id ||
      running.tagSignature === null ||
      !signatureMatches(headers[SIGNATURE_HEADER], running.tagSignature)
    )
      return fn()
    const scope: RequestScope = { experiment: running, faults: 0 }
    if (res) tagResponse(res, scope)
    return this.requestContext.run(scope, fn)
  }

  register(service: string): void {
    this.slot(service)
  }

  select(service: string, headers?: IncomingHttpHeaders): FaultSelection | null {
    const slot = this.slots.get(service) ?? this.slot(service)
    slot.calls++
    const experiment = slot.active
    if (experiment === null || !this.enabled) return null
    if (experiment.singleRequest && (headers === undefined || !isTaggedFor(headers, experiment))) return null
    experiment.callsSeen++
    if (!experiment.injecting || !(this.random() < experiment.probability)) return null
    const injected = () => {
      if (experiment.state === 'RUNNING') this.recordInjection(experiment, slot)
    }
    return {
      experimentId: experiment.id,
      config: experiment.config,
      signal: experiment.rollback.signal,
      injected,
      apply: (callerSignal) => {
        if (experiment.state !== 'RUNNING') return null
        const pending = experiment.fault!.apply({
          experiment: experiment.id,
          service,
          signal: callerSignal,
          rollback: experiment.rollback.signal,
        })
        if (pending !== null) injected()
        return pending
      },
    }
  }

  affecting(service: string): AffectingExperiment | null {
    const experiment = this.slots.get(service)?.active ?? null
    return experiment === null ? null : { experimentId: experiment.id, signal: experiment.rollback.signal }
  }

  private slot(name: string): ServiceSlot {
    let slot = this.slots.get(name)
    if (slot !== undefined) return slot
    const valid = ServiceName.safeParse(name)
    if (!valid.success) {
      throw new Error(
        `chaos agent: target service "${name}" ${valid.error.issues[0]?.message ?? 'is invalid'}`,
      )
    }
    const running = this.running
    slot = {
      name,
      calls: 0,
      reported: 0,
      active: running !== null && running.config.blast_radius === 'ENTIRE_SYSTEM' ? running : null,
    }
    this.slots.set(name, slot)
    this.metrics.calls.inc({ target_service: name }, 0)
    return slot
  }

  /** The slow path: an experiment affects this service; decide whether this call is selected. */
  private intercept<A extends unknown[], R>(
    experiment: Experiment,
    slot: ServiceSlot,
    fn: Fn<A, R>,
    self: unknown,
    args: A,
  ): Promise<R> {
    const scope = this.requestContext.getStore()
    const tagged = scope !== undefined && scope.experiment === experiment
    if (experiment.singleRequest && !tagged) return Reflect.apply(fn, self, args)
    experiment.callsSeen++
    if (!experiment.injecting || !(this.random() < experiment.probability))
      return Reflect.apply(fn, self, args)
    const pending = experiment.fault!.apply({
      experiment: experiment.id,
      service: slot.name,
      signal: findSignal(args),
      rollback: experiment.rollback.signal,
    })
    if (pending === null) return Reflect.apply(fn, self, args)
    this.recordInjection(experiment, slot)
    if (tagged) scope.faults++
    return pending.then(() => Reflect.apply(fn, self, args))
  }

  private recordInjection(experiment: Experiment, slot: ServiceSlot): void {
    experiment.faultsInjected++
    experiment.pendingLog++
    let counter = experiment.counters.get(slot.name)
    if (counter === undefined) {
      counter = this.metrics.faults.labels({
        experiment: experiment.id,
        target_service: slot.name,
        fault_type: experiment.config.fault_type,
      })
      experiment.counters.set(slot.name, counter)
    }
    counter.inc()
    if (experiment.logTimer === null) {
      const handle = this.clock.setTimeout(() => this.flushFaultLog(experiment), FAULT_LOG_INTERVAL_MS)
      handle.unref?.()
      experiment.logTimer = handle
    }
  }

  private flushFaultLog(experiment: Experiment): void {
    experiment.logTimer = null
    if (experiment.pendingLog === 0) return
    this.logger.info('chaos_fault_injected', {
      experiment: experiment.id,
      target_service: experiment.targetService,
      fault_type: experiment.config.fault_type,
      blast_radius: experiment.config.blast_radius,
      count: experiment.pendingLog,
      faults_injected: experiment.faultsInjected,
      calls_seen: experiment.callsSeen,
    })
    experiment.pendingLog = 0
  }

  // ---- experiments -------------------------------------------------------------------------------

  services(): string[] {
    return [...this.slots.keys()]
  }

  info(): AgentInfo {
    return {
      agent: 'chaos-playbook',
      protocol: PROTOCOL_VERSION,
      service: this.service,
      instance: this.instance,
      environment: this.environment,
      services: this.services(),
      active_experiments: this.activeExperiments(),
    }
  }

  activeExperiments(): AgentExperimentView[] {
    return this.running === null ? [] : [this.running.view()]
  }

  /** Running experiment first, then ended ones, newest first. */
  listExperiments(): AgentExperimentView[] {
    return [...this.experiments.values()].reverse().map((e) => e.view())
  }

  getExperiment(id: string): AgentExperimentView | undefined {
    return this.experiments.get(id)?.view()
  }

  startExperiment(body: unknown): AgentExperimentView {
    if (!this.enabled) throw new ChaosControlError(404, 'chaos agent is not enabled')
    if (this.closed) throw new ChaosControlError(409, 'chaos agent is closed')
    const parsed = StartExperimentRequest.safeParse(body)
    if (!parsed.success) throw new ChaosControlError(400, 'invalid experiment', problemsOf(parsed.error))
    const request = parsed.data
    const radius = request.fault_config.blast_radius
    const known =
      this.slots.has(request.target_service) ||
      (radius === 'ENTIRE_SYSTEM' && request.target_service === this.service)
    if (!known) {
      const wrapped = this.services().join(', ') || 'none'
      throw new ChaosControlError(400, 'unknown target service', [
        `target_service: "${request.target_service}" is not a wrapped service of ${this.service} (wrapped: ${wrapped})`,
      ])
    }
    if (this.refuse !== undefined) {
      const reached = radius === 'ENTIRE_SYSTEM' ? this.services() : [request.target_service]
      const problems = reached.flatMap((service) => this.refuse!(service, request.fault_config))
      if (problems.length > 0) {
        throw new ChaosControlError(400, `${request.fault_config.fault_type} does not apply here`, problems)
      }
    }
    if (this.running !== null) {
      throw new ChaosControlError(
        409,
        `experiment "${this.running.id}" is already running on this instance (one at a time); stop it first`,
        undefined,
        this.running.view(),
      )
    }
    const now = this.clock.now()
    const hardDeadline = now + this.maxLeaseMs
    const leaseExpiresAt = Math.min(now + request.lease_seconds * 1000, hardDeadline)
    const experiment = new Experiment(
      request.id,
      request.target_service,
      request.fault_config,
      now,
      leaseExpiresAt,
      hardDeadline,
    )
    // Computed once per experiment: each tagged request costs one constant-time compare.
    experiment.tagSignature = this.tagKey === null ? null : expectedSignature(this.tagKey, request.id)
    experiment.fault = createFault(request.fault_config, {
      experiment: request.id,
      random: this.random,
      clock: this.clock,
      heapLimitBytes: getHeapStatistics().heap_size_limit,
    })
    // An id may be reused once its previous run has ended: the new run replaces it in the history.
    const previous = this.experiments.get(request.id)
    if (previous !== undefined) this.forgetSeries(previous, experiment)
    this.experiments.delete(request.id)
    this.experiments.set(request.id, experiment)
    this.running = experiment
    for (const slot of this.slots.values()) {
      if (radius === 'ENTIRE_SYSTEM' || slot.name === request.target_service) slot.active = experiment
    }
    this.metrics.active.set(this.activeLabels(experiment), 1)
    this.armLease(experiment)
    this.logger.info('chaos_experiment_started', {
      experiment: experiment.id,
      target_service: experiment.targetService,
      fault_type: request.fault_config.fault_type,
      blast_radius: radius,
      probability: request.fault_config.probability,
      enabled: request.fault_config.enabled,
      lease_seconds: request.lease_seconds,
      lease_expires_at: new Date(leaseExpiresAt).toISOString(),
    })
    return experiment.view()
  }

  renewLease(id: string, body: unknown): AgentExperimentView {
    const experiment = this.runningOrThrow(id)
    const parsed = RenewLeaseRequest.safeParse(body)
    if (!parsed.success) throw new ChaosControlError(400, 'invalid lease renewal', problemsOf(parsed.error))
    // A renewal never shortens the lease and never passes the hard deadline.
    const requested = this.clock.now() + parsed.data.lease_seconds * 1000
    experiment.leaseExpiresAt = Math.min(
      Math.max(experiment.leaseExpiresAt, requested),
      experiment.hardDeadline,
    )
    this.armLease(experiment)
    this.logger.info('chaos_experiment_lease_renewed', {
      experiment: experiment.id,
      lease_seconds: parsed.data.lease_seconds,
      lease_expires_at: new Date(experiment.leaseExpiresAt).toISOString(),
      capped: experiment.leaseExpiresAt === experiment.hardDeadline,
    })
    return experiment.view()
  }

  stopExperiment(id: string): AgentExperimentView {
    const experiment = this.runningOrThrow(id)
    this.end(experiment, 'COMPLETED', 'stopped')
    return experiment.view()
  }

  stopAll(reason = 'emergency stop'): AgentExperimentView[] {
    const running = this.running
    if (running !== null) this.end(running, 'COMPLETED', 'emergency_stop')
    const stopped = running === null ? [] : [running.view()]
    this.logger.warn('chaos_agent_emergency_stop', { reason, stopped: stopped.map((e) => e.id) })
    return stopped
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      const running = this.running
      if (running !== null) this.end(running, 'COMPLETED', 'agent_closed')
      this.requestContext.disable()
      this.logger.info('chaos_agent_closed', { service: this.service, instance: this.instance })
    }
    return Promise.resolve()
  }

  private runningOrThrow(id: string): Experiment {
    const experiment = this.experiments.get(id)
    if (experiment === undefined) throw new ChaosControlError(404, `unknown experiment "${id}"`)
    if (experiment.state !== 'RUNNING') {
      throw new ChaosControlError(
        410,
        `experiment "${id}" already ended (${experiment.state})`,
        undefined,
        experiment.view(),
      )
    }
    return experiment
  }

  private armLease(experiment: Experiment): void {
    if (experiment.leaseTimer !== null) this.clock.clearTimeout(experiment.leaseTimer)
    const handle = this.clock.setTimeout(
      () => this.onLeaseTimer(experiment),
      Math.max(0, experiment.leaseExpiresAt - this.clock.now()),
    )
    // The dead man's switch must not keep the host process alive on its own.
    handle.unref?.()
    experiment.leaseTimer = handle
  }

  private onLeaseTimer(experiment: Experiment): void {
    experiment.leaseTimer = null
    if (experiment.state !== 'RUNNING') return
    if (this.clock.now() < experiment.leaseExpiresAt) return this.armLease(experiment)
    const reason = experiment.leaseExpiresAt >= experiment.hardDeadline ? 'max_duration' : 'lease_expired'
    this.end(experiment, 'EXPIRED', reason)
  }

  /** Rollback: detaches the experiment from every service, ends its waits and releases its pressure. */
  private end(experiment: Experiment, state: Exclude<ExperimentState, 'RUNNING'>, reason: EndReason): void {
    if (experiment.state !== 'RUNNING') return
    experiment.state = state
    experiment.endedAt = this.clock.now()
    experiment.endReason = reason
    for (const slot of this.slots.values()) if (slot.active === experiment) slot.active = null
    if (this.running === experiment) this.running = null
    if (experiment.leaseTimer !== null) this.clock.clearTimeout(experiment.leaseTimer)
    experiment.leaseTimer = null
    if (experiment.logTimer !== null) this.clock.clearTimeout(experiment.logTimer)
    this.flushFaultLog(experiment)
    experiment.rollback.abort()
    experiment.fault?.release()
    // Stops async context tracking, so hosts pay nothing for it once the experiment is over.
    this.requestContext.disable()
    this.metrics.active.set(this.activeLabels(experiment), 0)
    this.logger.info(state === 'EXPIRED' ? 'chaos_experiment_expired' : 'chaos_experiment_completed', {
      experiment: experiment.id,
      target_service: experiment.targetService,
      fault_type: experiment.config.fault_type,
      state,
      reason,
      calls_seen: experiment.callsSeen,
      faults_injected: experiment.faultsInjected,
      duration_ms: experiment.endedAt - experiment.startedAt,
    })
    this.evictHistory()
  }

  private evictHistory(): void {
    let ended = 0
    for (const e of this.experiments.values()) if (e.state !== 'RUNNING') ended++
    for (const e of this.experiments.values()) {
      if (ended <= HISTORY_LIMIT) break
      if (e.state === 'RUNNING') continue
      this.experiments.delete(e.id)
      ended--
      this.forgetSeries(e)
    }
  }

  /**
   * Removes an experiment's labelled series when it leaves the history (evicted, or replaced by a
   * run reusing its id), so the label sets stay bounded: per id in the history, one
   * `chaos_agent_experiment_active` series and one `chaos_agent_faults_injected_total` series per
   * wrapped service (docs/control-protocol.md). Series the replacing run `next` writes again (same
   * labels) are kept, so its counter continues rather than resets under a scraper.
   */
  private forgetSeries(e: Experiment, next?: Experiment): void {
    const sameType = next !== undefined && next.config.fault_type === e.config.fault_type
    if (!sameType || next.targetService !== e.targetService) this.metrics.active.remove(this.activeLabels(e))
    if (sameType) return
    for (const service of e.counters.keys()) {
      this.metrics.faults.remove({
        experiment: e.id,
        target_service: service,
        fault_type: e.config.fault_type,
      })
    }
  }

  private activeLabels(experiment: Experiment) {
    return {
      experiment: experiment.id,
      target_service: experiment.targetService,
      fault_type: experiment.config.fault_type,
    }
  }

  // ---- control endpoint --------------------------------------------------------------------------

  authorize(header: string | undefined): boolean {
    if (this.tokenDigest === null || header === undefined) return false
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
    if (match === null) return false
    return timingSafeEqual(digest(match[1]!), this.tokenDigest)
  }

  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    return handleControl(this, req, res, req.url ?? '/')
  }

  listener(): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      void this.handle(req, res).then((handled) => {
        if (!handled) sendJson(res, 404, { error: 'not found' })
      })
    }
  }

  express(): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
    return (req, res, next) => {
      // Under a mounted router Express rewrites req.url; originalUrl keeps the full path.
      const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/'
      handleControl(this, req, res, url).then((handled) => {
        if (!handled) next()
      }, next)
    }
  }

  fastify(): FastifyLikePlugin {
    return fastifyPlugin(this)
  }
}

/** Finds the caller's AbortSignal among a call's arguments (directly, or as an object's `signal`). */
function findSignal(args: readonly unknown[]): AbortSignal | undefined {
  for (const arg of args) {
    if (arg instanceof AbortSignal) return arg
    if (typeof arg === 'object' && arg !== null && 'signal' in arg) {
      const signal = (arg as { signal?: unknown }).signal
      if (signal instanceof AbortSignal) return signal
    }
  }
  return undefined
}

/** Keys of the W3C `baggage` members that carry the signed tag (same names as the headers). */
export const BAGGAGE_EXPERIMENT_KEY = EXPERIMENT_HEADER
export const BAGGAGE_SIGNATURE_KEY = SIGNATURE_HEADER

/**
 * True when `headers` carry `experiment`'s signed tag: the two headers, else the same two keys
 * as members of a W3C `baggage` header (values percent-encoded; member properties after `;` ignored).
 */
function isTaggedFor(headers: IncomingHttpHeaders, experiment: Experiment): boolean {
  const signature = experiment.tagSignature
  if (signature === null) return false
  if (headers[EXPERIMENT_HEADER] !== undefined) {
    return (
      headers[EXPERIMENT_HEADER] === experiment.id && signatureMatches(headers[SIGNATURE_HEADER], signature)
    )
  }
  const baggage = headers.baggage
  if (typeof baggage !== 'string' || !baggage.includes(BAGGAGE_EXPERIMENT_KEY)) return false
  const members = parseBaggage(baggage)
  return (
    members.get(BAGGAGE_EXPERIMENT_KEY) === experiment.id &&
    signatureMatches(members.get(BAGGAGE_SIGNATURE_KEY), signature)
  )
}

/** Reads a W3C baggage header: `key=value` members split by commas, values percent-decoded. */
function parseBaggage(header: string): Map<string, string> {
  const members = new Map<string, string>()
  for (const member of header.split(',')) {
    const pair = member.split(';', 1)[0]!
    const eq = pair.indexOf('=')
    if (eq <= 0) continue
    const key = pair.slice(0, eq).trim()
    try {
      members.set(key, decodeURIComponent(pair.slice(eq + 1).trim()))
    } catch {
      // A malformed escape makes the member unreadable: as if absent.
    }
  }
  return members
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** One line per zod issue: `field.path: message`. */
export function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`)
}

/**
 * Sets `x-chaos-faults` just before the response head goes out (node:http calls `writeHead` for an
 * implicit head too), with the faults counted by then: a fault is injected before the call it
 * delays or fails, so before the answer that call leads to.
 */
function tagResponse(res: ResponseHeadLike, scope: RequestScope): void {
  const writeHead = res.writeHead as (...args: unknown[]) => unknown
  res.writeHead = function (this: unknown, ...args: unknown[]) {
    if (!res.headersSent) res.setHeader(FAULTS_HEADER, String(scope.faults))
    return Reflect.apply(writeHead, this, args)
  }
}
