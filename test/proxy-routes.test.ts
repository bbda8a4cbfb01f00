/** Route specs of `chaos proxy` (`NAME=LISTEN->UPSTREAM`) and the faults a route refuses. */
import { describe, expect, test } from 'vitest'
import type { FaultConfig } from '../src/protocol/schemas.js'
import { FaultConfig as FaultConfigSchema } from '../src/protocol/schemas.js'
import { faultProblems } from '../src/proxy/routes.js'
import { parseRouteSpec, routeFromParts, routeSetProblems, RouteSpecError } from '../src/proxy/index.js'

describe('parseRouteSpec', () => {
  test('an HTTP route: name, listen, upstream, with -> or →', () => {
    const ascii = parseRouteSpec('pms_adapter=127.0.0.1:18080->http://pms.internal:80')
    expect(ascii).toEqual({
      name: 'pms_adapter',
      protocol: 'HTTP',
      listen: { host: '127.0.0.1', port: 18080 },
      upstream: 'http://pms.internal',
      target: { scheme: 'http', host: 'pms.internal', port: 80, basePath: '' },
    })
    expect(parseRouteSpec('pms_adapter=127.0.0.1:18080→http://pms.internal:80')).toEqual(ascii)
    expect(parseRouteSpec(' pms_adapter = 127.0.0.1:18080 -> http://pms.internal:80 ')).toEqual(ascii)
  })

  test('a TCP route, port 0, IPv6, https with a base path', () => {
    expect(parseRouteSpec('session_store=127.0.0.1:16379->tcp://redis:6379')).toMatchObject({
      protocol: 'TCP',
      upstream: 'tcp://redis:6379',
      target: { scheme: 'tcp', host: 'redis', port: 6379, basePath: '' },
    })
    expect(parseRouteSpec('a=[::1]:0->http://[::1]:8080').listen).toEqual({ host: '::1', port: 0 })
    expect(parseRouteSpec('a=[::1]:0->http://[::1]:8080').target.host).toBe('::1')
    expect(parseRouteSpec('gmail_client=localhost:0->https://gmail.example/v1/').target).toEqual({
      scheme: 'https',
      host: 'gmail.example',
      port: 443,
      basePath: '/v1',
    })
  })

  const bad: [string, RegExp][] = [
    ['127.0.0.1:1->http://x:1', /has no NAME=/],
    ['a=127.0.0.1:1 http://x:1', /has no -> between LISTEN and UPSTREAM/],
    ['PMS=127.0.0.1:1->http://x:1', /route name "PMS" must be a snake_case service name/],
    ['a=18080->http://x:1', /listen "18080" is not HOST:PORT/],
    ['a=127.0.0.1:70000->http://x:1', /listen "127.0.0.1:70000" is not HOST:PORT/],
    ['a=127.0.0.1:1->pms.internal:80', /upstream scheme "pms.internal:" is not supported|is not a URL/],
    ['a=127.0.0.1:1->ftp://x:21', /upstream scheme "ftp:" is not supported/],
    ['a=127.0.0.1:1->tcp://redis', /needs a port/],
    ['a=127.0.0.1:1->tcp://redis:6379/0', /a tcp:\/\/ upstream has no path/],
    ['a=127.0.0.1:1->http://u:p@x:1', /without credentials, query or fragment/],
    ['a=127.0.0.1:1->http://x:1/?q=1', /without credentials, query or fragment/],
  ]
  for (const [spec, message] of bad) {
    test(`refuses ${spec}`, () => {
      expect(() => parseRouteSpec(spec)).toThrow(RouteSpecError)
      expect(() => parseRouteSpec(spec)).toThrow(message)
    })
  }

  test('the config form takes the three parts', () => {
    expect(routeFromParts('db', '127.0.0.1:15432', 'tcp://127.0.0.1:5432')).toEqual(
      parseRouteSpec('db=127.0.0.1:15432->tcp://127.0.0.1:5432'),
    )
  })
})

test('routeSetProblems: duplicate names and fixed addresses, port 0 may repeat', () => {
  const routes = [
    parseRouteSpec('a=127.0.0.1:0->http://x:1'),
    parseRouteSpec('b=127.0.0.1:0->http://x:1'),
    parseRouteSpec('a=127.0.0.1:5000->http://x:1'),
    parseRouteSpec('c=127.0.0.1:5000->tcp://x:1'),
  ]
  expect(routeSetProblems(routes)).toEqual([
    'route name "a" is used twice',
    'listen address 127.0.0.1:5000 is used by two routes',
  ])
  expect(routeSetProblems(routes.slice(0, 2))).toEqual([])
})

describe('faultProblems: what a route refuses', () => {
  const http = parseRouteSpec('pms_adapter=127.0.0.1:0->http://x:1')
  const tcp = parseRouteSpec('session_store=127.0.0.1:0->tcp://x:1')
  const config = (input: Record<string, unknown>): FaultConfig =>
    FaultConfigSchema.parse({ probability: 1, ...input })

  test('memory or CPU pressure: no process of the service to press on', () => {
    for (const pressure of [
      { type: 'MEMORY', heap_fraction: 0.1 },
      { type: 'CPU', block_ms: 5 },
    ]) {
      const problems = faultProblems(http, config({ fault_type: 'RESOURCE_EXHAUSTION', pressure }))
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(
        new RegExp(`^fault_config: RESOURCE_EXHAUSTION on HTTP route pms_adapter: ${pressure.type} pressure`),
      )
    }
    expect(faultProblems(http, config({ fault_type: 'RESOURCE_EXHAUSTION' }))).toEqual([])
  })

  test('http_status only on HTTP routes', () => {
    const exception = config({ fault_type: 'EXCEPTION', exception_class: 'X', http_status: 502 })
    expect(faultProblems(http, exception)).toEqual([])
    expect(faultProblems(tcp, exception)[0]).toMatch(/http_status applies to HTTP routes/)
    expect(faultProblems(tcp, config({ fault_type: 'EXCEPTION', exception_class: 'X' }))).toEqual([])
  })

  test('every other fault applies to both route types', () => {
    for (const input of [
      { fault_type: 'LATENCY', latency_ms: 10 },
      { fault_type: 'TIMEOUT', timeout_ms: 10 },
      { fault_type: 'CIRCUIT_BREAK' },
      { fault_type: 'RATE_LIMIT', rate_limit_requests: 1, rate_limit_window_seconds: 1 },
    ]) {
      expect(faultProblems(http, config(input))).toEqual([])
      expect(faultProblems(tcp, config(input))).toEqual([])
    }
  })
})
