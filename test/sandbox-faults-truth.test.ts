/**
 * Every fault type, started through the control endpoint exactly as the runner does, observed on a
 * sandbox route over real HTTP; SINGLE_REQUEST scoping; and rollback leaving the service as before.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import {
  availabilityPath,
  booking,
  call,
  getExperiment,
  sample,
  scrape,
  seededRandom,
  startExperiment,
  stopExperiment,
  tag,
} from './sandbox-helpers.js'
import { pollUntil } from './support/index.js'

let sandbox: Sandbox
let seq = 0
let running: string | undefined

beforeAll(async () => {
  sandbox = await startSandbox({
    token: 'test-token-0123456789',
    baseLatencyMs: 0,
    retryBaseDelayMs: 5,
    callTimeoutMs: { session_store: 50 },
    breakerHalfOpenAfterMs: 100,
    outboxDrainIntervalMs: 20,
    random: seededRandom(7),
    defaultMetrics: false,
  })
})
afterAll(() => sandbox.close())

/** Starts an experiment that afterEach rolls back. */
async function inject(target: string, fault: Record<string, unknown>): Promise<string> {
  const id = `exp-${++seq}`
  await startExperiment(sandbox, id, target, { probability: 1, ...fault })
  running = id
  return id
}

async function healthy(): Promise<boolean> {
  const health = await call<{ status: string }>(sandbox, '/health')
  return health.body.status === 'ok'
}

afterEach(async () => {
  if (running) await stopExperiment(sandbox, running)
  running = undefined
  // Each test starts from a fully recovered service: breakers closed, outboxes drained.
  await pollUntil(async () => (await call(sandbox, availabilityPath(3))).status === 200 && healthy(), {
    what: 'the sandbox to recover (availability 200, health ok)',
  })
})

describe('each fault type on a sandbox route', () => {
  it('LATENCY on pms_adapter delays /api/availability by the injected latency', async () => {
    const id = await inject('pms_adapter', { fault_type: 'LATENCY', latency_ms: 150 })
    const answer = await call<{ stale: boolean }>(sandbox, availabilityPath())
    expect(answer.status).toBe(200)
    expect(answer.body.stale).toBe(false)
    // A lower bound only: the answer cannot arrive before the injected delay has elapsed.
    expect(answer.ms).toBeGreaterThanOrEqual(145)
    expect((await getExperiment(sandbox, id)).faults_injected).toBe(1)
  })

  it('EXCEPTION on pms_adapter: retried 3 times, then the booking is queued (202) naming the error', async () => {
    // Its own sandbox with an idle outbox drain, so the counters are this one request's attempts.
    const quiet = await startSandbox({
      token: 'test-token-0123456789',
      baseLatencyMs: 0,
      retryBaseDelayMs: 5,
      outboxDrainIntervalMs: 3_600_000,
      random: seededRandom(7),
      defaultMetrics: false,
    })
    try {
      const before = sample(await scrape(quiet), 'retries_total', { target_service: 'pms_adapter' })
      await startExperiment(quiet, 'exp-exception', 'pms_adapter', {
        probability: 1,
        fault_type: 'EXCEPTION',
        exception_class: 'PMSServerError',
        exception_message: 'HTTP 500 from QloApps',
      })
      const answer = await call(quiet, '/api/bookings', { body: booking() })
      // Degraded mode for writes: the PMS failed after every retry, so the booking waits in the queue.
      expect(answer.status).toBe(202)
      expect(answer.body).toMatchObject({ queued: true, reason: 'ERROR', booking: { status: 'PENDING' } })
      const after = sample(await scrape(quiet), 'retries_total', { target_service: 'pms_adapter' })
      expect(after - before).toBe(3)
      expect((await getExperiment(quiet, 'exp-exception')).faults_injected).toBe(4)
    } finally {
      await quiet.close()
    }
  })

  it('TIMEOUT on session_store is cut short by the 50 ms call timeout; the database answers instead', async () => {
    const id = await inject('session_store', { fault_type: 'TIMEOUT', timeout_ms: 60_000 })
    const answer = await call<{ source: string; session: { id: string } }>(sandbox, '/api/sessions/guest-42')
    expect(answer.status).toBe(200)
    expect(answer.body.source).toBe('database')
    expect(answer.body.session.id).toBe('guest-42')
    // Cooperative timeouts: each of the 4 attempts was abandoned long before the 60 s hang ended.
    expect(answer.ms).toBeLessThan(60_000)
    expect((await getExperiment(sandbox, id)).faults_injected).toBe(4)
  })

  it('CIRCUIT_BREAK on gmail_client opens the Gmail breaker; emails are queued (degraded mode)', async () => {
    const text0 = await scrape(sandbox)
    await inject('gmail_client', { fault_type: 'CIRCUIT_BREAK' })
    const reasons: string[] = []
    for (let i = 0; i < 6; i++) {
      const answer = await call<{ queued: boolean; reason: string }>(sandbox, '/api/emails', {
        body: { to: 'guest@example.com', subject: 'Booking', body: 'See you soon' },
      })
      expect(answer.status).toBe(202)
      expect(answer.body.queued).toBe(true)
      reasons.push(answer.body.reason)
    }
    // Attempts failed (ECONNREFUSED) and were retried until enough of them (the background outbox
    // drain's count too) filled the breaker's sampling window and opened it; it then answered at once.
    expect(reasons[0]).toBe('ERROR')
    expect(reasons.at(-1)).toBe('CIRCUIT_OPEN')
    const text = await scrape(sandbox)
    const trips = (t: string) => sample(t, 'circuit_breaker_trips_total', { target_service: 'gmail_client' })
    expect(trips(text) - trips(text0)).toBeGreaterThanOrEqual(1)
    const health = await call<{ status: string; outbox: { gmail: number } }>(sandbox, '/health')
    expect(health.body.status).toBe('degraded')
    expect(health.body.outbox.gmail).toBe(6)
  })

  it('RATE_LIMIT 5 / 60 s on pms_adapter: bookings beyond the limit are queued (202), then submitted', async () => {
    const queued202 = () =>
      scrape(sandbox).then((t) => sample(t, 'http_requests_total', { route: '/api/bookings', status: '202' }))
    const queuedBefore = await queued202()
    const id = await inject('pms_adapter', {
      fault_type: 'RATE_LIMIT',
      rate_limit_requests: 5,
      rate_limit_window_seconds: 60,
    })
    const answers = []
    for (let i = 0; i < 7; i++)
      answers.push(await call(sandbox, '/api/bookings', { body: booking(`Guest ${i}`) }))
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201, 202, 202])
    for (const queued of answers.slice(5)) {
      // The 429s were retried first; only then was the booking queued instead of refused.
      expect(queued.body).toMatchObject({
        queued: true,
        reason: 'RATE_LIMITED',
        booking: { status: 'PENDING' },
      })
    }
    const during = await call<{ status: string; pending_bookings: number }>(sandbox, '/health')
    expect(during.body).toMatchObject({ status: 'degraded', pending_bookings: 2 })
    expect(sample(await scrape(sandbox), 'pending_bookings')).toBe(2)
    // A 429 is not a PMS fault: the breaker stayed closed and availability is still fresh.
    expect(during.body).toMatchObject({ dependencies: { pms_adapter: 'CLOSED' } })
    await stopExperiment(sandbox, id)
    running = undefined
    // Once the PMS accepts calls again, the background drain submits the queued bookings.
    await pollUntil(async () => sample(await scrape(sandbox), 'pending_bookings') === 0, {
      what: 'the queued bookings to be submitted',
    })
    expect((await queued202()) - queuedBefore).toBe(2)
  })

  it('RESOURCE_EXHAUSTION on database: bookings fail with 503 and the PMS reservation is compensated', async () => {
    const rooms = async () =>
      (await call<{ rooms: Array<{ available: number }> }>(sandbox, availabilityPath(20))).body.rooms
    const before = await rooms()
    await inject('database', { fault_type: 'RESOURCE_EXHAUSTION' })
    const answer = await call(sandbox, '/api/bookings', { body: booking() })
    expect(answer.status).toBe(503)
    expect(answer.body).toMatchObject({ target_service: 'database' })
    expect(String(answer.body.error)).toContain('ResourceExhaustedError')
    expect(await rooms()).toEqual(before)
  })
})

describe('blast radius through the inbound hook', () => {
  it('SINGLE_REQUEST touches only requests tagged with the experiment id', async () => {
    const id = await inject('pms_adapter', {
      fault_type: 'EXCEPTION',
      exception_class: 'PMSServerError',
      blast_radius: 'SINGLE_REQUEST',
    })
    // Untagged and other-tag requests first: the tagged request's failures count in the shared breaker,
    // which could otherwise send later requests to the cache for a reason unrelated to scoping.
    const untagged = await call<{ stale: boolean }>(sandbox, availabilityPath())
    expect(untagged.status).toBe(200)
    expect(untagged.body.stale).toBe(false)
    const otherTag = await call<{ stale: boolean }>(sandbox, availabilityPath(), {
      headers: tag(sandbox, 'someone-else'),
    })
    expect(otherTag.body.stale).toBe(false)
    expect((await getExperiment(sandbox, id)).faults_injected).toBe(0)
    const tagged = await call<{ stale: boolean }>(sandbox, availabilityPath(), {
      headers: tag(sandbox, id),
    })
    expect(tagged.status).toBe(200)
    expect(tagged.body.stale).toBe(true)
    expect(tagged.headers.get('x-cache')).toBe('STALE')
    // Up to 4 attempts; fewer when these failures, with the earlier tests' in the same sampling
    // window, opened the shared PMS breaker, which ends the retries at once.
    const injected = (await getExperiment(sandbox, id)).faults_injected
    expect(injected).toBeGreaterThanOrEqual(1)
    expect(injected).toBeLessThanOrEqual(4)
  })
})

describe('rollback', () => {
  it('DELETE ends the fault: latency back below the injected delay, fault counters stop', async () => {
    const id = await inject('pms_adapter', { fault_type: 'LATENCY', latency_ms: 800 })
    const slow = await call(sandbox, availabilityPath())
    expect(slow.ms).toBeGreaterThanOrEqual(790)
    const stopped = await stopExperiment(sandbox, id)
    running = undefined
    expect(stopped.state).toBe('COMPLETED')
    const faults = (t: string) => sample(t, 'chaos_agent_faults_injected_total')
    const faultsAtRollback = faults(await scrape(sandbox))
    expect(faultsAtRollback).toBeGreaterThanOrEqual(1)
    for (let i = 0; i < 5; i++) {
      const answer = await call<{ stale: boolean }>(sandbox, availabilityPath())
      expect(answer.status).toBe(200)
      expect(answer.body.stale).toBe(false)
      expect(answer.ms).toBeLessThan(800)
    }
    expect(faults(await scrape(sandbox))).toBe(faultsAtRollback)
    expect((await getExperiment(sandbox, id)).faults_injected).toBe(stopped.faults_injected)
    const info = await fetch(`${sandbox.url}/chaos`, {
      headers: { authorization: 'Bearer test-token-0123456789' },
    })
    expect(((await info.json()) as { active_experiments: unknown[] }).active_experiments).toEqual([])
  })

  it('after a breaker-opening fault is rolled back the service returns exactly to its initial health', async () => {
    const initial = (await call(sandbox, '/health')).body
    const id = await inject('whatsapp_client', { fault_type: 'CIRCUIT_BREAK' })
    for (let i = 0; i < 6; i++) {
      await call(sandbox, '/api/messages', { body: { to: '+34600111333', text: `msg ${i}` } })
    }
    const during = await call<{ status: string; outbox: { whatsapp: number } }>(sandbox, '/health')
    expect(during.body.status).toBe('degraded')
    expect(during.body.outbox.whatsapp).toBe(6)
    await stopExperiment(sandbox, id)
    running = undefined
    // The breaker half-opens, the outbox drain probes it and delivers the queued messages.
    await pollUntil(healthy, { what: 'the outbox drain to deliver the queued messages' })
    expect((await call(sandbox, '/health')).body).toEqual(initial)
  })
})
