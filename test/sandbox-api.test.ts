/**
 * The sandbox's HTTP surface: routes, validation (400/404/405/413), /health, /metrics names and
 * counting, the control endpoint mounted at /chaos, and the agent-less variant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { availabilityPath, booking, call, dayFromNow, sample, scrape } from './sandbox-helpers.js'

let sandbox: Sandbox

beforeAll(async () => {
  sandbox = await startSandbox({ token: 'api-token-0123456789', baseLatencyMs: 0 })
})
afterAll(() => sandbox.close())

describe('routes', () => {
  it('GET /api/availability answers fresh availability per room type', async () => {
    const answer = await call(sandbox, availabilityPath())
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ nights: 2, stale: false })
    expect(answer.body.rooms).toEqual([
      { room_type: 'STANDARD', available: 12, price_per_night: 89, total_price: 178 },
      { room_type: 'DELUXE', available: 6, price_per_night: 139, total_price: 278 },
      { room_type: 'SUITE', available: 3, price_per_night: 249, total_price: 498 },
    ])
    expect(answer.headers.get('x-cache')).toBeNull()
  })

  it('POST /api/bookings creates a booking (201) that availability then reflects', async () => {
    const stay = { check_in: dayFromNow(40), check_out: dayFromNow(42) }
    const path = `/api/availability?check_in=${stay.check_in}&check_out=${stay.check_out}`
    const suites = async () =>
      (await call<{ rooms: Array<{ room_type: string; available: number }> }>(sandbox, path)).body.rooms.find(
        (r) => r.room_type === 'SUITE',
      )!.available
    const before = await suites()
    const answer = await call(sandbox, '/api/bookings', {
      body: { guest_name: 'Lucía', room_type: 'SUITE', ...stay },
    })
    expect(answer.status).toBe(201)
    expect(answer.body.booking).toMatchObject({
      guest_name: 'Lucía',
      room_type: 'SUITE',
      nights: 2,
      total_price: 498,
      status: 'CONFIRMED',
    })
    expect(await suites()).toBe(before - 1)
  })

  it('POST /api/messages and /api/emails are sent (202); GET /api/sessions/:id reads the session', async () => {
    const message = await call(sandbox, '/api/messages', { body: { to: '+34 600 123 456', text: 'Hola' } })
    expect(message.status).toBe(202)
    expect(message.body).toMatchObject({
      queued: false,
      message: { status: 'SENT' },
      session_source: 'session_store',
    })
    const email = await call(sandbox, '/api/emails', {
      body: { to: 'ana@example.com', subject: 'Hi', body: 'Text' },
    })
    expect(email.status).toBe(202)
    expect(email.body).toMatchObject({ queued: false, message: { status: 'SENT' } })
    const session = await call<{ source: string; session: { id: string; reads: number } }>(
      sandbox,
      '/api/sessions/+34600123456',
    )
    expect(session.status).toBe(200)
    expect(session.body.source).toBe('session_store')
    // The message read the same session first.
    expect(session.body.session).toMatchObject({ id: '+34600123456', reads: 2 })
  })

  it('GET /health reports every dependency closed', async () => {
    const answer = await call(sandbox, '/health')
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({
      status: 'ok',
      dependencies: {
        pms_adapter: 'CLOSED',
        whatsapp_client: 'CLOSED',
        gmail_client: 'CLOSED',
        database: 'CLOSED',
        session_store: 'CLOSED',
      },
      outbox: { whatsapp: 0, gmail: 0 },
      pending_bookings: 0,
      db_pool: { size: 10, in_use: 0 },
    })
  })
})

describe('bad input', () => {
  it.each([
    ['/api/availability', 'check_in'],
    [
      `/api/availability?check_in=2026-02-30&check_out=${dayFromNow(3)}`,
      'check_in: must be a date YYYY-MM-DD',
    ],
    [
      `/api/availability?check_in=${dayFromNow(5)}&check_out=${dayFromNow(5)}`,
      'check_out: must be after check_in',
    ],
    [`/api/availability?check_in=${dayFromNow(1)}&check_out=${dayFromNow(40)}`, 'at most 30 nights'],
  ])('GET %s → 400 naming the field', async (path, problem) => {
    const answer = await call<{ error: string; problems: string[] }>(sandbox, path)
    expect(answer.status).toBe(400)
    expect(answer.body.problems.join('\n')).toContain(problem)
  })

  it('a booking with a bad body → 400 listing every problem', async () => {
    const answer = await call<{ problems: string[] }>(sandbox, '/api/bookings', {
      body: { guest_name: '', room_type: 'PENTHOUSE' },
    })
    expect(answer.status).toBe(400)
    const fields = answer.body.problems.map((p) => p.split(':')[0])
    expect(fields).toEqual(['guest_name', 'room_type', 'check_in', 'check_out'])
  })

  it('invalid JSON → 400; a body over 64 KiB → 413', async () => {
    const broken = await fetch(`${sandbox.url}/api/emails`, { method: 'POST', body: '{"to": ' })
    expect(broken.status).toBe(400)
    expect(await broken.json()).toEqual({ error: 'request body is not valid JSON' })
    const huge = await fetch(`${sandbox.url}/api/emails`, {
      method: 'POST',
      body: JSON.stringify({ to: 'a@b.es', subject: 's', body: 'x'.repeat(70_000) }),
    })
    expect(huge.status).toBe(413)
  })

  it('bad message recipient and session id → 400; unknown route → 404; wrong method → 405', async () => {
    expect((await call(sandbox, '/api/messages', { body: { to: 'nobody', text: 'x' } })).status).toBe(400)
    expect((await call(sandbox, '/api/sessions/' + 'x'.repeat(65))).status).toBe(400)
    expect((await call(sandbox, '/api/sessions/%E0%A4%A')).status).toBe(400)
    expect((await call(sandbox, '/api/rooms')).status).toBe(404)
    const wrong = await call(sandbox, '/api/bookings')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('POST')
  })
})

describe('metrics', () => {
  it('exposes the sandbox, agent and Node default metrics', async () => {
    const text = await scrape(sandbox)
    for (const name of [
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'circuit_breaker_state',
      'circuit_breaker_trips_total',
      'retries_total',
      'cache_fallbacks_total',
      'db_pool_in_use',
      'pending_bookings',
      'chaos_agent_calls_total',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text, name).toMatch(new RegExp(`^${name}[{ ]`, 'm'))
    }
    for (const target of ['pms_adapter', 'whatsapp_client', 'gmail_client', 'database', 'session_store']) {
      expect(sample(text, 'circuit_breaker_state', { target_service: target })).toBe(0)
    }
  })

  it('counts every API request by route and status, but not control calls', async () => {
    const requests = (t: string, route: string, status: string) =>
      sample(t, 'http_requests_total', { route, status })
    const before = await scrape(sandbox)
    await call(sandbox, availabilityPath())
    await call(sandbox, availabilityPath())
    await call(sandbox, '/api/bookings', { body: booking() })
    await call(sandbox, '/api/bookings', { body: {} })
    await call(sandbox, '/api/sessions/guest-1')
    await fetch(`${sandbox.url}/chaos`, { headers: { authorization: 'Bearer api-token-0123456789' } })
    const after = await scrape(sandbox)
    expect(requests(after, '/api/availability', '200') - requests(before, '/api/availability', '200')).toBe(2)
    expect(requests(after, '/api/bookings', '201') - requests(before, '/api/bookings', '201')).toBe(1)
    expect(requests(after, '/api/bookings', '400') - requests(before, '/api/bookings', '400')).toBe(1)
    expect(requests(after, '/api/sessions/:id', '200') - requests(before, '/api/sessions/:id', '200')).toBe(1)
    // The scrape that produced `before` is counted too.
    expect(requests(after, '/metrics', '200') - requests(before, '/metrics', '200')).toBe(1)
    expect(after).not.toMatch(/http_requests_total\{[^}]*route="\/chaos/)
  })
})

describe('control endpoint at /chaos', () => {
  it('needs the Bearer token and lists the five wrapped dependencies', async () => {
    expect((await fetch(`${sandbox.url}/chaos`)).status).toBe(401)
    expect((await fetch(`${sandbox.url}/chaos`, { headers: { authorization: 'Bearer nope' } })).status).toBe(
      401,
    )
    const res = await fetch(`${sandbox.url}/chaos`, {
      headers: { authorization: 'Bearer api-token-0123456789' },
    })
    expect(res.status).toBe(200)
    const info = (await res.json()) as { service: string; services: string[] }
    expect(info.service).toBe('agente_hotelero')
    expect([...info.services].sort()).toEqual([
      'database',
      'gmail_client',
      'pms_adapter',
      'session_store',
      'whatsapp_client',
    ])
  })

  it('refuses an experiment on a service the sandbox does not have (400)', async () => {
    const res = await fetch(`${sandbox.url}/chaos/experiments`, {
      method: 'POST',
      headers: { authorization: 'Bearer api-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'nope',
        target_service: 'payment_gateway',
        fault_config: { fault_type: 'LATENCY', latency_ms: 10, probability: 1 },
        lease_seconds: 5,
      }),
    })
    expect(res.status).toBe(400)
  })
})

describe('without the agent (benchmark baseline)', () => {
  it('serves the same API, with no /chaos route and no agent metrics', async () => {
    const bare = await startSandbox({ withAgent: false, baseLatencyMs: 0, defaultMetrics: false })
    try {
      expect(bare.agent).toBeNull()
      expect((await call(bare, availabilityPath())).status).toBe(200)
      expect((await fetch(`${bare.url}/chaos`)).status).toBe(404)
      expect(await scrape(bare)).not.toContain('chaos_agent_')
    } finally {
      await bare.close()
    }
  })
})
