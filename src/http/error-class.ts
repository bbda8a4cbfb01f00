/**
 * Transport error classes shared by the workload generator and the metrics clients: which failed
 * requests were timeouts and which never got a connection. A leaf, so both can import it.
 */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ABORT_ERR_TIMEOUT'])
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
])

function errorCodes(err: unknown, depth = 0): string[] {
  if (err === null || typeof err !== 'object' || depth > 3) return []
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown }
  const codes = typeof e.code === 'string' ? [e.code] : []
  codes.push(...errorCodes(e.cause, depth + 1))
  if (Array.isArray(e.errors)) for (const inner of e.errors) codes.push(...errorCodes(inner, depth + 1))
  return codes
}

/**
 * Class of a transport error. A connect timeout is `CONNECTION` (no connection was made);
 * `TIMEOUT` means connected but no complete response in time.
 */
export function classifyError(err: unknown): 'TIMEOUT' | 'CONNECTION' | 'OTHER' {
  const codes = errorCodes(err)
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return 'TIMEOUT'
  if (codes.some((c) => CONNECTION_CODES.has(c))) return 'CONNECTION'
  return 'OTHER'
}
