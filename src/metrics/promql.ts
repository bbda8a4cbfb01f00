/**
 * PromQL instant queries against a Prometheus server (`GET /api/v1/query`), for checks written as
 * PromQL. A check needs one number: a scalar, or a vector with exactly one series. An empty vector
 * means "no data" (null); several series are an error, because a check cannot pick one silently —
 * aggregate the query instead (`sum(...)`, `max(...)`).
 */
import type { Dispatcher } from 'undici'
import { z } from 'zod'
import { systemClock, type Clock } from '../clock.js'
import { RuntimeFailure } from '../errors.js'
import { createDispatcher, FetchFailure, getText } from './http-get.js'
import { parsePromFloat } from './prom-text.js'

/** What went wrong with a query. */
export type PromqlErrorKind =
  | 'BAD_QUERY' // Prometheus rejected the expression (bad_data, execution error)
  | 'MULTIPLE_SERIES' // a vector with more than one series
  | 'UNSUPPORTED_RESULT' // a matrix, a string or a native histogram
  | 'UNREACHABLE' // timeout, connection error or an HTTP error without an API error body
  | 'BAD_RESPONSE' // not the Prometheus API's JSON

/** A failed query (exit 4 if it reaches the command layer). */
export class PromqlError extends RuntimeFailure {
  constructor(
    message: string,
    readonly kind: PromqlErrorKind,
    hint?: string,
  ) {
    super(message, hint)
  }
}

const SampleValue = z.tuple([z.number(), z.string()])

const QueryResponse = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({
        resultType: z.literal('vector'),
        result: z.array(
          z.object({
            metric: z.record(z.string(), z.string()),
            value: SampleValue.optional(),
            histogram: z.unknown().optional(),
          }),
        ),
      }),
      z.object({ resultType: z.literal('scalar'), result: SampleValue }),
      z.object({ resultType: z.literal('string'), result: SampleValue }),
      z.object({ resultType: z.literal('matrix'), result: z.array(z.unknown()) }),
    ]),
    warnings: z.array(z.string()).optional(),
  }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
])

/** One series of an instant vector. */
export interface VectorSample {
  metric: Record<string, string>
  value: number
}

/** An instant query's result. */
export type InstantResult =
  | { type: 'scalar'; value: number; warnings: string[] }
  | { type: 'vector'; samples: VectorSample[]; warnings: string[] }

export interface PromqlOptions {
  /** Prometheus base URL, e.g. `http://127.0.0.1:9090` (a path prefix is kept). */
  baseUrl: string
  /** Per-query timeout (default 5 000 ms). */
  timeoutMs?: number
  headers?: Record<string, string>
  clock?: Clock
  /** Share a dispatcher; by default the client owns one (closed by close()). */
  dispatcher?: Dispatcher
}

export interface PromqlClient {
  /** The raw instant result (scalar or vector) at `time` (epoch ms; default: now on the clock). */
  instant(query: string, options?: { time?: number; signal?: AbortSignal }): Promise<InstantResult>
  /** One number for a check: a scalar, or the single series of a vector; null for an empty vector. */
  query(query: string, options?: { time?: number; signal?: AbortSignal }): Promise<number | null>
  /**
   * The scrape targets matching `matchTarget` (a selector of target labels, e.g. `{job="hotel"}`)
   * whose last scrape declared `metric` (`GET /api/v1/targets/metadata`): a family can be exported
   * (`# TYPE`) without any series yet, which no query can see.
   */
  targetsExporting(
    metric: string,
    matchTarget: string,
    options?: { signal?: AbortSignal },
  ): Promise<Array<Record<string, string>>>
  close(): Promise<void>
}

const MetadataResponse = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.array(z.object({ target: z.record(z.string(), z.string()) })),
  }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
])

function parseValue(text: string, query: string): number {
  const value = parsePromFloat(text)
  if (value === undefined)
    throw new PromqlError(`PromQL query "${query}" returned a non-numeric value "${text}"`, 'BAD_RESPONSE')
  return value
}

/** Creates a client for one Prometheus server. */
export function createPromqlClient(options: PromqlOptions): PromqlClient {
  const clock = options.clock ?? systemClock
  const ownDispatcher = options.dispatcher ? null : createDispatcher()
  const dispatcher = options.dispatcher ?? ownDispatcher!
  let base: URL
  try {
    base = new URL(options.baseUrl)
  } catch {
    throw new PromqlError(
      `Prometheus URL "${options.baseUrl}" is not a URL`,
      'UNREACHABLE',
      'use e.g. --prometheus http://127.0.0.1:9090',
    )
  }
  const endpoint = new URL(base.href)
  endpoint.pathname = `${base.pathname.replace(/\/+$/, '')}/api/v1/query`

  const instant: PromqlClient['instant'] = async (query, { time, signal } = {}) => {
    const url = new URL(endpoint.href)
    url.searchParams.set('query', query)
    url.searchParams.set('time', ((time ?? clock.now()) / 1000).toFixed(3))

    let text: string
    let status: number
    try {
      ;({ text, status } = await getText(url.href, {
        timeoutMs: options.timeoutMs ?? 5000,
        headers: { accept: 'application/json', ...options.headers },
        signal,
        clock,
        dispatcher,
        // The API answers bad queries with 400/422 and a JSON error body worth reading.
        acceptStatus: (s) => s === 400 || s === 422 || s === 503,
      }))
    } catch (err) {
      if (err instanceof FetchFailure)
        throw new PromqlError(
          `PromQL query "${query}" failed: ${err.message}`,
          'UNREACHABLE',
          'check --prometheus and that Prometheus is up',
        )
      throw err
    }

    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new PromqlError(
        `PromQL query "${query}": HTTP ${status} with a body that is not JSON`,
        status >= 400 ? 'UNREACHABLE' : 'BAD_RESPONSE',
      )
    }
    const parsed = QueryResponse.safeParse(json)
    if (!parsed.success)
      throw new PromqlError(
        `PromQL query "${query}": unexpected response from ${endpoint.origin} (not the Prometheus query API)`,
        'BAD_RESPONSE',
      )
    const body = parsed.data
    if (body.status === 'error') {
      const kind: PromqlErrorKind =
        body.errorType === 'bad_data' || body.errorType === 'execution' ? 'BAD_QUERY' : 'UNREACHABLE'
      throw new PromqlError(`PromQL query "${query}" failed: ${body.errorType}: ${body.error}`, kind)
    }
    const warnings = body.warnings ?? []
    switch (body.data.resultType) {
      case 'scalar':
        return { type: 'scalar', value: parseValue(body.data.result[1], query), warnings }
      case 'vector':
        return {
          type: 'vector',
          samples: body.data.result.map((r) => {
            if (!r.value)
              throw new PromqlError(
                `PromQL query "${query}" returned a native histogram`,
                'UNSUPPORTED_RESULT',
                'wrap it, e.g. histogram_quantile(0.95, ...)',
              )
            return { metric: r.metric, value: parseValue(r.value[1], query) }
          }),
          warnings,
        }
      default:
        throw new PromqlError(
          `PromQL query "${query}" returned a ${body.data.resultType}, not a number`,
          'UNSUPPORTED_RESULT',
          body.data.resultType === 'matrix'
            ? 'use an instant expression, e.g. rate(x[1m]) rather than x[1m]'
            : undefined,
        )
    }
  }

  const targetsExporting: PromqlClient['targetsExporting'] = async (metric, matchTarget, { signal } = {}) => {
    const url = new URL(endpoint.href)
    url.pathname = `${base.pathname.replace(/\/+$/, '')}/api/v1/targets/metadata`
    url.searchParams.set('match_target', matchTarget)
    url.searchParams.set('metric', metric)
    const what = `Prometheus target metadata for ${metric} on ${matchTarget}`
    let text: string
    try {
      ;({ text } = await getText(url.href, {
        timeoutMs: options.timeoutMs ?? 5000,
        headers: { accept: 'application/json', ...options.headers },
        signal,
        clock,
        dispatcher,
        acceptStatus: (s) => s === 400 || s === 422,
      }))
    } catch (err) {
      if (err instanceof FetchFailure) throw new PromqlError(`${what} failed: ${err.message}`, 'UNREACHABLE')
      throw err
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new PromqlError(`${what}: a body that is not JSON`, 'BAD_RESPONSE')
    }
    const parsed = MetadataResponse.safeParse(json)
    if (!parsed.success) throw new PromqlError(`${what}: not the Prometheus metadata API`, 'BAD_RESPONSE')
    if (parsed.data.status === 'error')
      throw new PromqlError(
        `${what} failed: ${parsed.data.errorType}: ${parsed.data.error}`,
        parsed.data.errorType === 'bad_data' ? 'BAD_QUERY' : 'UNREACHABLE',
      )
    return parsed.data.data.map((d) => d.target)
  }

  return {
    instant,
    targetsExporting,
    query: async (query, opts) => {
      const result = await instant(query, opts)
      if (result.type === 'scalar') return result.value
      if (result.samples.length === 0) return null
      if (result.samples.length > 1)
        throw new PromqlError(
          `PromQL query "${query}" returned ${result.samples.length} series; a check needs one`,
          'MULTIPLE_SERIES',
          'aggregate it, e.g. sum(...) or max(...)',
        )
      return result.samples[0]!.value
    },
    close: async () => {
      await ownDispatcher?.close()
    },
  }
}
