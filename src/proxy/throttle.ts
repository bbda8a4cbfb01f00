/** A bandwidth squeeze (RESOURCE_EXHAUSTION on a proxy route) that lets go the moment its signal aborts. */
import { Transform, type TransformCallback } from 'node:stream'

/** Bandwidth left to a squeezed request or connection when the fault does not say. */
export const DEFAULT_BANDWIDTH_BYTES_PER_SECOND = 16 * 1024

/** Slices per second: small enough slices that the rate is smooth, few enough timers. */
const SLICES_PER_SECOND = 20

/**
 * Passes bytes through at most `bytesPerSecond`, in slices of 1/20 s worth; once `signal` aborts
 * (rollback) the rest goes through at once, including a chunk it was in the middle of.
 */
export class Throttle extends Transform {
  private timer: NodeJS.Timeout | null = null
  private wake: (() => void) | null = null
  private readonly onAbort = () => {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  constructor(
    private readonly bytesPerSecond: number,
    private readonly signal: AbortSignal,
  ) {
    super()
    signal.addEventListener('abort', this.onAbort, { once: true })
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const slice = Math.max(1, Math.floor(this.bytesPerSecond / SLICES_PER_SECOND))
    let offset = 0
    const step = () => {
      if (this.destroyed) return
      if (this.signal.aborted) {
        if (offset < chunk.length) this.push(chunk.subarray(offset))
        return callback()
      }
      const part = chunk.subarray(offset, offset + slice)
      offset += part.length
      this.push(part)
      // Each slice is paid for after it is sent, so the first bytes are not delayed.
      this.wake = offset < chunk.length ? step : () => callback()
      this.timer = setTimeout(
        () => {
          this.timer = null
          const wake = this.wake
          this.wake = null
          wake?.()
        },
        (part.length / this.bytesPerSecond) * 1000,
      )
    }
    step()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.signal.removeEventListener('abort', this.onAbort)
    callback(error)
  }
}
