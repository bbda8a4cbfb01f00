import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPromqlClient, PromqlError, type PromqlClient } from '../src/metrics/promql.js'

/**
 * A small stand-in for Prometheus's HTTP API: answers /prefix/api/v1/query with the response
 * shapes documented at https://prometheus.io/docs/prometheus/latest/querying/api/ (instant queries).
 */
const answers: Record<string, { status: number; body: string }> = {
  up: ok({
    resultType: 'vector',
    result: [
      {
        metric: { __name__: 'up', job: 'sandbox', instance: 'localhost:3000' },
        value: [1435781451.781, '1'],
      },
    ],
  }),
  'scalar(0.5)': ok({ resultType: 'scalar', result: [1435781451.781, '0.5'] }),
  'sum(rate(http_requests_total{status=~"5.."}[1m]))': ok({
    resultType: 'vector',
    result: [{ metric: {}, value: [1435781451.781, '0.125'] }],
  }),
  absent_metric: ok({ resultType: 'vector', result: [] }),
  by_route: ok({
    resultType: 'vector',
    result: [
      { metric: { route: '/a' }, value: [1, '1'] },
      { metric: { route: '/b' }, value: [1, '2'] },
    ],
  }),
  'nan()': ok({ resultType: 'vector', result: [{ metric: {}, value: [1, 'NaN'] }] }),
  'inf()': ok({ resultType: 'scalar', result: [1, '+Inf'] }),
  'up[1m]': ok({ resultType: 'matrix', result: [{ metric: { __name__: 'up' }, values: [[1, '1']] }] }),
  'sum(': {
    status: 400,
    body: JSON.stringify({
      status: 'error',
      errorType: 'bad_data',
      error: 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis',
    }),
  },
  slow: {
    status: 503,
    body: JSON.stringify({
      status: 'error',
      errorType: 'timeout',
      error: 'query timed out in expression evaluation',
    }),
  },
  proxy_error: { status: 502, body: '<html>bad gateway</html>' },
  not_api: { status: 200, body: JSON.stringify({ hello: 'world' }) },
}

function ok(data: unknown) {
  return { status: 200, body: JSON.stringify({ status: 'success', data }) }
}

/**
 * The query timeout: the 'hang' case waits for it, and on a loaded machine a real answer from this
 * in-process server can take hundreds of ms, so it is seconds, not the few hundred ms a hang needs.
 */
const TIMEOUT_MS = 2_000

let server: Server
let baseUrl: string
let promql: PromqlClient
const seen: URL[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    seen.push(url)
    if (url.pathname !== '/prom/api/v1/query') return void res.writeHead(404).end('not found')
    const query = url.searchParams.get('query') ?? ''
    if (query === 'hang') return // never answers
    const answer = answers[query] ?? ok({ resultType: 'vector', result: [] })
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prom/`
  promql = createPromqlClient({ baseUrl, timeoutMs: TIMEOUT_MS })
})

afterAll(async () => {
  await promql.close()
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
})

describe('PromQL client', () => {
  it('sends the query and the evaluation time in seconds to /api/v1/query under the base path', async () => {
    await promql.query('up', { time: 1_700_000_000_123 })
    const url = seen.at(-1)!
    expect(url.pathname).toBe('/prom/api/v1/query')
    expect(url.searchParams.get('query')).toBe('up')
    expect(url.searchParams.get('time')).toBe('1700000000.123')
  })

  it('returns the value of a single-series vector or a scalar', async () => {
    expect(await promql.query('up')).toBe(1)
    expect(await promql.query('scalar(0.5)')).toBe(0.5)
    expect(await promql.query('sum(rate(http_requests_total{status=~"5.."}[1m]))')).toBe(0.125)
    expect(await promql.query('nan()')).toBeNaN()
    expect(await promql.query('inf()')).toBe(Infinity)
  })

  it('returns null for an empty vector (no data)', async () => {
    expect(await promql.query('absent_metric')).toBeNull()
  })

  it('exposes every series through instant()', async () => {
    const r = await promql.instant('by_route')
    expect(r).toEqual({
      type: 'vector',
      samples: [
        { metric: { route: '/a' }, value: 1 },
        { metric: { route: '/b' }, value: 2 },
      ],
      warnings: [],
    })
  })

  it('refuses a vector with several series, a matrix, and bad queries, with clear messages', async () => {
    const failure = async (q: string) => {
      try {
        await promql.query(q)
      } catch (err) {
        expect(err).toBeInstanceOf(PromqlError)
        return err as PromqlError
      }
      throw new Error(`query ${q} did not fail`)
    }
    expect(await failure('by_route')).toMatchObject({
      kind: 'MULTIPLE_SERIES',
      hint: 'aggregate it, e.g. sum(...) or max(...)',
    })
    expect((await failure('by_route')).message).toBe(
      'PromQL query "by_route" returned 2 series; a check needs one',
    )
    expect(await failure('up[1m]')).toMatchObject({ kind: 'UNSUPPORTED_RESULT' })
    const bad = await failure('sum(')
    expect(bad.kind).toBe('BAD_QUERY')
    expect(bad.message).toMatch(/bad_data: invalid parameter "query": 1:5: parse error/)
    expect(await failure('slow')).toMatchObject({ kind: 'UNREACHABLE' })
    expect((await failure('slow')).message).toMatch(/timeout: query timed out/)
    expect(await failure('proxy_error')).toMatchObject({ kind: 'UNREACHABLE' })
    expect(await failure('not_api')).toMatchObject({ kind: 'BAD_RESPONSE' })
    const hang = await failure('hang')
    expect(hang).toMatchObject({ kind: 'UNREACHABLE' })
    expect(hang.message).toMatch(`timed out after ${TIMEOUT_MS} ms`)
    expect((await failure('sum(')).exitCode).toBe(4)
  })

  it('reports an unreachable server and a bad base URL', async () => {
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    const gone = createPromqlClient({ baseUrl: `http://127.0.0.1:${port}` })
    await expect(gone.query('up')).rejects.toMatchObject({ kind: 'UNREACHABLE' })
    await gone.close()
    expect(() => createPromqlClient({ baseUrl: 'not a url' })).toThrow(
      /Prometheus URL "not a url" is not a URL/,
    )
  })
})
