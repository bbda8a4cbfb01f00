/**
 * Time logic of the agent under fake timers: lease expiry, renewal, the 30-minute hard cap, exact
 * latency, rate-limit windows and the aggregation of chaos_fault_injected log lines.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryLogger } from '../src/logger.js'
import { MAX_EXPERIMENT_SECONDS } from '../src/protocol/schemas.js'
import {
  ChaosControlError,
  createChaosAgent,
  FAULT_LOG_INTERVAL_MS,
  type ChaosAgent,
} from '../src/agent/index.js'
import { experiment, TOKEN } from './agent-helpers.js'

const cb = { fault_type: 'CIRCUIT_BREAK', probability: 1 }

let agent: ChaosAgent
let logger: ReturnType<typeof createMemoryLogger>
let call: () => Promise<string>

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') })
  logger = createMemoryLogger()
  agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {}, logger })
  call = agent.wrap('pms_adapter', () => Promise.resolve('real'))
})
afterEach(async () => {
  await agent.close()
  vi.useRealTimers()
})

describe('lease', () => {
  it('expires when the lease runs out unrenewed, and the fault is gone', async () => {
    const started = agent.startExperiment(experiment('lease30', cb, 'pms_adapter', 30))
    expect(started.lease_expires_at).toBe('2030-01-01T00:00:30.000Z')
    await expect(call()).rejects.toMatchObject({ name: 'ConnectionError' })
    vi.advanceTimersByTime(29_999)
    expect(agent.getExperiment('lease30')?.state).toBe('RUNNING')
    vi.advanceTimersByTime(1)
    expect(agent.getExperiment('lease30')).toMatchObject({
      state: 'EXPIRED',
      end_reason: 'lease_expired',
      ended_at: '2030-01-01T00:00:30.000Z',
    })
    expect(await call()).toBe('real')
    expect(agent.activeExperiments()).toEqual([])
    expect(logger.entries.find((e) => e.event === 'chaos_experiment_expired')?.fields).toMatchObject({
      experiment: 'lease30',
      reason: 'lease_expired',
      state: 'EXPIRED',
    })
    expect(await agent.registry.getSingleMetricAsString('chaos_agent_experiment_active')).toContain(
      'chaos_agent_experiment_active{experiment="lease30",target_service="pms_adapter",fault_type="CIRCUIT_BREAK"} 0',
    )
    expect(() => agent.renewLease('lease30', { lease_seconds: 30 })).toThrow(
      expect.objectContaining({ status: 410 }) as ChaosControlError,
    )
  })

  it('stays running while renewed, from the time of each renewal', () => {
    agent.startExperiment(experiment('renewed', cb, 'pms_adapter', 30))
    for (let t = 0; t < 20 * 60; t += 10) {
      vi.advanceTimersByTime(10_000)
      agent.renewLease('renewed', { lease_seconds: 30 })
    }
    const view = agent.getExperiment('renewed')!
    expect(view.state).toBe('RUNNING')
    expect(view.lease_expires_at).toBe('2030-01-01T00:20:30.000Z')
    // Renewing stops: it expires one lease later.
    vi.advanceTimersByTime(30_000)
    expect(agent.getExperiment('renewed')?.state).toBe('EXPIRED')
  })

  it('a renewal never shortens the lease', () => {
    agent.startExperiment(experiment('long', cb, 'pms_adapter', 600))
    const view = agent.renewLease('long', { lease_seconds: 5 })
    expect(view.lease_expires_at).toBe('2030-01-01T00:10:00.000Z')
  })

  it('ends 30 minutes after the start whatever the renewals (hard cap)', () => {
    agent.startExperiment(experiment('capped', cb, 'pms_adapter', 60))
    let view = agent.getExperiment('capped')!
    for (let t = 0; t < MAX_EXPERIMENT_SECONDS - 20; t += 20) {
      vi.advanceTimersByTime(20_000)
      view = agent.renewLease('capped', { lease_seconds: 60 })
    }
    // The last renewals were capped at started_at + 30 min.
    expect(view.lease_expires_at).toBe('2030-01-01T00:30:00.000Z')
    vi.advanceTimersByTime(19_999)
    expect(agent.getExperiment('capped')?.state).toBe('RUNNING')
    vi.advanceTimersByTime(1)
    expect(agent.getExperiment('capped')).toMatchObject({
      state: 'EXPIRED',
      end_reason: 'max_duration',
      ended_at: '2030-01-01T00:30:00.000Z',
    })
  })

  it('a lease longer than maxLeaseSeconds is capped from the start', async () => {
    await agent.close()
    agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {}, maxLeaseSeconds: 60 })
    agent.wrap('pms_adapter', () => Promise.resolve('real'))
    const view = agent.startExperiment(experiment('short_cap', cb, 'pms_adapter', 600))
    expect(view.lease_expires_at).toBe('2030-01-01T00:01:00.000Z')
    vi.advanceTimersByTime(60_000)
    expect(agent.getExperiment('short_cap')).toMatchObject({ state: 'EXPIRED', end_reason: 'max_duration' })
  })

  it('close() clears every timer', async () => {
    agent.startExperiment(experiment('closing', { fault_type: 'LATENCY', probability: 1, latency_ms: 5_000 }))
    const pending = call()
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    await agent.close()
    // The delayed call was released by the rollback and went through.
    expect(await pending).toBe('real')
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('time-based faults', () => {
  it('LATENCY holds the call exactly latency_ms', async () => {
    agent.startExperiment(experiment('lat', { fault_type: 'LATENCY', probability: 1, latency_ms: 200 }))
    let result: string | undefined
    void call().then((r) => (result = r))
    await vi.advanceTimersByTimeAsync(199)
    expect(result).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(result).toBe('real')
  })

  it('TIMEOUT fails after exactly timeout_ms', async () => {
    agent.startExperiment(experiment('tmo', { fault_type: 'TIMEOUT', probability: 1, timeout_ms: 1_000 }))
    let error: unknown
    call().catch((e: unknown) => (error = e))
    await vi.advanceTimersByTimeAsync(999)
    expect(error).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(error).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', injected: true, chaos: true })
  })

  it('RATE_LIMIT opens a new window after rate_limit_window_seconds', async () => {
    agent.startExperiment(
      experiment('rl', {
        fault_type: 'RATE_LIMIT',
        probability: 1,
        rate_limit_requests: 2,
        rate_limit_window_seconds: 10,
      }),
    )
    const outcomes = async (n: number) => {
      const out: string[] = []
      for (let i = 0; i < n; i++) out.push(await call().catch((e: Error) => e.name))
      return out
    }
    expect(await outcomes(3)).toEqual(['real', 'real', 'RateLimitError'])
    vi.advanceTimersByTime(9_999)
    expect(await outcomes(1)).toEqual(['RateLimitError'])
    vi.advanceTimersByTime(1)
    expect(await outcomes(3)).toEqual(['real', 'real', 'RateLimitError'])
    expect(agent.getExperiment('rl')).toMatchObject({ calls_seen: 7, faults_injected: 3 })
  })
})

describe('aggregated chaos_fault_injected', () => {
  it('logs one line per interval with the count, never one per call', async () => {
    agent.startExperiment(experiment('agg', cb))
    const burst = async (n: number) => {
      for (let i = 0; i < n; i++) await call().catch(() => undefined)
    }
    await burst(500)
    expect(logger.entries.filter((e) => e.event === 'chaos_fault_injected')).toHaveLength(0)
    vi.advanceTimersByTime(FAULT_LOG_INTERVAL_MS)
    await burst(20)
    vi.advanceTimersByTime(FAULT_LOG_INTERVAL_MS)
    // A quiet second logs nothing.
    vi.advanceTimersByTime(FAULT_LOG_INTERVAL_MS)
    await burst(3)
    agent.stopExperiment('agg')
    const lines = logger.entries.filter((e) => e.event === 'chaos_fault_injected').map((e) => e.fields)
    expect(lines).toEqual([
      expect.objectContaining({ experiment: 'agg', count: 500, faults_injected: 500 }),
      expect.objectContaining({ count: 20, faults_injected: 520 }),
      expect.objectContaining({ count: 3, faults_injected: 523 }),
    ])
  })
})
