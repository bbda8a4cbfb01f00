/**
 * The sandbox with its PMS, WhatsApp and Gmail over real HTTP (`dependencies`), agent off: the
 * setup `chaos proxy` drives. The fake dependency server holds the remote state; a small front
 * server between them (what a proxy would be) records what the sandbox sends and fails on demand,
 * so the tests see the tag propagation and the resilience policies meeting real HTTP failures.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect } from 'vitest'
import { startDependencyServer, startSandbox, type DependencyServer } from '../src/sandbox/index.js'
import { tagHeaders } from '../src/protocol/tag.js'
import { availabilityPath, booking, call, sample, scrape } from './sandbox-helpers.js'
import { test } from './support/index.js'

type Mode = 'PASS' | 'HANG' | number

/** Between the sandbox and the dependency server: records every request, forwards it or fails it. */
interface Front {
  url: string
  seen: Array<{ method: string; path: string; headers: IncomingHttpHeaders }>
  mode: Mode
  close(): Promise<void>
}

async function startFront(upstream: string): Promise<Front> {
  const front: Omit<Front, 'url' | 'close'> = { seen: [], mode: 'PASS' }
  const server: Server = createServer((req, res) => {
    front.seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers })
    const mode = front.mode
    if (mode === 'HANG') return // held until the caller's timeout gives up on it
    if (typeof mode === 'number') {
      res.writeHead(mode, { 'content-type': 'application/json' }).end('{"error":"injected"}')
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined
      void fetch(upstream + (req.url ?? '/'), {
        method: req.method ?? 'GET',
        headers: { 'content-type': 'application/json' },
        ...(body && { body }),
      }).then(async (r) =>
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return Object.assign(front, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  })
}

const opened: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()))
})

/** Dependency server, front, and a sandbox (agent off) whose PMS/WhatsApp/Gmail go through the front. */
async function setup(options: { callTimeoutMs?: number } = {}) {
  const deps: DependencyServer = await startDependencyServer({ baseLatencyMs: 0 })
  opened.push(deps)
  const front = await startFront(deps.url)
  opened.push(front)
  const sandbox = await startSandbox({
    withAgent: false,
    baseLatencyMs: 0,
    defaultMetrics: false,
    retryBaseDelayMs: 1,
    // Background drains would add requests to what the front sees; none within a test.
    outboxDrainIntervalMs: 600_000,
    ...(options.callTimeoutMs !== undefined && { callTimeoutMs: options.callTimeoutMs }),
    dependencies: { pms_adapter: front.url, whatsapp_client: front.url, gmail_client: front.url },
  })
  opened.unshift(sandbox)
  return { deps, front, sandbox }
}

describe('sandbox with HTTP dependencies (agent off)', () => {
  test('serves every route from the remote state of the dependency server', async () => {
    const { deps, front, sandbox } = await setup()
    // Warm-up read the PMS calendar over HTTP.
    expect(front.seen[0]!.method).toBe('GET')
    expect(front.seen[0]!.path).toMatch(/^\/pms\/availability\?check_in=\d{4}-\d\d-\d\d&nights=180$/)

    const before = await call<{ rooms: Array<{ room_type: string; available: number }> }>(
      sandbox,
      availabilityPath(20),
    )
    expect(before.status).toBe(200)
    expect(before.body).toMatchObject({ stale: false })
    const created = await call<{ booking: { pms_reservation_id: string } }>(sandbox, '/api/bookings', {
      body: booking(),
    })
    expect(created.status).toBe(201)
    expect(created.body.booking.pms_reservation_id).toBe('QLO-1')
    // The reservation lives in the dependency server: its own calendar shows one DELUXE room fewer.
    const remote = (await (
      await fetch(`${deps.url}/pms/availability?check_in=${booking().check_in}&nights=1`)
    ).json()) as {
      nights: Array<{ rooms: Record<string, number> }>
    }
    expect(remote.nights[0]!.rooms.DELUXE).toBe(5)

    const message = await call(sandbox, '/api/messages', { body: { to: '+34600123456', text: 'Hola' } })
    expect(message.body).toMatchObject({ message: { id: 'wamid-1', status: 'SENT' }, queued: false })
    const email = await call(sandbox, '/api/emails', {
      body: { to: 'a@example.com', subject: 's', body: 'b' },
    })
    expect(email.body).toMatchObject({ message: { id: 'gmail-1', status: 'SENT' }, queued: false })
    expect((await fetch(`${sandbox.url}/chaos`)).status).toBe(404)
    expect(await scrape(sandbox)).not.toContain('chaos_agent_')
  })

  test('copies the inbound signed tag onto every dependency call made for it, and only for it', async () => {
    const { front, sandbox } = await setup()
    const tag = tagHeaders('some-token-0123456789', 'exp-42')
    front.seen.length = 0
    front.mode = 500
    // Tagged: the PMS fails, so the call is retried; every attempt carries the tag.
    expect((await call(sandbox, availabilityPath(), { headers: tag })).headers.get('x-cache')).toBe('STALE')
    expect(front.seen).toHaveLength(4)
    for (const { headers } of front.seen) {
      expect(headers['x-chaos-experiment']).toBe('exp-42')
      expect(headers['x-chaos-signature']).toBe(tag['x-chaos-signature'])
    }
    front.seen.length = 0
    front.mode = 'PASS'
    await call(sandbox, availabilityPath())
    expect(front.seen).toHaveLength(1)
    expect(front.seen[0]!.headers['x-chaos-experiment']).toBeUndefined()
    expect(front.seen[0]!.headers['x-chaos-signature']).toBeUndefined()
  })

  test('a 5xx is retried and falls back (stale cache, queued booking and message)', async () => {
    const { front, sandbox } = await setup()
    front.mode = 503
    const availability = await call(sandbox, availabilityPath())
    expect(availability.status).toBe(200)
    expect(availability.body).toMatchObject({ stale: true })
    const queued = await call(sandbox, '/api/bookings', { body: booking() })
    expect(queued.status).toBe(202)
    expect(queued.body).toMatchObject({ queued: true, reason: 'ERROR' })
    const message = await call(sandbox, '/api/messages', { body: { to: '+34600123456', text: 'Hola' } })
    expect(message.body).toMatchObject({ queued: true, reason: 'ERROR' })
    const metrics = await scrape(sandbox)
    expect(sample(metrics, 'retries_total', { target_service: 'pms_adapter' })).toBe(6)
    expect(sample(metrics, 'retries_total', { target_service: 'whatsapp_client' })).toBe(3)
    expect(sample(metrics, 'cache_fallbacks_total')).toBe(1)
  })

  test('a 429 is a rate limit (booking queued RATE_LIMITED, not a breaker failure); other 4xx are not retried', async () => {
    const { front, sandbox } = await setup()
    front.mode = 429
    const queued = await call(sandbox, '/api/bookings', { body: booking() })
    expect(queued.body).toMatchObject({ queued: true, reason: 'RATE_LIMITED' })
    expect(sample(await scrape(sandbox), 'retries_total', { target_service: 'pms_adapter' })).toBe(3)

    front.mode = 404
    front.seen.length = 0
    const email = await call(sandbox, '/api/emails', {
      body: { to: 'a@example.com', subject: 's', body: 'b' },
    })
    expect(email.body).toMatchObject({ queued: true, reason: 'ERROR' })
    expect(front.seen).toHaveLength(1)
  })

  test('a dependency that does not answer is cut by the per-attempt timeout (TIMEOUT)', async () => {
    const { front, sandbox } = await setup({ callTimeoutMs: 50 })
    front.mode = 'HANG'
    const queued = await call(sandbox, '/api/bookings', { body: booking() })
    expect(queued.body).toMatchObject({ queued: true, reason: 'TIMEOUT' })
  })

  test('a dependency server that is gone is a connection error: the fallbacks answer', async () => {
    const { deps, front, sandbox } = await setup()
    await front.close()
    await deps.close()
    const availability = await call(sandbox, availabilityPath())
    expect(availability.status).toBe(200)
    expect(availability.headers.get('x-cache')).toBe('STALE')
    const message = await call(sandbox, '/api/messages', { body: { to: '+34600123456', text: 'Hola' } })
    expect(message.body).toMatchObject({ queued: true, reason: 'ERROR' })
  })

  test('refuses a dependency that cannot be reached over HTTP, or a URL that is not http(s)', async () => {
    await expect(
      startSandbox({ withAgent: false, dependencies: { database: 'http://127.0.0.1:1' } as never }),
    ).rejects.toThrow(/database" cannot be reached over HTTP/)
    await expect(
      startSandbox({ withAgent: false, dependencies: { pms_adapter: 'ftp://127.0.0.1:1' } }),
    ).rejects.toThrow(/not an http\(s\) URL/)
  })
})
