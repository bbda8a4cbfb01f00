import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import type { Clock } from '../src/clock.js'
import { createWorkload, dueArrivals, intendedTime, type RequestResult } from '../src/engine/workload.js'

describe('dueArrivals', () => {
  it('counts arrivals from t0 inclusive', () => {
    expect(dueArrivals(1000, 10, 0, 999)).toBe(0)
    expect(dueArrivals(1000, 10, 0, 1000)).toBe(1)
    expect(dueArrivals(1000, 10, 0, 1099.9)).toBe(1)
    expect(dueArrivals(1000, 10, 0, 1100)).toBe(2)
    expect(dueArrivals(1000, 10, 2, 1100)).toBe(0)
    // A timer 1 s late: every arrival whose intended time passed is due at once.
    expect(dueArrivals(1000, 10, 1, 2000)).toBe(10)
  })

  it('agrees with intendedTime for any schedule (no arrival lost or duplicated at the edges)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.double({ min: 0.1, max: 20_000, noNaN: true }),
        fc.nat(500),
        fc.integer({ min: 0, max: 500 }),
        (t0, rate, sentSoFar, k) => {
          // Probe exactly at an intended time, and just before it.
          const at = intendedTime(t0, rate, k)
          const expected = (now: number) => {
            let n = 0
            for (let i = sentSoFar; i <= k + 1; i++) if (intendedTime(t0, rate, i) <= now) n++
            return n
          }
          expect(dueArrivals(t0, rate, sentSoFar, at)).toBe(expected(at))
          const before = at - 1e-6
          expect(dueArrivals(t0, rate, sentSoFar, before)).toBe(expected(before))
        },
      ),
    )
  })

  it('is monotonic in time and sums to the schedule', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 5000, noNaN: true }),
        fc.array(fc.nat(2000), { maxLength: 30 }),
        (rate, steps) => {
          // Simulates a scheduler that wakes at arbitrary (sorted) times and sends what is due.
          const times = [...steps].sort((a, b) => a - b)
          let sent = 0
          for (const now of times) sent += dueArrivals(0, rate, sent, now)
          const last = times.at(-1)
          const expected = last === undefined ? 0 : Math.floor((last * rate) / 1000 + 1e-9) + 1
          expect(Math.abs(sent - expected)).toBeLessThanOrEqual(1)
          if (last !== undefined) expect(intendedTime(0, rate, sent - 1)).toBeLessThanOrEqual(last)
          if (last !== undefined) expect(intendedTime(0, rate, sent)).toBeGreaterThan(last)
        },
      ),
    )
  })
})

/** A hand-driven clock: time moves only when the test says so; timers fire only when the test runs them. */
function manualClock() {
  let mono = 0
  const timers = new Map<number, () => void>()
  let nextId = 1
  const clock: Clock = {
    now: () => 1_700_000_000_000 + mono,
    monotonic: () => mono,
    setTimeout: (fn) => {
      const id = nextId++
      timers.set(id, fn)
      return { id } as unknown as { unref?(): unknown }
    },
    clearTimeout: (h) => void timers.delete((h as { id: number }).id),
  }
  return {
    clock,
    set(ms: number) {
      mono = ms
    },
    /** Runs every pending timer once (a timer that re-arms is run on the next call). */
    fire() {
      const due = [...timers.entries()]
      timers.clear()
      for (const [, fn] of due) fn()
    },
  }
}

describe('workload schedule against a real server, driven by a manual clock', () => {
  let server: Server
  let served = 0
  afterEach(() => new Promise<void>((r) => server.close(() => r())))

  async function listen(): Promise<string> {
    served = 0
    server = createServer((_req, res) => {
      served++
      res.end('ok')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  it('catches up after a late timer: sends every arrival whose intended time passed, at its intended time', async () => {
    const target = await listen()
    const m = manualClock()
    const results: RequestResult[] = []
    const wl = createWorkload({
      target,
      requests: [{ path: '/' }],
      rate: 10,
      clock: m.clock,
      onResult: (r) => results.push(r),
    })
    wl.start() // t = 0: arrival 0
    m.set(1000) // the timer fires a whole second late
    m.fire()
    await wl.whenSettled()
    expect(wl.counts()).toMatchObject({
      arrivals: 11,
      sent: 11,
      successful: 11,
      failed: 0,
      in_flight: 0,
      dropped: 0,
    })
    expect(served).toBe(11)
    expect(results.map((r) => r.intendedAt).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 11 }, (_, i) => i * 100),
    )
    // Latency runs from the intended time: arrival 0 waited the whole second.
    const first = results.find((r) => r.intendedAt === 0)!
    expect(first.latencyMs).toBe(1000)
    await wl.stop()
  })

  it('attributes arrivals to phases by intended time, even when sent after the boundary', async () => {
    const target = await listen()
    const m = manualClock()
    const wl = createWorkload({ target, requests: [{ path: '/' }], rate: 10, clock: m.clock })
    const timeline = wl.start()
    m.set(500)
    // Arrivals 1..4 are overdue but unsent at the boundary; they belong to the first phase.
    const boundary = 500
    wl.catchUp()
    m.set(1000)
    m.fire()
    await wl.whenSettled()
    expect(timeline.summary(0, boundary)).toMatchObject({
      sent: 5,
      successful_requests: 5,
      duration_seconds: 0.5,
    })
    expect(timeline.summary(boundary, 1000 + 1e-6)).toMatchObject({ sent: 6, successful_requests: 6 })
    expect(timeline.summary(0)).toMatchObject({
      sent: 11,
      total_requests: 11,
      availability: 1,
      error_rate: 0,
    })
    await wl.stop()
  })

  it('answers the sliding window by completion time', async () => {
    const target = await listen()
    const m = manualClock()
    const wl = createWorkload({ target, requests: [{ path: '/' }], rate: 10, clock: m.clock })
    const timeline = wl.start()
    m.set(1000)
    m.fire()
    await wl.whenSettled() // all 11 complete while the clock reads 1000 ms
    expect(timeline.recent(1000, 100)).toMatchObject({ total_requests: 11, successful_requests: 11 })
    expect(timeline.recent(1550, 500)).toMatchObject({ total_requests: 0, duration_seconds: 0.5 })
    const wide = timeline.recent(1550, 600)
    expect(wide).toMatchObject({ total_requests: 11, duration_seconds: 0.6 })
    expect(wide.throughput_rps).toBeCloseTo(11 / 0.6, 2)
    expect(timeline.recent(1550, 0)).toMatchObject({ total_requests: 0, sent: 0 })
    await wl.stop()
  })
})
