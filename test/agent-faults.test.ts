/**
 * Fault injection observed through a real node:http host service that embeds the agent: every fault
 * type, probability statistics, blast radius, AbortSignal, rollback and resource pressure.
 */
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { afterEach, describe, expect, it } from 'vitest'
import { systemClock, type Clock } from '../src/clock.js'
import { ExperimentView, PRESSURE_LIMITS } from '../src/protocol/schemas.js'
import { createChaosAgent, isInjectedError, MEMORY_STEP_BYTES } from '../src/agent/index.js'
import {
  experiment,
  request,
  seededRandom,
  startHost,
  tag,
  type CallResult,
  type Host,
  TOKEN,
} from './agent-helpers.js'
import { pollUntil } from './support/index.js'

type ExperimentReply = { experiment: ExperimentView & Record<string, unknown> }
type BatchReply = { ok: number; failed: number; errors: Record<string, number> }

let host: Host | undefined
afterEach(async () => {
  await host?.close()
  host = undefined
})

async function start(h: Host, body: Record<string, unknown>): Promise<ExperimentReply['experiment']> {
  const reply = await request<ExperimentReply>(h.url, 'POST', '/chaos/experiments', { body })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  return reply.body.experiment
}

async function call(
  h: Host,
  service: string,
  x = 1,
  headers: Record<string, string> = {},
): Promise<CallResult> {
  return (await request<CallResult>(h.url, 'GET', `/call/${service}?x=${x}`, { token: null, headers })).body
}

async function getExperiment(h: Host, id: string): Promise<ExperimentReply['experiment']> {
  const reply = await request<ExperimentReply>(h.url, 'GET', `/chaos/experiments/${id}`)
  expect(reply.status).toBe(200)
  return reply.body.experiment
}

/** The system clock, plus a record of every delay the agent asked for. */
function recordingClock(): Clock & { delays: number[] } {
  const delays: number[] = []
  return {
    ...systemClock,
    delays,
    setTimeout(fn, ms) {
      delays.push(ms)
      return systemClock.setTimeout(fn, ms)
    },
  }
}

describe('fault types, observed on a host route', () => {
  it('LATENCY delays the call by latency_ms ± jitter, then returns the real result', async () => {
    const clock = recordingClock()
    host = await startHost({ clock, random: seededRandom(7) })
    await start(
      host,
      experiment('lat', { fault_type: 'LATENCY', probability: 1, latency_ms: 40, latency_jitter_ms: 10 }),
    )
    const before = clock.delays.length
    const t0 = performance.now()
    const result = await call(host, 'pms_adapter', 21)
    const elapsed = performance.now() - t0
    expect(result).toEqual({ ok: true, value: { service: 'pms_adapter', value: 42 } })
    const faultDelays = clock.delays.slice(before).filter((ms) => ms !== 1000) // 1000: the log aggregation timer
    expect(faultDelays).toHaveLength(1)
    expect(faultDelays[0]).toBeGreaterThanOrEqual(30)
    expect(faultDelays[0]).toBeLessThanOrEqual(50)
    // A lower bound only: the response cannot arrive before the injected delay.
    expect(elapsed).toBeGreaterThanOrEqual(faultDelays[0]! - 1)
    expect(host.realCalls.pms_adapter).toBe(1)
  })

  it('LATENCY jitter is uniform over [latency_ms - jitter, latency_ms + jitter]', async () => {
    // Records the requested delays but fires at once: the distribution is what is under test here.
    const delaysRequested: number[] = []
    const clock: Clock & { delays: number[] } = {
      ...systemClock,
      delays: delaysRequested,
      // Fault-sized delays only; the lease and log timers keep their real schedule.
      setTimeout(fn, ms) {
        if (ms >= 100) return systemClock.setTimeout(fn, ms)
        delaysRequested.push(ms)
        return systemClock.setTimeout(fn, 0)
      },
    }
    host = await startHost({ clock, random: seededRandom(11) })
    await start(
      host,
      experiment('jit', { fault_type: 'LATENCY', probability: 1, latency_ms: 5, latency_jitter_ms: 4 }),
    )
    const before = clock.delays.length
    await request(host.url, 'GET', '/batch/pms_adapter?n=400', { token: null })
    const delays = clock.delays.slice(before)
    expect(delays).toHaveLength(400)
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1)
    expect(Math.max(...delays)).toBeLessThanOrEqual(9)
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length
    expect(mean).toBeGreaterThan(4.5)
    expect(mean).toBeLessThan(5.5)
    // Both halves of the range are used.
    expect(delays.filter((d) => d < 5).length).toBeGreaterThan(150)
    expect(delays.filter((d) => d > 5).length).toBeGreaterThan(150)
  })

  it('EXCEPTION throws an Error named exception_class with exception_message, marked as injected', async () => {
    host = await startHost()
    await start(
      host,
      experiment('exc', {
        fault_type: 'EXCEPTION',
        probability: 1,
        exception_class: 'PmsApiError',
        exception_message: 'PMS returned 500',
      }),
    )
    const result = await call(host, 'pms_adapter')
    expect(result).toEqual({
      ok: false,
      error: { name: 'PmsApiError', message: 'PMS returned 500', injected: true, chaos: true },
    })
    expect(host.realCalls.pms_adapter).toBe(0)
  })

  it('TIMEOUT hangs timeout_ms then throws TimeoutError (ETIMEDOUT) without calling the dependency', async () => {
    host = await startHost()
    await start(host, experiment('tmo', { fault_type: 'TIMEOUT', probability: 1, timeout_ms: 30 }))
    const t0 = performance.now()
    const result = await call(host, 'pms_adapter')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29)
    expect(result.ok).toBe(false)
    expect(result.error).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', injected: true })
    expect(host.realCalls.pms_adapter).toBe(0)
  })

  it(
    'TIMEOUT is ended early by the caller AbortSignal, rethrowing its reason',
    { timeout: 15_000 },
    async () => {
      host = await startHost()
      // Ten minutes: if the signal were ignored the test would time out.
      await start(
        host,
        experiment('tmo_abort', { fault_type: 'TIMEOUT', probability: 1, timeout_ms: 600_000 }),
      )
      const reply = await request<CallResult>(host.url, 'GET', '/abortable/pms_adapter?abort_ms=20', {
        token: null,
      })
      expect(reply.body.error).toMatchObject({
        name: 'Error',
        message: 'client gave up',
        is_abort_reason: true,
      })
      expect(host.realCalls.pms_adapter).toBe(0)
    },
  )

  it(
    'LATENCY is ended early by an AbortSignal passed directly as an argument',
    { timeout: 15_000 },
    async () => {
      const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
      const fn = agent.wrap('pms_adapter', (signal: AbortSignal) => Promise.resolve(signal.aborted))
      agent.startExperiment(
        experiment('lat_abort', { fault_type: 'LATENCY', probability: 1, latency_ms: 600_000 }),
      )
      const controller = new AbortController()
      const pending = fn(controller.signal)
      controller.abort(new Error('stop waiting'))
      await expect(pending).rejects.toThrow('stop waiting')
      await agent.close()
    },
  )

  it('CIRCUIT_BREAK throws a ConnectionError with code ECONNREFUSED', async () => {
    host = await startHost()
    await start(host, experiment('cb', { fault_type: 'CIRCUIT_BREAK', probability: 1 }))
    const result = await call(host, 'pms_adapter')
    expect(result.error).toMatchObject({ name: 'ConnectionError', code: 'ECONNREFUSED', injected: true })
  })

  it('RATE_LIMIT lets rate_limit_requests calls through per window, then throws RateLimitError 429', async () => {
    host = await startHost()
    await start(
      host,
      experiment('rl', {
        fault_type: 'RATE_LIMIT',
        probability: 1,
        rate_limit_requests: 3,
        rate_limit_window_seconds: 60,
      }),
    )
    const results: CallResult[] = []
    for (let i = 0; i < 6; i++) results.push(await call(host, 'pms_adapter', i))
    expect(results.slice(0, 3).every((r) => r.ok)).toBe(true)
    for (const r of results.slice(3)) {
      expect(r.error).toMatchObject({ name: 'RateLimitError', status: 429, injected: true })
      expect(r.error!.retry_after_seconds).toBeGreaterThan(0)
      expect(r.error!.retry_after_seconds).toBeLessThanOrEqual(60)
    }
    const view = await getExperiment(host, 'rl')
    // Calls under the limit went through untouched: only the throttled ones count as injected.
    expect(view).toMatchObject({ calls_seen: 6, faults_injected: 3 })
  })

  it('RESOURCE_EXHAUSTION without pressure throws ResourceExhaustedError', async () => {
    host = await startHost()
    await start(host, experiment('res', { fault_type: 'RESOURCE_EXHAUSTION', probability: 1 }))
    const result = await call(host, 'pms_adapter')
    expect(result.error).toMatchObject({ name: 'ResourceExhaustedError', injected: true })
  })

  it('RESOURCE_EXHAUSTION MEMORY holds real memory up to its ceiling and releases it on rollback', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    host = await startHost()
    gc()
    const baseline = process.memoryUsage().arrayBuffers
    const fraction = 0.01
    const started = await start(
      host,
      experiment('mem', {
        fault_type: 'RESOURCE_EXHAUSTION',
        probability: 1,
        pressure: { type: 'MEMORY', heap_fraction: fraction },
      }),
    )
    const ceiling = started.pressure_ceiling_bytes as number
    expect(ceiling).toBeGreaterThan(MEMORY_STEP_BYTES)
    expect(ceiling).toBeLessThanOrEqual(PRESSURE_LIMITS.max_heap_fraction * 2 ** 40)
    // Wait until the ramp has reached the ceiling, never beyond it.
    const full = await pollUntil(
      async () => {
        const view = await getExperiment(host!, 'mem')
        return view.pressure_held_bytes === ceiling ? view : undefined
      },
      { what: 'the memory ramp to reach its ceiling' },
    )
    expect(full.pressure_held_bytes).toBe(ceiling)
    expect(process.memoryUsage().arrayBuffers - baseline).toBeGreaterThanOrEqual(ceiling * 0.95)
    const result = await call(host, 'pms_adapter')
    expect(result.error).toMatchObject({ name: 'ResourceExhaustedError', code: 'ENOMEM' })

    const stopped = await request<ExperimentReply>(host.url, 'DELETE', '/chaos/experiments/mem')
    expect(stopped.body.experiment).toMatchObject({ state: 'COMPLETED', pressure_held_bytes: 0 })
    // Backing stores are freed by a sweeper after the collection: poll until it has run.
    const released = await pollUntil(
      async () => {
        gc()
        await new Promise((resolve) => setTimeout(resolve, 10))
        const held = process.memoryUsage().arrayBuffers - baseline
        return held < ceiling * 0.5 ? held : undefined
      },
      { what: 'the backing stores to be freed', everyMs: 25 },
    )
    expect(released).toBeLessThan(ceiling * 0.5)
    expect(await call(host, 'pms_adapter', 4)).toEqual({
      ok: true,
      value: { service: 'pms_adapter', value: 8 },
    })
  })

  it('RESOURCE_EXHAUSTION CPU blocks the event loop block_ms per selected call, then lets it through', async () => {
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    const fn = agent.wrap('pms_adapter', (x: number) => Promise.resolve(x + 1))
    agent.startExperiment(
      experiment('cpu', {
        fault_type: 'RESOURCE_EXHAUSTION',
        probability: 1,
        pressure: { type: 'CPU', block_ms: 30 },
      }),
    )
    let timerFiredAt = 0
    const t0 = performance.now()
    setTimeout(() => (timerFiredAt = performance.now()), 0)
    const result = await fn(1)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(result).toBe(2)
    // The 0 ms timer could not run before the blocked call returned control to the event loop.
    expect(timerFiredAt - t0).toBeGreaterThanOrEqual(29)
    expect(agent.getExperiment('cpu')).toMatchObject({ faults_injected: 1, pressure_block_ms: 30 })
    await agent.close()
  })
})

describe('selection and blast radius', () => {
  it('probability selects calls independently: 10 000 calls at p=0.25 with a seeded random', async () => {
    host = await startHost({ random: seededRandom(42) })
    await start(
      host,
      experiment('prob', { fault_type: 'EXCEPTION', probability: 0.25, exception_class: 'InjectedError' }),
    )
    let failed = 0
    for (let i = 0; i < 10; i++) {
      const reply = await request<BatchReply>(host.url, 'GET', '/batch/pms_adapter?n=1000', { token: null })
      failed += reply.body.failed
      expect(reply.body.ok + reply.body.failed).toBe(1000)
    }
    // Binomial(10 000, 0.25): sd ≈ 43; ±4 sd.
    expect(failed).toBeGreaterThan(2500 - 175)
    expect(failed).toBeLessThan(2500 + 175)
    const view = await getExperiment(host, 'prob')
    expect(view.calls_seen).toBe(10_000)
    expect(view.faults_injected).toBe(failed)
    expect(host.realCalls.pms_adapter).toBe(10_000 - failed)
  })

  it('probability 0 and enabled: false never inject', async () => {
    host = await startHost()
    await start(host, experiment('p0', { fault_type: 'EXCEPTION', probability: 0, exception_class: 'X' }))
    let reply = await request<BatchReply>(host.url, 'GET', '/batch/pms_adapter?n=200', { token: null })
    expect(reply.body.failed).toBe(0)
    await request(host.url, 'DELETE', '/chaos/experiments/p0')
    await start(
      host,
      experiment('off', { fault_type: 'EXCEPTION', probability: 1, exception_class: 'X', enabled: false }),
    )
    reply = await request<BatchReply>(host.url, 'GET', '/batch/pms_adapter?n=200', { token: null })
    expect(reply.body.failed).toBe(0)
    expect(await getExperiment(host, 'off')).toMatchObject({ calls_seen: 200, faults_injected: 0 })
  })

  it('SINGLE_SERVICE touches only the target service', async () => {
    host = await startHost()
    await start(host, experiment('svc', { fault_type: 'CIRCUIT_BREAK', probability: 1 }))
    expect((await call(host, 'pms_adapter')).ok).toBe(false)
    expect((await call(host, 'whatsapp_client', 3)).value).toEqual({ service: 'whatsapp_client', value: 6 })
    expect((await call(host, 'database', 4)).value).toEqual({ service: 'database', value: 8 })
  })

  it('SINGLE_REQUEST affects only requests tagged with the experiment id', async () => {
    host = await startHost()
    await start(
      host,
      experiment('one_req', { fault_type: 'CIRCUIT_BREAK', probability: 1, blast_radius: 'SINGLE_REQUEST' }),
    )
    const tagged = await call(host, 'pms_adapter', 1, tag('one_req'))
    const untagged = await call(host, 'pms_adapter', 2)
    const otherTag = await call(host, 'pms_adapter', 3, tag('another_experiment'))
    const taggedOtherService = await call(host, 'database', 4, tag('one_req'))
    expect(tagged.error).toMatchObject({ name: 'ConnectionError' })
    expect(untagged).toEqual({ ok: true, value: { service: 'pms_adapter', value: 4 } })
    expect(otherTag).toEqual({ ok: true, value: { service: 'pms_adapter', value: 6 } })
    expect(taggedOtherService).toEqual({ ok: true, value: { service: 'database', value: 8 } })
    // Only the tagged request's call to the target was in the blast radius.
    expect(await getExperiment(host, 'one_req')).toMatchObject({ calls_seen: 1, faults_injected: 1 })
    // Calls made outside any request context are untouched too.
    expect(await host.wrapped.pms_adapter!(5)).toEqual({ service: 'pms_adapter', value: 10 })

    // After a stop (which turns context tracking off) a new SINGLE_REQUEST experiment works again.
    await request(host.url, 'DELETE', '/chaos/experiments/one_req')
    expect((await call(host, 'pms_adapter', 1, tag('one_req'))).ok).toBe(true)
    await start(
      host,
      experiment('two_req', { fault_type: 'CIRCUIT_BREAK', probability: 1, blast_radius: 'SINGLE_REQUEST' }),
    )
    expect((await call(host, 'pms_adapter', 1, tag('two_req'))).ok).toBe(false)
    expect((await call(host, 'pms_adapter', 1, tag('one_req'))).ok).toBe(true)
  })

  it('ENTIRE_SYSTEM hits every wrapped service, including services wrapped after the start', async () => {
    host = await startHost()
    await start(
      host,
      experiment(
        'all',
        { fault_type: 'CIRCUIT_BREAK', probability: 1, blast_radius: 'ENTIRE_SYSTEM' },
        'hotel',
      ),
    )
    for (const service of ['pms_adapter', 'whatsapp_client', 'database']) {
      expect((await call(host, service)).error).toMatchObject({ name: 'ConnectionError' })
    }
    const late = host.agent.wrap('gmail_client', () => Promise.resolve('sent'))
    await expect(late()).rejects.toMatchObject({ name: 'ConnectionError', injected: true })
    expect(await getExperiment(host, 'all')).toMatchObject({ calls_seen: 4, faults_injected: 4 })
  })
})

describe('rollback and untouched calls', () => {
  it('never changes the result of an unselected call (same value, same object)', async () => {
    const agent = createChaosAgent({
      service: 'hotel',
      enabled: true,
      token: TOKEN,
      env: {},
      random: seededRandom(3),
    })
    const fn = agent.wrap('pms_adapter', <T>(x: T) => Promise.resolve(x))
    agent.startExperiment(
      experiment('half', { fault_type: 'EXCEPTION', probability: 0.5, exception_class: 'Boom' }),
    )
    let selected = 0
    for (let i = 0; i < 200; i++) {
      const input = { i }
      try {
        expect(await fn(input)).toBe(input)
      } catch (error) {
        expect(isInjectedError(error)).toBe(true)
        selected++
      }
    }
    expect(selected).toBeGreaterThan(60)
    expect(selected).toBeLessThan(140)
    await agent.close()
  })

  it('rollback leaves the service exactly as before: results, counters and metrics stop', async () => {
    host = await startHost()
    const baseline: CallResult[] = []
    for (let i = 0; i < 5; i++) baseline.push(await call(host, 'pms_adapter', i))
    await start(host, experiment('rb', { fault_type: 'EXCEPTION', probability: 1, exception_class: 'Boom' }))
    for (let i = 0; i < 5; i++) expect((await call(host, 'pms_adapter', i)).ok).toBe(false)

    const stopped = await request<ExperimentReply>(host.url, 'DELETE', '/chaos/experiments/rb')
    expect(stopped.status).toBe(200)
    expect(stopped.body.experiment).toMatchObject({ state: 'COMPLETED', calls_seen: 5, faults_injected: 5 })
    const metricsAfterStop = await host.agent.registry.getSingleMetricAsString(
      'chaos_agent_faults_injected_total',
    )

    const after: CallResult[] = []
    for (let i = 0; i < 5; i++) after.push(await call(host, 'pms_adapter', i))
    expect(after).toEqual(baseline)
    expect(await getExperiment(host, 'rb')).toMatchObject({
      calls_seen: 5,
      faults_injected: 5,
      state: 'COMPLETED',
    })
    expect(await host.agent.registry.getSingleMetricAsString('chaos_agent_faults_injected_total')).toBe(
      metricsAfterStop,
    )
    const active = await host.agent.registry.getSingleMetricAsString('chaos_agent_experiment_active')
    expect(active).toContain(
      'chaos_agent_experiment_active{experiment="rb",target_service="pms_adapter",fault_type="EXCEPTION"} 0',
    )
  })

  it('rollback releases calls hanging in a fault: they go through to the real dependency', async () => {
    host = await startHost()
    await start(host, experiment('hang', { fault_type: 'TIMEOUT', probability: 1, timeout_ms: 600_000 }))
    const pending = call(host, 'pms_adapter', 9)
    await pollUntil(async () => (await getExperiment(host!, 'hang')).faults_injected === 1, {
      what: 'the call to hang in the fault',
    })
    await request(host.url, 'DELETE', '/chaos/experiments/hang')
    expect(await pending).toEqual({ ok: true, value: { service: 'pms_adapter', value: 18 } })
  })

  it('counts calls per target service into chaos_agent_calls_total', async () => {
    host = await startHost()
    await request(host.url, 'GET', '/batch/database?n=7', { token: null })
    const text = await host.agent.registry.getSingleMetricAsString('chaos_agent_calls_total')
    expect(text).toContain('chaos_agent_calls_total{target_service="database"} 7')
    expect(text).toContain('chaos_agent_calls_total{target_service="pms_adapter"} 0')
  })
})

describe('embedding forms', () => {
  it('a disabled agent makes wrap() a pass-through returning the very same function', () => {
    const agent = createChaosAgent({ service: 'hotel', enabled: false, env: {} })
    const fn = () => Promise.resolve(1)
    expect(agent.wrap('pms_adapter', fn)).toBe(fn)
  })

  it('the decorator (compiled by TypeScript as a standard decorator) wraps async methods and keeps `this`', async () => {
    const ts = await import('typescript')
    const source = `
      function make(chaos) {
        class PmsClient {
          base = 100
          @chaos('pms_adapter')
          async availability(days) { return this.base + days }
        }
        return PmsClient
      }`
    const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiled test fixture
    const compiled = new Function(`${js}; return make`) as () => (
      chaos: unknown,
    ) => new () => { availability(days: number): Promise<number> }
    const make = compiled()
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    const PmsClient = make((service: string) => agent.chaos(service))
    expect(agent.services()).toContain('pms_adapter')
    const client = new PmsClient()
    expect(await client.availability(5)).toBe(105)
    agent.startExperiment(experiment('deco', { fault_type: 'CIRCUIT_BREAK', probability: 1 }))
    await expect(client.availability(5)).rejects.toMatchObject({
      name: 'ConnectionError',
      code: 'ECONNREFUSED',
    })
    agent.stopExperiment('deco')
    expect(await client.availability(6)).toBe(106)
    await agent.close()
  })

  it('wrap() refuses a target service name the protocol could never address', () => {
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    expect(() => agent.wrap('PMS Adapter', () => Promise.resolve(1))).toThrow(/target service "PMS Adapter"/)
  })
})
