/**
 * The one interface every fault type implements. A fault is created from its `fault_config` when an
 * experiment starts; for every selected call the agent asks it to `apply` itself: the returned promise
 * either resolves (the call then goes through to the real function, possibly late) or rejects with an
 * injected error (the real function is never called).
 */
import type { Clock } from '../../clock.js'
import type { FaultConfig, FaultType } from '../../protocol/schemas.js'

/** What a fault knows about the call it is applied to. */
export interface FaultContext {
  /** Experiment id. */
  readonly experiment: string
  /** Wrapped service being called (for ENTIRE_SYSTEM, not necessarily the experiment's target_service). */
  readonly service: string
  /** The caller's AbortSignal, found among the call's arguments; waits end early when it aborts. */
  readonly signal: AbortSignal | undefined
  /** Aborted when the experiment ends: waits in flight end at once and the call goes through (rollback). */
  readonly rollback: AbortSignal
}

/** Dependencies a fault may use; injected so tests are deterministic. */
export interface FaultEnv {
  readonly experiment: string
  readonly random: () => number
  readonly clock: Clock
  /** v8 heap_size_limit in bytes: the unit of memory pressure ceilings. */
  readonly heapLimitBytes: number
}

export interface Fault {
  /**
   * Applies the fault to one selected call. Returns `null` when the fault lets this call through
   * untouched (e.g. RATE_LIMIT under its limit): such a call does not count as injected.
   */
  apply(ctx: FaultContext): Promise<void> | null
  /** Releases whatever the fault holds (memory, timers). Called exactly once, on rollback. */
  release(): void
  /** Extra live fields for the experiment view (e.g. bytes of memory pressure held). */
  status?(): Record<string, number>
}

/** Builds a fault from its validated config. */
export type FaultFactory<T extends FaultType> = (
  config: Extract<FaultConfig, { fault_type: T }>,
  env: FaultEnv,
) => Fault

/** Extra properties carried by every injected error. */
export interface InjectedErrorFields {
  code?: string
  status?: number
  retry_after_seconds?: number
}

/**
 * An error thrown by a fault. `chaos` and `injected` are always true so hosts (and their logs) can
 * tell injected failures from real ones; `name` is the requested class name (e.g. ConnectionError).
 */
export class ChaosInjectedError extends Error {
  readonly chaos = true
  readonly injected = true
  code?: string
  status?: number
  retry_after_seconds?: number
  constructor(
    name: string,
    message: string,
    readonly experiment: string,
    readonly fault_type: FaultType,
    fields: InjectedErrorFields = {},
  ) {
    super(message)
    this.name = name
    if (fields.code !== undefined) this.code = fields.code
    if (fields.status !== undefined) this.status = fields.status
    if (fields.retry_after_seconds !== undefined) this.retry_after_seconds = fields.retry_after_seconds
  }
}

/** True for errors thrown by the chaos agent (as opposed to real failures). */
export function isInjectedError(error: unknown): error is ChaosInjectedError {
  return (
    error instanceof ChaosInjectedError ||
    (typeof error === 'object' && error !== null && (error as { injected?: unknown }).injected === true)
  )
}

/**
 * Waits `ms` for a fault. Resolves `true` when the time elapsed, `false` when the experiment was rolled
 * back first (the fault is gone, so the call proceeds); rejects with the caller's abort reason when the
 * caller's signal aborts first.
 */
export function faultWait(ms: number, ctx: FaultContext, clock: Clock): Promise<boolean> {
  const { signal, rollback } = ctx
  if (signal?.aborted) return Promise.reject(signal.reason as Error)
  if (rollback.aborted) return Promise.resolve(false)
  return new Promise<boolean>((resolve, reject) => {
    const cleanup = () => {
      clock.clearTimeout(handle)
      signal?.removeEventListener('abort', onAbort)
      rollback.removeEventListener('abort', onRollback)
    }
    const onAbort = () => {
      cleanup()
      reject(signal!.reason as Error)
    }
    const onRollback = () => {
      cleanup()
      resolve(false)
    }
    const handle = clock.setTimeout(() => {
      cleanup()
      resolve(true)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
    rollback.addEventListener('abort', onRollback, { once: true })
  })
}
