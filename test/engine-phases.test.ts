/** The lifecycle's pure parts: safety decisions, the timeline's attribution, the series. */
import { describe, expect, it } from 'vitest'
import { ControlError, UnreachableError } from '../src/engine/control-client.js'
import { buildTimeseries } from '../src/engine/phases/measure.js'
import {
  lossFromError,
  lossFromView,
  safetyBreach,
  safetyWindowMs,
  trackUnreadable,
  MAX_UNREADABLE_POLLS,
} from '../src/engine/phases/safety.js'
import { Timeline } from '../src/engine/timeline.js'
import { ExperimentView } from '../src/protocol/schemas.js'

const limits = { max_error_rate: 0.5, min_availability: 0.5 }

describe('safety decisions', () => {
  it('an empty window never breaches; a proven breach names the guide event, the rate and the sample', () => {
    const t = new Timeline({ t0: 0, wallT0: 0 })
    expect(safetyBreach(t.recent(1000, 1000), limits)).toBeNull()
    for (let i = 0; i < 20; i++) {
      t.recordSent(i * 10)
      t.recordFinished(i * 10, i * 10 + 5, i < 19 ? 'HTTP_500' : null)
    }
    const breach = safetyBreach(t.recent(1000, 1000), limits)
    expect(breach?.event).toBe('chaos_safety_error_rate_high')
    expect(breach?.reason).toBe(
      'safety: error rate 95.0% above 50.0% over the last poll window (20 requests)',
    )
    expect(safetyBreach(t.recent(1000, 1000), { max_error_rate: 0.5, min_availability: 0.02 })).not.toBeNull()
    // Availability 5 % (1 of 20) is proven below a 50 % floor when errors are allowed up to 99 %.
    expect(safetyBreach(t.recent(1000, 1000), { max_error_rate: 0.99, min_availability: 0.5 })?.event).toBe(
      'chaos_safety_availability_low',
    )
  })

  it('aborts on the third unreadable poll in a row, and a readable poll resets the count', () => {
    let count = 0
    const results = [null, null, {}, null, null, null].map((s) => {
      const r = trackUnreadable(count, s as never)
      count = r.count
      return r.abort
    })
    expect(results).toEqual([false, false, false, false, false, true])
    expect(MAX_UNREADABLE_POLLS).toBe(3)
  })

  it('404/410 mean the experiment is lost (ABORTED); unreachable means the target died (FAILED)', () => {
    expect(lossFromError('t', new ControlError('x', 404))?.state).toBe('ABORTED')
    expect(lossFromError('t', new ControlError('x', 410))?.state).toBe('ABORTED')
    expect(lossFromError('t', new UnreachableError('down'))?.state).toBe('FAILED')
    expect(lossFromError('t', new ControlError('x', 500))).toBeNull()
    expect(lossFromError('t', new ControlError('x', 404))?.abortCause).toBe('ENDED_UNEXPLAINED')
  })

  it("an ended experiment says who ended it: an operator's stop, the agent itself, or cannot tell", () => {
    const view = (state: 'RUNNING' | 'COMPLETED' | 'EXPIRED', end_reason?: string): ExperimentView => ({
      id: 'x.run',
      target_service: 'pms_adapter',
      fault_config: ExperimentView.shape.fault_config.parse({
        fault_type: 'LATENCY',
        probability: 1,
        latency_ms: 10,
      }),
      state,
      started_at: '2030-01-01T00:00:00.000Z',
      lease_expires_at: '2030-01-01T00:00:15.000Z',
      calls_seen: 9,
      faults_injected: 7,
      ...(end_reason !== undefined && { end_reason }),
    })
    expect(lossFromView('http://t', view('RUNNING'))).toBeNull()
    for (const reason of ['stopped', 'emergency_stop']) {
      const stop = lossFromView('http://t', view('COMPLETED', reason))!
      expect(stop).toMatchObject({ state: 'ABORTED', abortCause: 'OPERATOR_STOP' })
      expect(stop.message).toMatch(/^stopped by an operator after 7 faults: http:\/\/t ended the experiment/)
      expect(stop.message).toContain(`end_reason ${reason}`)
    }
    const expired = lossFromView('http://t', view('EXPIRED', 'lease_expired'))!
    expect(expired.abortCause).toBe('TARGET_ENDED')
    expect(expired.message).toMatch(/its lease expired/)
    expect(lossFromView('http://t', view('EXPIRED', 'max_duration'))?.abortCause).toBe('TARGET_ENDED')
    expect(lossFromView('http://t', view('COMPLETED', 'agent_closed'))?.message).toMatch(
      /shut its chaos agent down/,
    )
    expect(lossFromView('http://t', view('COMPLETED', 'novel_reason'))?.message).toContain(
      'end_reason novel_reason',
    )
    const silent = lossFromView('http://t', view('COMPLETED'))!
    expect(silent.abortCause).toBe('ENDED_UNEXPLAINED')
    expect(silent.message).toMatch(/without saying why \(no end_reason\).*cannot tell/)
    expect(silent.message).not.toMatch(/operator after/)
  })
})

describe('timeline', () => {
  it('attributes requests to the phase they were intended in, wherever they finished', () => {
    const t = new Timeline({ t0: 0, wallT0: 0 })
    // Sent at 900 ms, finished at 1500 ms: it belongs to [0, 1000).
    t.recordSent(900)
    t.recordFinished(900, 1500, null)
    t.recordSent(1100)
    t.recordFinished(1100, 1200, 'TIMEOUT')
    t.recordDropped(1300, 1300)
    expect(t.summary(0, 1000)).toMatchObject({
      sent: 1,
      total_requests: 1,
      successful_requests: 1,
      dropped: 0,
    })
    expect(t.summary(0, 1000).latency_ms.p50).toBeCloseTo(600, 0)
    expect(t.summary(1000, 2000)).toMatchObject({ sent: 1, failed_requests: 1, dropped: 1 })
    expect(t.summary(1000, 2000).failures_by_class).toEqual({ TIMEOUT: 1 })
    // By completion time, the last 400 ms (1100..1500] hold both finishes.
    expect(t.recent(1500, 400)).toMatchObject({ total_requests: 2 })
    const series = t.series(1999)
    expect(series.map((p) => [p.sent, p.requests, p.errors, p.dropped])).toEqual([
      [1, 1, 0, 0],
      [1, 1, 1, 1],
    ])
  })
})

describe('time series', () => {
  it('labels each second by the phase its middle falls in, and counts polled faults in their second', () => {
    const t = new Timeline({ t0: 0, wallT0: 0 })
    for (let ms = 0; ms < 5000; ms += 100) {
      t.recordSent(ms)
      t.recordFinished(ms, ms + 10, null)
    }
    const sample = { breaker_trips: 0, faults_injected: 0, breaker_state: 'OPEN' as const, restarted: false }
    const points = buildTimeseries(
      t.series(4999),
      [{ t: 2500, sample, faultsDelta: 7 }],
      { start: 0, inject: 2000, rollback: 4000 },
      0,
    )
    expect(points.map((p) => p.phase)).toEqual(['BASELINE', 'BASELINE', 'DURING', 'DURING', 'RECOVERY'])
    expect(points.map((p) => p.faults_injected)).toEqual([0, 0, 7, 0, 0])
    expect(points.every((p) => p.requests === 10)).toBe(true)
    expect(points[3]!.breaker_state).toBe('OPEN')
  })
})

describe('defect 7: safety limits do not trip by chance', () => {
  /** P(X = k) for X ~ Binomial(n, p). */
  const binomial = (n: number, k: number, p: number) => {
    let c = 1
    for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1)
    return c * p ** k * (1 - p) ** (n - k)
  }
  /** Exact chance that one poll window of n requests, each failing with probability p, trips the limit. */
  const tripChance = (n: number, p: number, trips: (failed: number) => boolean) => {
    let chance = 0
    for (let k = 0; k <= n; k++) if (trips(k)) chance += binomial(n, k, p)
    return chance
  }
  const limits = { max_error_rate: 0.5, min_availability: 0.5 }
  const windowOf = (failed: number, n: number) => {
    const t = new Timeline({ t0: 0, wallT0: 0 })
    for (let i = 0; i < n; i++) {
      t.recordSent(i)
      t.recordFinished(i, i + 1, i < failed ? 'HTTP_500' : null)
    }
    return t.summary(0)
  }

  it('a healthy 30 % fault on 20-request windows: 1.7 % of polls tripped before, under 1 in a million now', () => {
    const old = tripChance(20, 0.3, (k) => k / 20 > 0.5)
    expect(old).toBeGreaterThan(0.015) // the defect as reported
    for (const n of [20, 40, 100, 200]) {
      expect(tripChance(n, 0.3, (k) => safetyBreach(windowOf(k, n), limits) !== null)).toBeLessThan(1e-6)
    }
  })

  it('a real breach still trips on one small window: every request failing, 20 (or 10) requests', () => {
    expect(safetyBreach(windowOf(20, 20), limits)?.event).toBe('chaos_safety_error_rate_high')
    expect(safetyBreach(windowOf(10, 10), limits)?.event).toBe('chaos_safety_error_rate_high')
    expect(safetyBreach(windowOf(12, 20), limits)).toBeNull() // 60 % of 20: not proven yet
    expect(safetyBreach(windowOf(130, 200), limits)).not.toBeNull() // 65 % of 200: proven
  })

  it('the window reaches back to 20 requests, at most 5 s', () => {
    // 4 requests per second: 20 requests take 5 s.
    expect(safetyWindowMs(1000, (ms) => Math.floor((ms / 1000) * 4))).toBe(5000)
    expect(safetyWindowMs(1000, () => 25)).toBe(1000)
    expect(safetyWindowMs(1000, (ms) => Math.floor((ms / 1000) * 10))).toBe(2000)
  })
})
