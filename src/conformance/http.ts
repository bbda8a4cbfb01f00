/**
 * Raw HTTP for the conformance suite: unlike the runner's control client, it must see every status,
 * header and body exactly as the agent sent them, so nothing here validates or throws on a 4xx.
 */
import { request } from 'undici'

/** Longest wait for one answer: the runner's own control-call timeout (src/engine/control-client.ts). */
export const REQUEST_TIMEOUT_MS = 5000

/** One answer as received. `json` is undefined when the body is empty or not JSON. */
export interface RawReply {
  status: number
  headers: Readonly<Record<string, string>>
  text: string
  json: unknown
}

/** The request never got an answer (connection refused, reset, DNS, timeout). */
export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError'
  constructor(
    message: string,
    /** Why, without the request: `ECONNREFUSED`, `no answer within 5000 ms`. */
    readonly reason: string,
  ) {
    super(message)
  }
}

export interface RawRequest {
  method: string
  url: string
  /** `null`: no Authorization header at all. */
  token: string | null
  /** Sent as JSON; a string is sent as is. */
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
}

/** Sends one request and returns whatever came back; throws {@link NoAnswerError} only when nothing did. */
export async function send(req: RawRequest): Promise<RawReply> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers }
  if (req.token !== null) headers.authorization = `Bearer ${req.token}`
  let body: string | undefined
  if (req.body !== undefined) {
    body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body)
    headers['content-type'] = 'application/json'
  }
  try {
    const res = await request(req.url, { method: req.method as 'GET', headers, body, signal })
    const text = await res.body.text()
    const flat: Record<string, string> = {}
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
    }
    let json: unknown
    try {
      json = text === '' ? undefined : JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.statusCode, headers: flat, text, json }
  } catch (err) {
    if (req.signal?.aborted) throw err
    const code = (err as { code?: string }).code
    const what = timeout.aborted
      ? `no answer within ${REQUEST_TIMEOUT_MS} ms`
      : (code ?? (err as Error).message)
    throw new NoAnswerError(`${req.method} ${req.url}: ${what}`, what)
  }
}
