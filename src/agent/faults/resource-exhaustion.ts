/**
 * RESOURCE_EXHAUSTION: selected calls fail with a ResourceExhaustedError, optionally with real pressure
 * on the host process, always bounded by PRESSURE_LIMITS and released on rollback:
 * - `MEMORY`: from the moment the experiment starts, memory is allocated (Buffers written to, so the
 *   pages are really resident) in 8 MiB steps, one per event-loop turn so the control request never
 *   stalls, up to `heap_fraction` × v8 heap_size_limit; it is held until rollback. Selected calls throw
 *   (code ENOMEM), like allocations failing under memory pressure.
 * - `CPU`: instead of throwing, each selected call blocks the event loop by busy-waiting `block_ms`
 *   (≤ PRESSURE_LIMITS.max_block_ms), then goes through: a CPU-starved process.
 */
import { PRESSURE_LIMITS } from '../../protocol/schemas.js'
import { ChaosInjectedError, type Fault, type FaultEnv, type FaultFactory } from './types.js'

/** Allocation step of the memory ramp. */
export const MEMORY_STEP_BYTES = 8 * 1024 * 1024

// Captured at load: CPU blocking is real time by definition, even under fake timers in tests.
const realNow = performance.now.bind(performance)

/** Busy-waits `ms` milliseconds of real time on the current thread. */
export function blockEventLoop(ms: number): void {
  const end = realNow() + Math.min(ms, PRESSURE_LIMITS.max_block_ms)
  while (realNow() < end) {
    // Spin: the point is to hold the thread.
  }
}

/** Memory held by a MEMORY pressure, grown stepwise up to its ceiling. */
class MemoryPressure {
  private chunks: Buffer[] = []
  private held = 0
  private timer: unknown = null
  private released = false
  readonly ceiling: number

  constructor(
    heapFraction: number,
    private readonly env: FaultEnv,
  ) {
    this.ceiling = Math.floor(Math.min(heapFraction, PRESSURE_LIMITS.max_heap_fraction) * env.heapLimitBytes)
    this.schedule()
  }

  get heldBytes(): number {
    return this.held
  }

  private schedule(): void {
    const handle = this.env.clock.setTimeout(() => this.step(), 0)
    handle.unref?.()
    this.timer = handle
  }

  private step(): void {
    this.timer = null
    if (this.released || this.held >= this.ceiling) return
    const size = Math.min(MEMORY_STEP_BYTES, this.ceiling - this.held)
    // allocUnsafeSlow + fill: a dedicated, written (hence resident) allocation, not a lazily mapped one.
    this.chunks.push(Buffer.allocUnsafeSlow(size).fill(0xa5))
    this.held += size
    if (this.held < this.ceiling) this.schedule()
  }

  release(): void {
    this.released = true
    if (this.timer !== null) this.env.clock.clearTimeout(this.timer)
    this.timer = null
    this.chunks = []
    this.held = 0
  }
}

export const resourceExhaustionFault: FaultFactory<'RESOURCE_EXHAUSTION'> = (config, env): Fault => {
  const pressure = config.pressure
  if (pressure?.type === 'CPU') {
    return {
      apply() {
        blockEventLoop(pressure.block_ms)
        return Promise.resolve()
      },
      release() {},
      status: () => ({ pressure_block_ms: Math.min(pressure.block_ms, PRESSURE_LIMITS.max_block_ms) }),
    }
  }
  const memory = pressure?.type === 'MEMORY' ? new MemoryPressure(pressure.heap_fraction, env) : null
  return {
    apply(ctx) {
      return Promise.reject(
        new ChaosInjectedError(
          'ResourceExhaustedError',
          `${config.exception_message} (${ctx.service})`,
          env.experiment,
          'RESOURCE_EXHAUSTION',
          memory ? { code: 'ENOMEM' } : {},
        ),
      )
    },
    release() {
      memory?.release()
    },
    ...(memory && {
      status: () => ({ pressure_held_bytes: memory.heldBytes, pressure_ceiling_bytes: memory.ceiling }),
    }),
  }
}
