/**
 * The sandbox "Agente Hotelero": a real node:http service with the chaos agent mounted at /chaos.
 * It models the guide's system (PMS, WhatsApp, Gmail, database, session store behind timeouts,
 * retries, circuit breakers, a bulkhead, a stale cache and an outbox), so that every catalogue
 * scenario has a meaningful target whose hypothesis can hold or fail for real reasons. With
 * `dependencies` the PMS, WhatsApp and Gmail are called over HTTP instead (http-remote.ts), so the
 * sandbox can be driven through `chaos proxy` with its agent off.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry, collectDefaultMetrics } from 'prom-client'
import { createChaosAgent, type ChaosAgent } from '../agent/index.js'
import { systemClock, type Clock } from '../clock.js'
import { silentLogger, type Logger } from '../logger.js'
import { isProductionEnvironment } from '../protocol/schemas.js'
import { AvailabilityCache } from './availability-cache.js'
import { DependencyClient } from './client.js'
import {
  DEFAULT_BASE_LATENCY_MS,
  DEFAULT_CALL_TIMEOUT_MS,
  SimulatedRemote,
  perDependency,
  type DependencyName,
  type RemoteSend,
} from './dependencies.js'
import { Hotel, type BookingInput, type EmailPayload, type MessagePayload, type Reply } from './hotel.js'
import { HttpError, readJson, sendJson } from './http.js'
import {
  HttpRemote,
  httpMessagingApi,
  httpPmsApi,
  isHttpDependency,
  runWithRequestTag,
  type HttpCall,
  type HttpDependencyName,
} from './http-remote.js'
import { startBackgroundTraffic, type BackgroundStats, type BackgroundTraffic } from './background.js'
import { createSandboxMetrics } from './metrics.js'
import { Outbox } from './outbox.js'
import { ConnectionPool } from './pool.js'
import { DependencyFailure, ResilientDependency, type ResilienceHooks } from './resilience.js'
import {
  BoundedMap,
  MessagingProviderState,
  PmsState,
  createDatabaseState,
  type MessagingApi,
  type PmsApi,
  type Session,
} from './systems.js'

/** Database pool size and bulkhead queue from the sandbox design. */
export const DB_POOL_SIZE = 10
export const DB_QUEUE_SIZE = 10
/**
 * Breaker: opens when more than 20 % of the attempts of the last 5 s failed, once there were at least
 * 5 attempts per second (25 in the window). 20 % injected failures at ~20 rps open it within about a
 * second; a few failed calls at low traffic never do.
 */
export const BREAKER_FAILURE_RATE = 0.2
/**
 * The PMS breaker opens above 15 %: the guide's PMS failure scenarios inject 20 %, and a breaker
 * whose threshold equals the injected rate opens only when a window's failures happen to run above
 * their mean (under `--quick`'s 8 s about 4 runs in 5, so the "breaker opens" verdict was a draw).
 * Above the PMS timeout scenario's 15 % a tripped breaker only sends reads to the cache. The other
 * dependencies keep 20 %: the database has no fallback, and its 10 % scenarios must not trip it.
 */
export const PMS_BREAKER_FAILURE_RATE = 0.15
export const BREAKER_SAMPLING_MS = 5000
export const BREAKER_MINIMUM_RPS = 5
/** Name the agent reports for this service. */
export const SANDBOX_SERVICE = 'agente_hotelero'
/** Where the agent's control endpoint is mounted. */
export const CONTROL_PREFIX = '/chaos'

export interface SandboxOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number
  /** Interface to listen on; loopback by default. */
  host?: string
  /** Bearer token of the control endpoint (required unless `withAgent` is false). */
  token?: string
  logger?: Logger
  /** Base round-trip latency of the simulated remote calls: one number for all, or per dependency. */
  baseLatencyMs?: number | Partial<Record<DependencyName, number>>
  /** Per-attempt timeouts (defaults: PMS 2 s, WhatsApp/Gmail 3 s, database 1 s, session store 500 ms). */
  callTimeoutMs?: number | Partial<Record<DependencyName, number>>
  /** How long an open breaker waits before letting a probe through (default 5000 ms). */
  breakerHalfOpenAfterMs?: number
  /** First retry backoff step (default 25 ms; doubles per retry, with jitter). */
  retryBaseDelayMs?: number
  /** Background delivery period of the outboxes and the pending-booking queue (default 1000 ms). */
  outboxDrainIntervalMs?: number
  /** Random source for latency jitter, retry jitter and the agent's call selection. */
  random?: () => number
  clock?: Clock
  /** Environment the agent checks for NODE_ENV=production (default: the agent's own default). */
  env?: Record<string, string | undefined>
  /**
   * What the agent reports as its environment (GET /chaos `environment`; default from NODE_ENV), to
   * test a runner's production refusal against a real target. A `production` label is accepted
   * only together with an explicit `env` whose NODE_ENV is not production: the label is then a
   * deliberate test setting, while a sandbox really started in production is still refused.
   */
  environment?: string
  /** Instance name the agent reports. */
  instance?: string
  /** false: no agent at all (no /chaos route, no wrapping), the baseline for overhead benchmarks. */
  withAgent?: boolean
  /** Registry for every metric (a fresh one by default). */
  registry?: Registry
  /** Node default metrics on the registry (default true). */
  defaultMetrics?: boolean
  /**
   * Background "real user" traffic: this many requests per second, untagged, to its own
   * availability and booking routes over HTTP (default 0: none). Makes a SINGLE_REQUEST
   * experiment's collateral visible.
   */
  backgroundRps?: number
  /**
   * Base URLs of HTTP servers that answer the PMS, WhatsApp or Gmail API (the fake dependency
   * server, or `chaos proxy` in front of it): those dependencies are called over HTTP instead of
   * being simulated in process, behind the same resilience policies, with the inbound request's
   * workload tag copied onto every call. The database and the session store stay in process.
   */
  dependencies?: Partial<Record<HttpDependencyName, string>>
}

export interface Sandbox {
  /** `http://HOST:PORT` */
  url: string
  host: string
  port: number
  token: string | undefined
  agent: ChaosAgent | null
  registry: Registry
  /** What the background users met so far (zeros without `backgroundRps`). */
  background(): BackgroundStats
  /** Stops the server (keep-alive sockets included) and rolls back and stops the agent. */
  close(): Promise<void>
}

/** Route label of a path, or undefined when no route matches (not counted in metrics). */
function routeOf(path: string): string | undefined {
  switch (path) {
    case '/api/availability':
    case '/api/bookings':
    case '/api/messages':
    case '/api/emails':
    case '/health':
    case '/metrics':
      return path
  }
  return /^\/api\/sessions\/[^/]+$/.test(path) ? '/api/sessions/:id' : undefined
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new HttpError(400, 'invalid session id', ['id: malformed percent-encoding'])
  }
}

const ALLOWED: Record<string, string> = {
  '/api/availability': 'GET',
  '/api/bookings': 'POST',
  '/api/messages': 'POST',
  '/api/emails': 'POST',
  '/api/sessions/:id': 'GET',
  '/health': 'GET',
  '/metrics': 'GET',
}

/**
 * The dependency URLs of {@link SandboxOptions.dependencies}, checked: only the PMS, WhatsApp and
 * Gmail, each an absolute http(s) URL. Throws a TypeError naming the bad entry.
 */
function checkDependencyUrls(
  urls: Partial<Record<string, string>>,
): Partial<Record<HttpDependencyName, string>> {
  const out: Partial<Record<HttpDependencyName, string>> = {}
  for (const [name, url] of Object.entries(urls)) {
    if (url === undefined) continue
    if (!isHttpDependency(name))
      throw new TypeError(
        `sandbox: dependency "${name}" cannot be reached over HTTP (pms_adapter, whatsapp_client, gmail_client can)`,
      )
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new TypeError(`sandbox: dependency ${name}: "${url}" is not a URL`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new TypeError(`sandbox: dependency ${name}: "${url}" is not an http(s) URL`)
    out[name] = url
  }
  return out
}

/** Starts the sandbox; resolves once it is listening. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const logger = options.logger ?? silentLogger
  const clock = options.clock ?? systemClock
  const random = options.random ?? Math.random
  const registry = options.registry ?? new Registry()
  const withAgent = options.withAgent ?? true
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry })

  const httpDependencies = checkDependencyUrls(options.dependencies ?? {})
  // Created first: it refuses (throws) in production or without a token, before anything listens.
  const agent = withAgent
    ? createChaosAgent({
        service: SANDBOX_SERVICE,
        token: options.token ?? '',
        enabled: true,
        allowProduction:
          options.environment !== undefined &&
          options.env !== undefined &&
          !isProductionEnvironment(options.env.NODE_ENV),
        prefix: CONTROL_PREFIX,
        registry,
        logger,
        random,
        clock,
        ...(options.instance !== undefined ? { instance: options.instance } : {}),
        ...(options.env !== undefined ? { env: options.env } : {}),
        ...(options.environment !== undefined ? { environment: options.environment } : {}),
      })
    : null

  const lifetime = new AbortController()
  const latency = perDependency(options.baseLatencyMs, DEFAULT_BASE_LATENCY_MS)
  const timeouts = perDependency(options.callTimeoutMs, DEFAULT_CALL_TIMEOUT_MS)
  const pool = new ConnectionPool(DB_POOL_SIZE)
  const outboxes = {
    whatsapp: new Outbox<MessagePayload>('whatsapp'),
    gmail: new Outbox<EmailPayload>('gmail'),
  }
  const pendingBookings = new Outbox<BookingInput>('bookings')

  // Metrics read live state through this late-bound object (the clients are built just below).
  const states = new Map<DependencyName, ResilientDependency>()
  const metrics = createSandboxMetrics(registry, {
    breakerState: (target) => states.get(target)?.state ?? 'CLOSED',
    dbPoolInUse: () => pool.inUse,
    dbPoolSize: () => pool.size,
    outboxSize: (channel) => outboxes[channel].size,
    pendingBookings: () => pendingBookings.size,
  })
  const hooks: ResilienceHooks = {
    onRetry: (target) => metrics.retries.inc({ target_service: target }),
    onTrip: (target) => metrics.breakerTrips.inc({ target_service: target }),
    onBulkheadReject: () => metrics.bulkheadRejected.inc(),
  }

  /** The raw call of a dependency: over HTTP when it has a URL, else simulated on `state`. */
  function remote<S>(name: DependencyName, state: S, http?: (call: HttpCall) => S) {
    const url = httpDependencies[name as HttpDependencyName]
    return url !== undefined && http
      ? new HttpRemote(name as HttpDependencyName, url, http).send
      : new SimulatedRemote(name, state, latency[name], random, clock).send
  }

  function client<S>(
    name: DependencyName,
    raw: RemoteSend<S>,
    connectionPool?: ConnectionPool,
  ): DependencyClient<S> {
    const send: RemoteSend<S> = agent ? agent.wrap(name, raw) : raw
    const resilience = new ResilientDependency(
      name,
      {
        timeoutMs: timeouts[name],
        retries: 3,
        retryBaseDelayMs: options.retryBaseDelayMs ?? 25,
        retryMaxDelayMs: 1000,
        breakerFailureRate: name === 'pms_adapter' ? PMS_BREAKER_FAILURE_RATE : BREAKER_FAILURE_RATE,
        breakerSamplingMs: BREAKER_SAMPLING_MS,
        breakerMinimumRps: BREAKER_MINIMUM_RPS,
        halfOpenAfterMs: options.breakerHalfOpenAfterMs ?? 5000,
        ...(connectionPool ? { bulkhead: [DB_POOL_SIZE, DB_QUEUE_SIZE] as [number, number] } : {}),
        random,
        logger,
      },
      hooks,
    )
    states.set(name, resilience)
    return new DependencyClient(send, resilience, connectionPool)
  }

  const hotel = new Hotel(
    {
      pms: client('pms_adapter', remote<PmsApi>('pms_adapter', new PmsState(), httpPmsApi)),
      whatsapp: client(
        'whatsapp_client',
        remote<MessagingApi>(
          'whatsapp_client',
          new MessagingProviderState('wamid'),
          httpMessagingApi('whatsapp_client'),
        ),
      ),
      gmail: client(
        'gmail_client',
        remote<MessagingApi>(
          'gmail_client',
          new MessagingProviderState('gmail'),
          httpMessagingApi('gmail_client'),
        ),
      ),
      database: client('database', remote('database', createDatabaseState()), pool),
      sessions: client('session_store', remote('session_store', new BoundedMap<Session>(10_000))),
    },
    new AvailabilityCache(),
    outboxes,
    pendingBookings,
    metrics,
    clock,
    logger,
    lifetime.signal,
  )
  await hotel.warmUp()

  async function dispatch(
    route: string,
    path: string,
    query: URLSearchParams,
    req: IncomingMessage,
    signal: AbortSignal,
  ): Promise<Reply> {
    switch (route) {
      case '/api/availability':
        return hotel.availability(query, signal)
      case '/api/bookings':
        return hotel.createBooking(await readJson(req), signal)
      case '/api/messages':
        return hotel.sendMessage(await readJson(req), signal)
      case '/api/emails':
        return hotel.sendEmail(await readJson(req), signal)
      case '/api/sessions/:id':
        return hotel.getSession(decodePathSegment(path.slice('/api/sessions/'.length)), signal)
      case '/health':
        return health()
      default:
        throw new HttpError(404, `no route ${path}`)
    }
  }

  function health(): Reply {
    const dependencies = hotel.breakerStates()
    const outbox = { whatsapp: outboxes.whatsapp.size, gmail: outboxes.gmail.size }
    const pending = pendingBookings.size
    const degraded =
      Object.values(dependencies).some((s) => s !== 'CLOSED') ||
      outbox.whatsapp + outbox.gmail > 0 ||
      pending > 0
    return {
      status: 200,
      body: {
        status: degraded ? 'degraded' : 'ok',
        dependencies,
        outbox,
        pending_bookings: pending,
        db_pool: { size: pool.size, in_use: pool.inUse },
      },
    }
  }

  function replyWithError(res: ServerResponse, err: unknown): void {
    if (err instanceof HttpError) {
      const body = err.problems ? { error: err.message, problems: err.problems } : { error: err.message }
      return sendJson(res, err.status, body, err.headers)
    }
    if (err instanceof DependencyFailure) {
      const retryAfter: Record<string, string> =
        err.kind === 'BUSY' || err.kind === 'CIRCUIT_OPEN' || err.kind === 'RATE_LIMITED'
          ? { 'retry-after': '1' }
          : {}
      return sendJson(
        res,
        503,
        { error: err.message, target_service: err.targetService, reason: err.kind },
        retryAfter,
      )
    }
    logger.error('sandbox_internal_error', { error: err instanceof Error ? err.message : String(err) })
    sendJson(res, 500, { error: 'internal error' })
  }

  async function serve(
    route: string,
    path: string,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const started = clock.monotonic()
    // The client going away cancels the work done for it (retries stop, waits end).
    const request = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) request.abort()
    })
    try {
      const allowed = ALLOWED[route]!
      if (req.method !== allowed && !(req.method === 'HEAD' && allowed === 'GET')) {
        throw new HttpError(405, `${req.method} not allowed on ${route}`, undefined, { allow: allowed })
      }
      if (route === '/metrics') {
        const text = await registry.metrics()
        res.writeHead(200, {
          'content-type': registry.contentType,
          'content-length': Buffer.byteLength(text),
        })
        res.end(text)
      } else {
        const reply = await dispatch(route, path, query, req, request.signal)
        sendJson(res, reply.status, reply.body, reply.headers)
      }
    } catch (err) {
      if (request.signal.aborted) {
        // Client closed request (nginx's 499): nobody is left to answer.
        res.statusCode = 499
        res.destroy()
      } else replyWithError(res, err)
    }
    metrics.httpRequests.inc({ route, status: String(res.statusCode) })
    metrics.httpDuration.observe({ route }, (clock.monotonic() - started) / 1000)
  }

  function isControl(url: string): boolean {
    return (
      url.startsWith(CONTROL_PREFIX) &&
      (url.length === CONTROL_PREFIX.length || '/?'.includes(url[CONTROL_PREFIX.length]!))
    )
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    if (agent && isControl(url) && (await agent.handle(req, res))) return
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const route = routeOf(path)
    if (!route) return sendJson(res, 404, { error: `no route ${path}` })
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
    // Inbound hook: SINGLE_REQUEST faults only touch requests carrying the experiment header, and
    // those requests' responses say how many faults they met (x-chaos-faults).
    const handle = () =>
      agent
        ? agent.runWithRequest(req.headers, () => serve(route, path, query, req, res), res)
        : serve(route, path, query, req, res)
    // Over HTTP the request's tag travels on to the dependencies, where `chaos proxy` reads it.
    if (Object.keys(httpDependencies).length > 0) await runWithRequestTag(req.headers, handle)
    else await handle()
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      logger.error('sandbox_internal_error', { error: err instanceof Error ? err.message : String(err) })
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' })
      else res.destroy()
    })
  })

  // Background delivery of the outboxes; never overlaps itself, stops with the sandbox.
  let drainTimer: { unref?(): unknown } | undefined
  const drainEvery = options.outboxDrainIntervalMs ?? 1000
  const scheduleDrain = () => {
    drainTimer = clock.setTimeout(() => {
      hotel
        .drainOutboxes()
        .catch((err: unknown) => logger.warn('sandbox_outbox_drain_failed', { error: String(err) }))
        .finally(() => {
          if (!lifetime.signal.aborted) scheduleDrain()
        })
    }, drainEvery)
    drainTimer.unref?.()
  }

  const host = options.host ?? '127.0.0.1'
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    lifetime.abort()
    await agent?.close()
    throw err
  }
  scheduleDrain()
  const port = (server.address() as AddressInfo).port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  const rps = options.backgroundRps ?? 0
  const background: BackgroundTraffic | null = rps > 0 ? startBackgroundTraffic(url, rps, clock) : null
  logger.info('sandbox_started', {
    url,
    agent: agent !== null,
    service: SANDBOX_SERVICE,
    ...(Object.keys(httpDependencies).length > 0 && { http_dependencies: httpDependencies }),
    ...(rps > 0 && { background_rps: rps }),
  })

  let closing: Promise<void> | undefined
  return {
    url,
    host,
    port,
    token: options.token,
    agent,
    registry,
    background: () => background?.stats() ?? { requests: 0, errors: 0 },
    close() {
      closing ??= (async () => {
        background?.stop()
        lifetime.abort()
        if (drainTimer) clock.clearTimeout(drainTimer)
        // Roll back first, so no request still in flight keeps a fault.
        await agent?.close()
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
        logger.info('sandbox_stopped', { url })
      })()
      return closing
    },
  }
}
