/**
 * The fake dependency server: the sandbox's PMS, WhatsApp and Gmail as one real HTTP server, each
 * under its own path prefix (/pms, /whatsapp, /gmail), with the same in-memory state and base
 * latency as their in-process simulation. With it the sandbox can call its dependencies over HTTP
 * (`chaos sandbox --dependency NAME=URL`), through `chaos proxy` instead of its embedded agent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { sleep, systemClock, type Clock } from '../clock.js'
import { silentLogger, type Logger } from '../logger.js'
import { DEFAULT_BASE_LATENCY_MS, perDependency, type DependencyName } from './dependencies.js'
import { HttpError, readJson, sendJson, validate } from './http.js'
import { API_PREFIX, HTTP_DEPENDENCIES, type HttpDependencyName } from './http-remote.js'
import { MessagingProviderState, PmsState, ROOM_TYPES, formatDay, parseDay } from './systems.js'

export interface DependencyServerOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number
  /** Interface to listen on; loopback by default. */
  host?: string
  /** Base latency of each answer: one number for all, or per dependency (defaults as in process). */
  baseLatencyMs?: number | Partial<Record<DependencyName, number>>
  /** Random source of the ±25 % latency jitter. */
  random?: () => number
  clock?: Clock
  logger?: Logger
}

export interface DependencyServer {
  /** `http://HOST:PORT`: the base URL of every dependency it serves. */
  url: string
  host: string
  port: number
  /** Stops the server, keep-alive sockets included. */
  close(): Promise<void>
}

const date = z.string().refine((s) => parseDay(s) !== undefined, 'must be a date YYYY-MM-DD')
/** Longest calendar one request may read: the sandbox warms its cache with 180 nights. */
const MAX_CALENDAR_NIGHTS = 366
const nights = z.coerce.number().int().min(1).max(MAX_CALENDAR_NIGHTS)
const CalendarQuery = z.object({ check_in: date, nights })
const ReserveBody = z.object({ room_type: z.enum(ROOM_TYPES), check_in: date, nights })

/** Starts the fake dependency server; resolves once it is listening. */
export async function startDependencyServer(
  options: DependencyServerOptions = {},
): Promise<DependencyServer> {
  const clock = options.clock ?? systemClock
  const random = options.random ?? Math.random
  const logger = options.logger ?? silentLogger
  const latency = perDependency(options.baseLatencyMs, DEFAULT_BASE_LATENCY_MS)
  const pms = new PmsState()
  const providers = {
    whatsapp_client: new MessagingProviderState('wamid'),
    gmail_client: new MessagingProviderState('gmail'),
  }

  /** The dependency a path belongs to, and the path inside its API. */
  function routeOf(path: string): { name: HttpDependencyName; rest: string } | undefined {
    for (const name of HTTP_DEPENDENCIES) {
      const prefix = API_PREFIX[name]
      if (path === prefix || path.startsWith(`${prefix}/`)) return { name, rest: path.slice(prefix.length) }
    }
    return undefined
  }

  async function answer(
    name: HttpDependencyName,
    rest: string,
    query: URLSearchParams,
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown }> {
    const method = req.method ?? 'GET'
    if (name !== 'pms_adapter') {
      if (rest !== '/messages') throw new HttpError(404, `no route ${API_PREFIX[name]}${rest}`)
      if (method !== 'POST') throw new HttpError(405, `${method} not allowed`, undefined, { allow: 'POST' })
      await readJson(req)
      return { status: 201, body: { id: providers[name].deliver() } }
    }
    if (rest === '/availability') {
      if (method !== 'GET') throw new HttpError(405, `${method} not allowed`, undefined, { allow: 'GET' })
      const q = validate(CalendarQuery, Object.fromEntries(query))
      const calendar = pms.calendar(parseDay(q.check_in)!, q.nights)
      return {
        status: 200,
        body: { nights: [...calendar].map(([day, rooms]) => ({ date: formatDay(day), rooms })) },
      }
    }
    if (rest === '/reservations') {
      if (method !== 'POST') throw new HttpError(405, `${method} not allowed`, undefined, { allow: 'POST' })
      const body = validate(ReserveBody, await readJson(req))
      const r = pms.reserve(body.room_type, parseDay(body.check_in)!, body.nights)
      return {
        status: 201,
        body: {
          pms_reservation_id: r.pms_reservation_id,
          room_type: r.room_type,
          check_in: formatDay(r.first_night),
          nights: r.nights,
        },
      }
    }
    const m = /^\/reservations\/([^/]+)$/.exec(rest)
    if (m) {
      if (method !== 'DELETE')
        throw new HttpError(405, `${method} not allowed`, undefined, { allow: 'DELETE' })
      let id: string
      try {
        id = decodeURIComponent(m[1]!)
      } catch {
        throw new HttpError(400, 'invalid reservation id')
      }
      return { status: 200, body: { cancelled: pms.cancel(id) } }
    }
    throw new HttpError(404, `no route ${API_PREFIX[name]}${rest}`)
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dependency')
    if (url.pathname === '/health') return sendJson(res, 200, { status: 'ok' })
    const route = routeOf(url.pathname)
    if (!route) return sendJson(res, 404, { error: `no route ${url.pathname}` })
    // The round trip of the real system: ±25 % around its base latency, cut short if the caller leaves.
    const gone = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) gone.abort()
    })
    const ms = latency[route.name]
    if (ms > 0) {
      try {
        await sleep(ms * (0.75 + random() * 0.5), gone.signal, clock)
      } catch {
        return
      }
    }
    try {
      const { status, body } = await answer(route.name, route.rest, url.searchParams, req)
      sendJson(res, status, body)
    } catch (err) {
      if (!(err instanceof HttpError)) throw err
      const body = err.problems ? { error: err.message, problems: err.problems } : { error: err.message }
      sendJson(res, err.status, body, err.headers)
    }
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      logger.error('dependency_server_error', { error: err instanceof Error ? err.message : String(err) })
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' })
      else res.destroy()
    })
  })
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  logger.info('dependency_server_started', { url, dependencies: [...HTTP_DEPENDENCIES] })
  let closing: Promise<void> | undefined
  return {
    url,
    host,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }).then(() => logger.info('dependency_server_stopped', { url }))
      return closing
    },
  }
}
