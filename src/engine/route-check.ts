/**
 * One request per workload route, before anything is measured: shared by `chaos doctor` and the
 * run's preflight, so that a workload aimed at routes the service does not have (404) or that fail
 * without any fault (5xx) is named up front instead of showing up later as "steady state did not
 * hold". Cheap by design: one request per distinct route, one at a time, untagged.
 */
import { request } from 'undici'
import { classifyError } from '../http/error-class.js'
import type { WorkloadRequest } from '../scenario/schema.js'
import { classifyStatus } from './workload.js'

/** What one route answered. */
export interface RouteResult {
  method: string
  /** The path as configured (dates already expanded), without the target's own path prefix. */
  path: string
  /** The URL requested. */
  url: string
  /** HTTP status, or null when no answer came. */
  status: number | null
  /** True when the workload would count the answer as a success (1xx-3xx, as `classifyStatus`). */
  ok: boolean
  latency_ms: number
  /** Why there was no answer (connection refused, timeout), when status is null. */
  error: string | null
}

/** Default timeout of one route request (ms): generous, a cold service may be slow once. */
export const ROUTE_TIMEOUT_MS = 5000

/**
 * Sends each distinct request of `requests` (by method, path and body) once to `target`, in
 * order, and reports what each answered. Never throws for a failed request; rejects only when
 * `signal` aborts.
 */
export async function checkRoutes(options: {
  target: string
  requests: readonly WorkloadRequest[]
  timeoutMs?: number
  signal?: AbortSignal
}): Promise<RouteResult[]> {
  const base = new URL(options.target)
  const prefix = base.pathname.replace(/\/+$/, '')
  const seen = new Set<string>()
  const results: RouteResult[] = []
  for (const r of options.requests) {
    const method = r.method ?? 'GET'
    const key = `${method} ${r.path} ${JSON.stringify(r.body ?? null)}`
    if (seen.has(key)) continue
    seen.add(key)
    options.signal?.throwIfAborted()
    results.push(await checkOne(base.origin + prefix + r.path, method, r, options))
  }
  return results
}

async function checkOne(
  url: string,
  method: string,
  r: WorkloadRequest,
  options: { timeoutMs?: number; signal?: AbortSignal },
): Promise<RouteResult> {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v
  let body: string | undefined
  if (r.body !== undefined) {
    body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
    headers['content-type'] ??= 'application/json'
  }
  const timeoutMs = options.timeoutMs ?? ROUTE_TIMEOUT_MS
  const signal = options.signal
    ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
    : AbortSignal.timeout(timeoutMs)
  const started = performance.now()
  const base = { method, path: r.path, url }
  try {
    const res = await request(url, {
      method: method as 'GET',
      headers,
      body,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    })
    await res.body.dump()
    return {
      ...base,
      status: res.statusCode,
      ok: classifyStatus(res.statusCode) === null,
      latency_ms: Math.round(performance.now() - started),
      error: null,
    }
  } catch (err) {
    options.signal?.throwIfAborted()
    const kind = classifyError(err)
    const error =
      kind === 'TIMEOUT' || signal.aborted
        ? `no answer within ${timeoutMs / 1000} s`
        : kind === 'CONNECTION'
          ? `connection failed (${(err as Error).message})`
          : (err as Error).message
    return { ...base, status: null, ok: false, latency_ms: Math.round(performance.now() - started), error }
  }
}

/** `GET /api/quote answered 404` / `GET /api/quote: no answer within 5 s`. */
export function describeRoute(result: RouteResult): string {
  return result.status === null
    ? `${result.method} ${result.path}: ${result.error ?? 'no answer'}`
    : `${result.method} ${result.path} answered ${result.status}`
}

/** The fix for a workload route that failed, for the doctor's line and the preflight's refusal. */
export const ROUTE_FIX =
  'point workload: (in the scenario or chaos.config.yaml) at routes of your service that answer 2xx without any fault, and that call the wrapped dependency'
