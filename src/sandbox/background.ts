/**
 * Background "real user" traffic: the sandbox calling its own routes over HTTP, untagged, at a
 * steady rate. It makes the blast radius visible: these users never carry the runner's signed tag,
 * so any failure they meet during a SINGLE_REQUEST experiment spread through something shared
 * (a breaker, a pool, a cache), and the runner reports it as collateral.
 */
import type { Clock } from '../clock.js'

/** What the background users met so far. */
export interface BackgroundStats {
  /** Requests answered (any status) or failed. */
  requests: number
  /** Of those, answered with a status ≥ 400 or failed without an answer. */
  errors: number
}

/** A running background load; stop() ends the loop and cuts the requests in flight. */
export interface BackgroundTraffic {
  stats(): BackgroundStats
  stop(): void
}

/** At most this many background requests in flight: a slow target must not pile them up. */
const MAX_IN_FLIGHT = 64

/** `YYYY-MM-DD`, `days` after `now` (UTC). */
function day(now: number, days: number): string {
  return new Date(now + days * 86_400_000).toISOString().slice(0, 10)
}

/**
 * Sends `rps` requests per second to `url`, alternating an availability search and a booking (the
 * two things hotel guests do), with no chaos header. Each request is one arrival of a fixed
 * schedule, whether the previous one has finished or not (up to {@link MAX_IN_FLIGHT}).
 */
export function startBackgroundTraffic(url: string, rps: number, clock: Clock): BackgroundTraffic {
  if (!(rps > 0 && Number.isFinite(rps))) throw new Error(`background traffic: rps must be > 0, got ${rps}`)
  const stopped = new AbortController()
  const stats: BackgroundStats = { requests: 0, errors: 0 }
  const periodMs = 1000 / rps
  const started = clock.monotonic()
  let sent = 0
  let inFlight = 0
  let timer: unknown = null

  const send = (k: number) => {
    const now = clock.now()
    const checkIn = day(now, 3 + (k % 7))
    const checkOut = day(now, 5 + (k % 7))
    const init: RequestInit =
      k % 2 === 0
        ? { method: 'GET' }
        : {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              guest_name: `Guest ${k}`,
              room_type: 'STANDARD',
              check_in: checkIn,
              check_out: checkOut,
            }),
          }
    const path = k % 2 === 0 ? `/api/availability?check_in=${checkIn}&check_out=${checkOut}` : '/api/bookings'
    inFlight++
    void fetch(url + path, { ...init, signal: stopped.signal })
      .then(async (res) => {
        await res.arrayBuffer()
        return res.status >= 400
      })
      .catch(() => true)
      .then((failed) => {
        inFlight--
        // Requests cut short by stop() are not something a user met.
        if (stopped.signal.aborted) return
        stats.requests++
        if (failed) stats.errors++
      })
  }

  const tick = () => {
    if (stopped.signal.aborted) return
    // Catch up on every arrival that is due, so the rate holds even when timers run late.
    const due = Math.floor((clock.monotonic() - started) / periodMs) + 1
    for (; sent < due; sent++) if (inFlight < MAX_IN_FLIGHT) send(sent)
    const handle = clock.setTimeout(tick, Math.max(1, started + sent * periodMs - clock.monotonic()))
    handle.unref?.()
    timer = handle
  }
  tick()

  return {
    stats: () => ({ ...stats }),
    stop() {
      stopped.abort()
      if (timer !== null) clock.clearTimeout(timer)
    },
  }
}
