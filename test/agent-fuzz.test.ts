/**
 * Property-based fuzz of the control endpoint over real HTTP (keep-alive): thousands of random methods,
 * paths, tokens and bodies, from garbage to almost-valid experiments. Never a 5xx, never a stack trace,
 * always a JSON answer, and the agent keeps its invariants (at most one running experiment).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { AgentInfo, BLAST_RADII, ErrorBody, FAULT_TYPES } from '../src/protocol/schemas.js'
import { HOST_SERVICES, startHost, TOKEN, type Host } from './agent-helpers.js'

let host: Host
const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 })

beforeAll(async () => {
  host = await startHost()
})
afterAll(async () => {
  keepAlive.destroy()
  await host.close()
})

interface Answer {
  status: number
  text: string
}

function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const { port } = new URL(host.url)
  // node:http sends DELETE/OPTIONS bodies without framing unless told the length.
  if (body !== undefined) headers = { ...headers, 'content-length': String(Buffer.byteLength(body)) }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: keepAlive }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Percent-encodes whatever node:http would refuse to put in a request line. */
function encodePath(path: string): string {
  return path.replace(/[^\x21-\x7e]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
  )
}

const id = fc.oneof(
  fc.constantFrom('e1', 'e2', 'pms_down'),
  fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,12}$/),
  fc.string({ maxLength: 20 }),
)

const path = fc.oneof(
  fc.constantFrom(
    '/chaos',
    '/chaos/',
    '/chaos/experiments',
    '/chaos/experiments/',
    '/chaos//experiments',
    '/chaos?x=1',
  ),
  id.map((i) => `/chaos/experiments/${i}`),
  id.map((i) => `/chaos/experiments/${i}/lease`),
  fc.string({ maxLength: 30 }).map((s) => `/chaos/${s}`),
  fc.constantFrom(
    '/chaos/experiments/%zz',
    '/chaos/experiments/%E0%A4%A',
    '/chaosx',
    '/chaos/../chaos',
    '/chaos#frag',
  ),
)

const smallPositive = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.double({ min: -1, max: 10, noNaN: false }))

/** Fault configs: valid ones with small, harmless values, and broken variants. */
const validFault = fc.oneof(
  fc.record({
    fault_type: fc.constant('LATENCY'),
    probability: fc.double({ min: 0, max: 1, noNaN: true }),
    latency_ms: fc.integer({ min: 1, max: 5 }),
  }),
  fc.record({
    fault_type: fc.constant('EXCEPTION'),
    probability: fc.constant(1),
    exception_class: fc.constantFrom('PmsError', 'a.b'),
  }),
  fc.record({
    fault_type: fc.constant('TIMEOUT'),
    probability: fc.constant(0.5),
    timeout_ms: fc.integer({ min: 1, max: 5 }),
  }),
  fc.record({
    fault_type: fc.constant('CIRCUIT_BREAK'),
    probability: fc.constant(1),
    blast_radius: fc.constantFrom(...BLAST_RADII),
  }),
  fc.record({
    fault_type: fc.constant('RATE_LIMIT'),
    probability: fc.constant(1),
    rate_limit_requests: fc.integer({ min: 1, max: 5 }),
    rate_limit_window_seconds: fc.integer({ min: 1, max: 5 }),
  }),
  fc.record({
    fault_type: fc.constant('RESOURCE_EXHAUSTION'),
    probability: fc.constant(1),
    pressure: fc.oneof(
      fc.record({
        type: fc.constant('MEMORY'),
        heap_fraction: fc.double({ min: 0.00001, max: 0.0005, noNaN: true }),
      }),
      fc.record({ type: fc.constant('CPU'), block_ms: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ type: fc.string(), heap_fraction: fc.anything() }),
    ),
  }),
)
const brokenFault = fc.record(
  {
    fault_type: fc.oneof(fc.constantFrom(...FAULT_TYPES), fc.string()),
    probability: fc.oneof(fc.double(), fc.string(), fc.constant(null)),
    blast_radius: fc.oneof(fc.constantFrom(...BLAST_RADII), fc.string()),
    enabled: fc.anything(),
    latency_ms: smallPositive,
    exception_class: fc.string(),
    exception_message: fc.string({ maxLength: 600 }),
    timeout_ms: fc.anything(),
    rate_limit_window_seconds: fc.anything(),
  },
  { requiredKeys: [] },
)

const validExperiment = fc.record({
  id: fc.constantFrom('e1', 'e2', 'pms_down'),
  target_service: fc.constantFrom(...HOST_SERVICES),
  fault_config: validFault,
  lease_seconds: fc.integer({ min: 1, max: 60 }),
})
const brokenExperiment = fc.record(
  {
    id,
    target_service: fc.oneof(fc.constantFrom(...HOST_SERVICES, 'hotel'), fc.string()),
    fault_config: fc.oneof(validFault, brokenFault, fc.anything()),
    lease_seconds: fc.oneof(fc.constant(30), smallPositive, fc.anything()),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
)
const experimentBody = fc.oneof(validExperiment, brokenExperiment)

const body = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: experimentBody.map((b) => JSON.stringify(b)) },
  {
    weight: 1,
    arbitrary: fc
      .record({ lease_seconds: fc.oneof(smallPositive, fc.anything()) })
      .map((b) => JSON.stringify(b)),
  },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.anything().map((v) => JSON.stringify(v) ?? 'undefined') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('{', '[]', 'null', '"x"', '{"__proto__": {"id": "x"}}', '1e999', '\u0000'),
  },
)

const token = fc.oneof(
  { weight: 8, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`) },
)

const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS')

interface Req {
  m: string
  p: string
  auth: string | undefined
  b: string | undefined
}
const bearer = `Bearer ${TOKEN}`
const knownId = fc.constantFrom('e1', 'e2', 'pms_down', 'nope')

/** Well-aimed protocol calls (so experiments really start, renew and stop) mixed with pure noise. */
const req: fc.Arbitrary<Req> = fc.oneof(
  {
    weight: 3,
    arbitrary: experimentBody.map((b) => ({
      m: 'POST',
      p: '/chaos/experiments',
      auth: bearer,
      b: JSON.stringify(b),
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(knownId, fc.record({ lease_seconds: fc.oneof(smallPositive, fc.anything()) }))
      .map(([i, b]) => ({
        m: 'PUT',
        p: `/chaos/experiments/${i}/lease`,
        auth: bearer,
        b: JSON.stringify(b),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('GET', 'DELETE'),
        fc.oneof(
          knownId.map((i) => `/chaos/experiments/${i}`),
          fc.constantFrom('/chaos', '/chaos/experiments'),
        ),
      )
      .map(([m, p]) => ({ m, p, auth: bearer, b: undefined })),
  },
  { weight: 3, arbitrary: fc.record({ m: method, p: path, auth: token, b: body }) },
)

it(
  'control endpoint: never a 5xx, never a stack trace, always a JSON answer',
  { timeout: 60_000 },
  async () => {
    const seen = new Set<number>()
    await fc.assert(
      fc.asyncProperty(req, async ({ m, p, auth, b }) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' }
        if (auth !== undefined) headers.authorization = auth.replace(/[^\x20-\x7e]/g, '?')
        const sendsBody = b !== undefined && m !== 'GET' && m !== 'HEAD'
        const answer = await send(m, encodePath(p), headers, sendsBody ? b : undefined)
        seen.add(answer.status)
        expect(answer.status).toBeGreaterThanOrEqual(200)
        expect(answer.status).toBeLessThan(500)
        if (m === 'HEAD') return
        const json = JSON.parse(answer.text) as unknown
        expect(answer.text).not.toMatch(/\n\s+at /)
        if (answer.status >= 400) ErrorBody.parse(json)
        expect(host.agent.activeExperiments().length).toBeLessThanOrEqual(1)
      }),
      { numRuns: 2000 },
    )
    // The run exercised the interesting answers, and the agent still serves.
    for (const status of [200, 201, 400, 401, 404, 405, 409, 410]) expect(seen).toContain(status)
    const info = await send('GET', '/chaos', { authorization: `Bearer ${TOKEN}` })
    expect(info.status).toBe(200)
    AgentInfo.parse(JSON.parse(info.text))
  },
)

it('oversized bodies get 413 and leave the agent serving', async () => {
  const big = JSON.stringify({ id: 'big', pad: 'x'.repeat(70_000) })
  const answer = await send('POST', '/chaos/experiments', { authorization: `Bearer ${TOKEN}` }, big)
  expect(answer.status).toBe(413)
  expect((await send('GET', '/chaos', { authorization: `Bearer ${TOKEN}` })).status).toBe(200)
})
