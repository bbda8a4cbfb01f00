/**
 * Test support for the agent tests: a small real node:http host service that embeds the agent the way
 * a user would (control endpoint under /chaos, wrapped dependencies, runWithRequest on every request),
 * the shared control request with this host's token, and a seeded random source.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createChaosAgent, type ChaosAgent, type ChaosAgentOptions } from '../src/agent/index.js'
import { tagHeaders } from '../src/protocol/tag.js'
import { mulberry32 } from '../src/unattended/random.js'
import { request as rawRequest, type Reply } from './support/index.js'

export const TOKEN = 'test-token-0123456789'

/**
 * The headers that tag a request for experiment `id` as the runner does: `x-chaos-experiment` and its
 * signature `x-chaos-signature` (HMAC-SHA256 keyed with the token; this host's by default).
 */
export function tag(id: string, token: string = TOKEN): Record<string, string> {
  return tagHeaders(token, id)
}

/** Seeded PRNG (mulberry32), the same one `chaos monkey --seed` uses. */
export const seededRandom = mulberry32

export interface CallResult {
  ok: boolean
  value?: { service: string; value: number }
  error?: {
    name: string
    message: string
    code?: string
    status?: number
    retry_after_seconds?: number
    injected?: boolean
    chaos?: boolean
    is_abort_reason?: boolean
  }
}

export interface Host {
  url: string
  agent: ChaosAgent
  /** How many times each real (unwrapped) dependency function actually ran. */
  realCalls: Record<string, number>
  wrapped: Record<
    string,
    (x: number, opts?: { signal?: AbortSignal }) => Promise<{ service: string; value: number }>
  >
  close(): Promise<void>
}

export const HOST_SERVICES = ['pms_adapter', 'whatsapp_client', 'database'] as const

/**
 * Starts a host service on port 0. Routes:
 * - /chaos…                      the agent's control endpoint
 * - GET /call/:service?x=N       one wrapped call → 200 {ok, value} or 502 {ok:false, error}
 * - GET /batch/:service?n=N      N sequential wrapped calls → {ok, failed, errors:{name:count}}
 * - GET /abortable/:service?abort_ms=N   a wrapped call given {signal}, aborted after N ms
 */
export async function startHost(options: Partial<ChaosAgentOptions> = {}): Promise<Host> {
  const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {}, ...options })
  const realCalls: Record<string, number> = {}
  const wrapped: Host['wrapped'] = {}
  for (const service of HOST_SERVICES) {
    realCalls[service] = 0
    // The real dependency: deterministic, so any change in a result is the agent's doing.
    const real = (x: number, _opts?: { signal?: AbortSignal }) => {
      realCalls[service]!++
      return Promise.resolve({ service, value: x * 2 })
    }
    wrapped[service] = agent.wrap(service, real)
  }

  const server = createServer((req, res) => {
    agent
      .handle(req, res)
      .then((handled) =>
        handled ? undefined : agent.runWithRequest(req.headers, () => hostRoute(req, res), res),
      )
      .catch((error: unknown) => send(res, 500, { error: String(error) }))
  })

  async function hostRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://host')
    const [, route, service] = url.pathname.split('/')
    const fn = service === undefined ? undefined : wrapped[service]
    if (fn === undefined) return send(res, 404, { error: 'host route not found' })
    if (route === 'call') {
      const x = Number(url.searchParams.get('x') ?? '1')
      try {
        return send(res, 200, { ok: true, value: await fn(x) })
      } catch (error) {
        return send(res, 502, { ok: false, error: describe(error) })
      }
    }
    if (route === 'batch') {
      const n = Number(url.searchParams.get('n') ?? '1')
      let ok = 0
      let failed = 0
      const errors: Record<string, number> = {}
      for (let i = 0; i < n; i++) {
        try {
          await fn(i)
          ok++
        } catch (error) {
          failed++
          const name = (error as Error).name
          errors[name] = (errors[name] ?? 0) + 1
        }
      }
      return send(res, 200, { ok, failed, errors })
    }
    if (route === 'abortable') {
      const controller = new AbortController()
      const reason = new Error('client gave up')
      setTimeout(() => controller.abort(reason), Number(url.searchParams.get('abort_ms') ?? '20'))
      try {
        return send(res, 200, { ok: true, value: await fn(1, { signal: controller.signal }) })
      } catch (error) {
        return send(res, 502, { ok: false, error: { ...describe(error), is_abort_reason: error === reason } })
      }
    }
    return send(res, 404, { error: 'host route not found' })
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    agent,
    realCalls,
    wrapped,
    close: () => closeServer(server, agent),
  }
}

export async function closeServer(server: Server, agent?: ChaosAgent): Promise<void> {
  await agent?.close()
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

function describe(error: unknown): NonNullable<CallResult['error']> {
  const e = error as Record<string, unknown> & Error
  return {
    name: e.name,
    message: e.message,
    ...(typeof e.code === 'string' && { code: e.code }),
    ...(typeof e.status === 'number' && { status: e.status }),
    ...(typeof e.retry_after_seconds === 'number' && { retry_after_seconds: e.retry_after_seconds }),
    ...(e.injected === true && { injected: true }),
    ...(e.chaos === true && { chaos: true }),
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(text)
}

export type { Reply } from './support/index.js'

/** The shared raw request (test/support) with the agent tests' token unless `token` is given (null: none). */
export function request<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  return rawRequest<T>(base, method, path, {
    ...options,
    token: options.token === undefined ? TOKEN : options.token,
  })
}

/** A valid POST /chaos/experiments body. */
export function experiment(
  id: string,
  fault_config: Record<string, unknown>,
  target_service = 'pms_adapter',
  lease_seconds = 60,
): Record<string, unknown> {
  return { id, target_service, fault_config, lease_seconds }
}
