/**
 * Latency and outcome accumulators for the workload generator.
 *
 * Latencies are recorded in whole microseconds into HDR histograms (hdr-histogram-js) and read
 * back in milliseconds. Phase totals use 3 significant digits (0.1 % resolution); the many small
 * per-second and sliding-window accumulators use 2 (1 %), which keeps a 30-minute run's time
 * series at a few megabytes.
 */
import { build, type Histogram } from 'hdr-histogram-js'

/** Significant decimal digits an accumulator keeps. */
export type Precision = 2 | 3

/** Latency percentiles in milliseconds; `null` when nothing was recorded. */
export interface LatencyPercentiles {
  p50: number | null
  p95: number | null
  p99: number | null
  max: number | null
}

/** An HDR latency histogram: record milliseconds, read percentiles in milliseconds. */
export class LatencyHistogram {
  private readonly hist: Histogram
  /** Exact maximum (the histogram only knows its bucket's upper edge). */
  private maxUs = 0

  constructor(readonly precision: Precision = 3) {
    this.hist = build({
      bitBucketSize: 32,
      autoResize: true,
      lowestDiscernibleValue: 1,
      highestTrackableValue: 2048,
      numberOfSignificantValueDigits: precision,
    })
  }

  /** Number of recorded values. */
  get count(): number {
    return this.hist.totalCount
  }

  /** Records one latency, in milliseconds (negative values, from clock skew, count as 0). */
  record(ms: number): void {
    const us = ms > 0 ? Math.round(ms * 1000) : 0
    if (us > this.maxUs) this.maxUs = us
    this.hist.recordValue(us)
  }

  /** Adds another histogram's values into this one. */
  add(other: LatencyHistogram): void {
    if (other.count === 0) return
    this.hist.add(other.hist)
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs
  }

  /** The value at percentile `p` (0..100) in milliseconds, or null when empty. */
  percentileMs(p: number): number | null {
    if (this.hist.totalCount === 0) return null
    // The histogram answers with its bucket's upper edge; never report more than the real max.
    return Math.min(this.hist.getValueAtPercentile(p), this.maxUs) / 1000
  }

  /** p50, p95, p99 and max in milliseconds. */
  percentiles(): LatencyPercentiles {
    if (this.hist.totalCount === 0) return { p50: null, p95: null, p99: null, max: null }
    return {
      p50: this.percentileMs(50),
      p95: this.percentileMs(95),
      p99: this.percentileMs(99),
      max: this.maxUs / 1000,
    }
  }

  reset(): void {
    this.hist.reset()
    this.maxUs = 0
  }
}

/**
 * Outcome counters plus latency for one slice of a run (a phase, a second, a window slot).
 * `sent` counts dispatched requests; `successful + failed` the finished ones; `dropped` the
 * arrivals refused because too many requests were in flight (never sent).
 */
export class OutcomeStats {
  sent = 0
  successful = 0
  failed = 0
  dropped = 0
  /** Failures per class (`HTTP_503`, `TIMEOUT`, `CONNECTION`, `OTHER`, `CANCELLED`). */
  readonly failuresByClass = new Map<string, number>()
  /** Latency of every finished request, successful or not. */
  readonly latency: LatencyHistogram
  /** Latency of successful requests only (kept for phase totals, not for small slices). */
  readonly successLatency: LatencyHistogram | null

  constructor(precision: Precision, withSuccessLatency = false) {
    this.latency = new LatencyHistogram(precision)
    this.successLatency = withSuccessLatency ? new LatencyHistogram(precision) : null
  }

  recordSuccess(latencyMs: number): void {
    this.successful++
    this.latency.record(latencyMs)
    this.successLatency?.record(latencyMs)
  }

  recordFailure(failureClass: string, latencyMs: number): void {
    this.failed++
    this.failuresByClass.set(failureClass, (this.failuresByClass.get(failureClass) ?? 0) + 1)
    this.latency.record(latencyMs)
  }

  /** Adds another slice's counts and latencies into this one. */
  add(other: OutcomeStats): void {
    this.sent += other.sent
    this.successful += other.successful
    this.failed += other.failed
    this.dropped += other.dropped
    for (const [cls, n] of other.failuresByClass) {
      this.failuresByClass.set(cls, (this.failuresByClass.get(cls) ?? 0) + n)
    }
    this.latency.add(other.latency)
    if (this.successLatency && other.successLatency) this.successLatency.add(other.successLatency)
  }

  reset(): void {
    this.sent = this.successful = this.failed = this.dropped = 0
    this.failuresByClass.clear()
    this.latency.reset()
    this.successLatency?.reset()
  }
}
