/**
 * An HTTP route of `chaos proxy`: a streaming reverse proxy (any method, bodies streamed both ways,
 * keep-alive to the upstream) that asks the agent, request by request, whether the running
 * experiment's fault applies, and applies it the way a failing dependency would look to its client:
 *
 * - LATENCY: the request waits `latency_ms` ± jitter, then goes upstream;
 * - EXCEPTION: answered `http_status` (500) with a JSON body, upstream never reached;
 * - TIMEOUT: held `timeout_ms`, then its connection is destroyed (no answer);
 * - CIRCUIT_BREAK: answered 503 at once;
 * - RATE_LIMIT: past `rate_limit_requests` per window, answered 429 with `Retry-After`;
 * - RESOURCE_EXHAUSTION: the response body is squeezed to `bandwidth_bytes_per_second`.
 *
 * Waits and squeezes end the moment the experiment ends (the selection's signal): a rolled-back
 * request goes upstream at once.
 */
import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { pipeline } from 'node:stream'
import type { ChaosAgent, FaultSelection } from '../agent/agent.js'
import { isInjectedError } from '../agent/faults/index.js'
import type { Logger } from '../logger.js'
import { formatAddress, type RouteSpec } from './routes.js'
import { DEFAULT_BANDWIDTH_BYTES_PER_SECOND, Throttle } from './throttle.js'

/** A route listening. */
export interface RunningRoute {
  spec: RouteSpec
  /** The address it listens on (the real port when 0 was asked). */
  listen: string
  close(): Promise<void>
}

/** Headers that belong to one connection, never forwarded (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // The proxy answers 100-continue to its client itself (node:http does).
  'expect',
])

/** Starts an HTTP route on its listen address. */
export async function startHttpRoute(
  spec: RouteSpec,
  agent: ChaosAgent,
  logger: Logger,
): Promise<RunningRoute> {
  const { target } = spec
  const secure = target.scheme === 'https'
  // Up to 256 upstream connections per route, kept alive: a burst (1,000 requests released at
  // once by a rollback) queues on warm connections instead of opening 1,000 new ones, which would
  // overflow the upstream's accept backlog (511 for node, 5 for Python's http.server) and wait for
  // SYN retransmits (measured: 1.4 s vs 0.5 s for the last of 1,000 released requests).
  const upstreamAgent = secure
    ? new HttpsAgent({ keepAlive: true, scheduling: 'lifo', maxSockets: 256, maxFreeSockets: 256 })
    : new HttpAgent({ keepAlive: true, scheduling: 'lifo', maxSockets: 256, maxFreeSockets: 256 })
  const send = secure ? httpsRequest : httpRequest
  const hostHeader =
    target.port === (secure ? 443 : 80) ? target.host : formatAddress(target.host, target.port)

  const forward = (req: IncomingMessage, res: ServerResponse, throttle: Throttle | null, retry = true) => {
    const headers = forwardedHeaders(req.headers)
    headers.host = hostHeader
    // A chunked body stays chunked upstream: node:http would send the body of a DELETE (or GET,
    // OPTIONS) unframed unless asked, and the upstream would read it as the next request.
    if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined) {
      headers['transfer-encoding'] = 'chunked'
    }
    const upstreamReq = send({
      host: target.host,
      port: target.port,
      method: req.method,
      path: target.basePath + (req.url ?? '/'),
      headers,
      agent: upstreamAgent,
    })
    upstreamReq.on('response', (upstreamRes) => {
      if (res.destroyed) {
        upstreamRes.destroy()
        return
      }
      res.writeHead(
        upstreamRes.statusCode ?? 502,
        upstreamRes.statusMessage,
        forwardedRawHeaders(upstreamRes.rawHeaders),
      )
      const done = (err: Error | null | undefined) => {
        if (err) {
          // The answer is under way: all that is left is to cut it, as the upstream did.
          res.destroy()
          upstreamReq.destroy()
        }
      }
      if (throttle === null) pipeline(upstreamRes, res, done)
      else pipeline(upstreamRes, throttle, res, done)
    })
    upstreamReq.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent || res.destroyed) {
        res.destroy()
        return
      }
      // A kept-alive connection the upstream closed while idle: a body-less request is sent again,
      // once, on a fresh connection (what a client without the proxy would have done).
      if (
        retry &&
        upstreamReq.reusedSocket &&
        !hasBody(req) &&
        (err.code === 'ECONNRESET' || err.code === 'EPIPE')
      ) {
        forward(req, res, throttle, false)
        return
      }
      logger.warn('chaos_proxy_upstream_error', {
        route: spec.name,
        upstream: spec.upstream,
        code: err.code ?? null,
      })
      answer(res, 502, {
        error: `chaos proxy: upstream ${spec.upstream} of route ${spec.name} failed: ${err.code ?? err.message}`,
      })
    })
    // The client went away: stop the upstream call too.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy()
    })
    // A retried request's (empty) body has already ended: piping it would never end the new one.
    if (req.readableEnded) upstreamReq.end()
    else req.pipe(upstreamReq)
  }

  const applyFault = (selection: FaultSelection, req: IncomingMessage, res: ServerResponse) => {
    const config = selection.config
    if (config.fault_type === 'RESOURCE_EXHAUSTION') {
      selection.injected()
      const rate = config.bandwidth_bytes_per_second ?? DEFAULT_BANDWIDTH_BYTES_PER_SECOND
      return forward(req, res, new Throttle(rate, selection.signal))
    }
    const client = new AbortController()
    res.on('close', () => {
      if (!res.writableFinished) client.abort(new Error('client closed the connection'))
    })
    const pending = selection.apply(client.signal)
    if (pending === null) return forward(req, res, null)
    pending.then(
      () => {
        if (!res.destroyed) forward(req, res, null)
      },
      (err: unknown) => {
        if (!isInjectedError(err) || res.destroyed) {
          res.destroy()
          return
        }
        switch (config.fault_type) {
          case 'TIMEOUT':
            // No answer at all, as from a dependency that hung: the client sees its connection close.
            req.socket.destroy()
            return
          case 'EXCEPTION':
            return answer(res, config.http_status ?? 500, {
              error: config.exception_message,
              exception_class: config.exception_class,
              chaos_experiment: selection.experimentId,
            })
          case 'CIRCUIT_BREAK':
            return answer(res, 503, {
              error: config.exception_message,
              chaos_experiment: selection.experimentId,
            })
          case 'RATE_LIMIT': {
            const retryAfter = String(err.retry_after_seconds ?? config.rate_limit_window_seconds)
            return answer(
              res,
              429,
              { error: err.message, chaos_experiment: selection.experimentId },
              { 'retry-after': retryAfter },
            )
          }
          default:
            return answer(res, 500, { error: err.message, chaos_experiment: selection.experimentId })
        }
      },
    )
  }

  const server: Server = createServer(
    // A request may be held for a fault's whole wait (up to 30 minutes) before its body is read.
    { requestTimeout: 0 },
    (req, res) => {
      const selection = agent.select(spec.name, req.headers)
      if (selection === null) forward(req, res, null)
      else applyFault(selection, req, res)
    },
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(spec.listen.port, spec.listen.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  return {
    spec,
    listen: formatAddress(address.address, address.port),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        upstreamAgent.destroy()
      }),
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** Request headers to send upstream: the client's, minus hop-by-hop ones and those `Connection` names. */
function forwardedHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const drop = connectionTokens(headers.connection)
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name)) continue
    out[name] = value
  }
  return out
}

/** Response headers to send back, raw (case and repeats kept, e.g. several Set-Cookie). */
function forwardedRawHeaders(raw: readonly string[]): string[] {
  let connection: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') connection = raw[i + 1]
  }
  const drop = connectionTokens(connection)
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    if (HOP_BY_HOP.has(name) || drop.has(name)) continue
    out.push(raw[i]!, raw[i + 1]!)
  }
  return out
}

function connectionTokens(value: string | string[] | undefined): Set<string> {
  if (value === undefined) return new Set()
  const text = Array.isArray(value) ? value.join(',') : value
  return new Set(
    text
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  )
}

/** A JSON answer from the proxy itself (a fault, or a 502). */
function answer(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}
