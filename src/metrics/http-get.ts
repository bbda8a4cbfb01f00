/**
 * One bounded HTTP GET with undici, shared by the /metrics scraper and the PromQL client:
 * an overall timeout on the injected clock, a body size cap, and failures sorted into kinds.
 */
import { Agent, request, type Dispatcher } from 'undici'
import { systemClock, type Clock } from '../clock.js'
import { classifyError } from '../http/error-class.js'

/** Why a GET failed. */
export type FetchFailureKind = 'TIMEOUT' | 'CONNECTION' | 'HTTP' | 'TOO_LARGE' | 'OTHER'

/** A failed GET (not a cancellation by the caller's signal, which rejects with the signal's reason). */
export class FetchFailure extends Error {
  override readonly name = 'FetchFailure'
  constructor(
    message: string,
    readonly kind: FetchFailureKind,
    /** HTTP status when kind is HTTP. */
    readonly status?: number,
    /** Response body (truncated) when kind is HTTP. */
    readonly body?: string,
  ) {
    super(message)
  }
}

export interface GetOptions {
  timeoutMs: number
  headers?: Record<string, string>
  signal?: AbortSignal
  clock?: Clock
  dispatcher?: Dispatcher
  /** Largest body accepted (bytes). */
  maxBytes?: number
  /** Accept these statuses besides 2xx (their body is returned). */
  acceptStatus?: (status: number) => boolean
}

/** A keep-alive dispatcher for a poller (close it when done). */
export function createDispatcher(): Agent {
  return new Agent({ keepAliveTimeout: 10_000, connections: 4 })
}

/** GETs `url` and returns status and body text; throws {@link FetchFailure}. */
export async function getText(url: string, options: GetOptions): Promise<{ status: number; text: string }> {
  const clock = options.clock ?? systemClock
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024
  const controller = new AbortController()
  let timedOut = false
  const timer = clock.setTimeout(() => {
    timedOut = true
    controller.abort(new FetchFailure(`GET ${url} timed out after ${options.timeoutMs} ms`, 'TIMEOUT'))
  }, options.timeoutMs)
  const onAbort = () => controller.abort(options.signal!.reason)
  if (options.signal?.aborted) onAbort()
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const res = await request(url, {
      method: 'GET',
      headers: options.headers,
      signal: controller.signal,
      dispatcher: options.dispatcher,
    })
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > maxBytes) {
        res.body.destroy()
        throw new FetchFailure(`GET ${url}: body larger than ${maxBytes} bytes`, 'TOO_LARGE')
      }
      chunks.push(chunk)
    }
    const text = Buffer.concat(chunks).toString('utf8')
    const ok = (res.statusCode >= 200 && res.statusCode < 300) || options.acceptStatus?.(res.statusCode)
    if (!ok) {
      throw new FetchFailure(
        `GET ${url} answered HTTP ${res.statusCode}`,
        'HTTP',
        res.statusCode,
        text.slice(0, 2000),
      )
    }
    return { status: res.statusCode, text }
  } catch (err) {
    if (err instanceof FetchFailure) throw err
    if (timedOut) throw controller.signal.reason as FetchFailure
    if (options.signal?.aborted) throw options.signal.reason as Error
    const kind = classifyError(err)
    const message = err instanceof Error ? err.message : String(err)
    throw new FetchFailure(`GET ${url} failed: ${message}`, kind === 'OTHER' ? 'OTHER' : kind)
  } finally {
    clock.clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}
