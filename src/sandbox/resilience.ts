/**
 * Resilience policies of one dependency, with cockatiel, from the outside in: retry with exponential
 * backoff and jitter for transient errors, a failure-rate circuit breaker that counts every single
 * attempt (so a fault rate the retries would mask still opens it), and a cooperative per-attempt
 * timeout (the AbortSignal reaches the wrapped call, so a hanging call is abandoned). An open breaker
 * is never retried: the call fails fast to its fallback. The database adds a bulkhead in front.
 */
import {
  BulkheadPolicy,
  CircuitState,
  ExponentialBackoff,
  SamplingBreaker,
  TimeoutStrategy,
  bulkhead as createBulkhead,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isTaskCancelledError,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type GeneratorFn,
  type IPolicy,
  type RetryPolicy,
  type TimeoutPolicy,
} from 'cockatiel'
import { AsyncResource } from 'node:async_hooks'
import type { Logger } from '../logger.js'
import type { CallContext, DependencyName } from './dependencies.js'

/** Breaker state as the sandbox reports it (metric value in brackets). */
export type BreakerState = 'CLOSED' | 'HALF_OPEN' | 'OPEN'
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = {
  CLOSED: 0,
  HALF_OPEN: 1,
  OPEN: 2,
}

/** A per-attempt timeout fired: the dependency did not answer in time. */
export class DependencyTimeoutError extends Error {
  override readonly name = 'TimeoutError'
  readonly code = 'ETIMEDOUT'
  constructor(target: DependencyName, ms: number) {
    super(`${target} did not answer within ${ms} ms`)
  }
}

/** Why a dependency call finally failed, as reported to clients. */
export type FailureKind = 'CIRCUIT_OPEN' | 'BUSY' | 'TIMEOUT' | 'RATE_LIMITED' | 'ERROR'

/** A dependency call that failed after every resilience policy had its say. */
export class DependencyFailure extends Error {
  override readonly name = 'DependencyFailure'
  constructor(
    readonly targetService: DependencyName,
    readonly kind: FailureKind,
    override readonly cause: unknown,
  ) {
    super(`${targetService} unavailable: ${describeError(cause)}`)
  }
}

/** `Name: message` of anything thrown, without a stack. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message ? `${err.name}: ${err.message}` : err.name
  return String(err)
}

function field(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined
}

/** The caller gave up (client went away, sandbox closing): not the dependency's fault. */
function isCancellation(err: unknown): boolean {
  return isTaskCancelledError(err) || (err instanceof Error && err.name === 'AbortError')
}

/**
 * A failure of the dependency itself. Our own fail-fast rejections and cancellations by the caller
 * are not.
 */
export function isDependencyFault(err: unknown): boolean {
  return !isCancellation(err) && !isBrokenCircuitError(err) && !isBulkheadRejectedError(err)
}

/** The dependency refused the call because of its quota (429). */
export function isRateLimited(err: unknown): boolean {
  return (field(err, 'status') ?? field(err, 'statusCode')) === 429
}

/**
 * Counted by the breaker: dependency faults except 429s. A rate limit says "slow down", not "I am
 * broken"; opening the breaker on it would only hide the 429 that callers (booking queue) act on.
 */
export function isBreakerFailure(err: unknown): boolean {
  return isDependencyFault(err) && !isRateLimited(err)
}

/**
 * Worth retrying: connection errors, timeouts, 5xx, 429, deadlocks and other unexpected errors.
 * Client errors (4xx other than 408/429) and errors marked `retryable: false` are not.
 */
export function isTransient(err: unknown): boolean {
  if (!isDependencyFault(err)) return false
  if (field(err, 'retryable') === false) return false
  const status = field(err, 'status') ?? field(err, 'statusCode')
  if (typeof status === 'number' && status >= 400 && status < 500) return status === 408 || status === 429
  return true
}

/** "Equal jitter": half the exponential step fixed, half random, from the injected random source. */
function equalJitter(random: () => number): GeneratorFn<number> {
  return (attempt = 0, options) => {
    const step = Math.min(options.maxDelay, options.initialDelay * options.exponent ** attempt)
    return [Math.round(step / 2 + (random() * step) / 2), attempt + 1]
  }
}

export interface ResilienceSettings {
  timeoutMs: number
  /** Retries after the first attempt (design: 3). */
  retries: number
  retryBaseDelayMs: number
  retryMaxDelayMs: number
  /** Breaker opens when more than this fraction of attempts in the sampling window failed (0–1). */
  breakerFailureRate: number
  /** Sampling window of the breaker. */
  breakerSamplingMs: number
  /** Attempts per second below which the breaker never opens (a handful of calls cannot trip it). */
  breakerMinimumRps: number
  halfOpenAfterMs: number
  /** Bulkhead `[limit, queue]` (database only). */
  bulkhead?: [number, number]
  random: () => number
  logger: Logger
}

export interface ResilienceHooks {
  onRetry(target: DependencyName): void
  onTrip(target: DependencyName): void
  onBulkheadReject(target: DependencyName): void
}

/** The resilience stack of one dependency. */
export class ResilientDependency {
  readonly breaker: CircuitBreakerPolicy
  readonly bulkhead: BulkheadPolicy | undefined
  private readonly retry: RetryPolicy
  private readonly timeout: TimeoutPolicy
  /** retry outside, breaker inside (the timeout is applied per attempt in {@link call}). */
  private readonly policy: IPolicy

  constructor(
    readonly name: DependencyName,
    private readonly settings: ResilienceSettings,
    hooks: ResilienceHooks,
  ) {
    const { logger } = settings
    this.timeout = timeout(settings.timeoutMs, TimeoutStrategy.Cooperative)
    this.retry = retry(handleWhen(isTransient), {
      maxAttempts: settings.retries,
      backoff: new ExponentialBackoff({
        initialDelay: settings.retryBaseDelayMs,
        maxDelay: settings.retryMaxDelayMs,
        generator: equalJitter(settings.random),
      }),
    })
    this.breaker = circuitBreaker(handleWhen(isBreakerFailure), {
      halfOpenAfter: settings.halfOpenAfterMs,
      breaker: new SamplingBreaker({
        threshold: settings.breakerFailureRate,
        duration: settings.breakerSamplingMs,
        minimumRps: settings.breakerMinimumRps,
      }),
    })
    this.policy = wrap(this.retry, this.breaker)
    this.bulkhead = settings.bulkhead ? createBulkhead(...settings.bulkhead) : undefined

    this.retry.onRetry((event) => {
      hooks.onRetry(name)
      logger.debug('dependency_retry', {
        target_service: name,
        attempt: event.attempt,
        delay_ms: event.delay,
        error: 'error' in event ? describeError(event.error) : undefined,
      })
    })
    this.breaker.onBreak((reason) => {
      if ('isolated' in reason) return
      hooks.onTrip(name)
      logger.warn('circuit_breaker_opened', {
        target_service: name,
        reason: 'error' in reason ? describeError(reason.error) : 'rejected result',
        half_open_after_ms: settings.halfOpenAfterMs,
      })
    })
    this.breaker.onHalfOpen(() => logger.info('circuit_breaker_half_open', { target_service: name }))
    this.breaker.onReset(() => logger.info('circuit_breaker_closed', { target_service: name }))
    this.bulkhead?.onReject(() => hooks.onBulkheadReject(name))
  }

  /** Current breaker state. */
  get state(): BreakerState {
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return 'CLOSED'
      case CircuitState.HalfOpen:
        return 'HALF_OPEN'
      default:
        return 'OPEN'
    }
  }

  /**
   * Runs `attempt` through bulkhead → retry → breaker → timeout. Throws a {@link DependencyFailure}
   * when the call finally fails, or the caller's abort reason when `signal` was aborted.
   */
  async call<T>(attempt: (ctx: CallContext) => Promise<T>, signal: AbortSignal): Promise<T> {
    const { timeoutMs } = this.settings
    const once = (outer: AbortSignal) =>
      this.timeout.execute(async ({ signal: callSignal }) => {
        try {
          return await attempt({ signal: callSignal })
        } catch (err) {
          // The call was abandoned because our timeout fired, not because the caller left.
          if (callSignal.aborted && !outer.aborted) throw new DependencyTimeoutError(this.name, timeoutMs)
          throw err
        }
      }, outer)
    // wrap(retry, breaker) around the timeout in `once`: every attempt is counted by the breaker, and
    // a BrokenCircuitError is not transient, so an open breaker ends the retries at once.
    const guarded = (outer: AbortSignal) => this.policy.execute(({ signal: s }) => once(s), outer)
    try {
      const bulkhead = this.bulkhead
      if (!bulkhead) return await guarded(signal)
      // A queued call is started by whichever call frees the slot; binding keeps it in its own request's
      // async context, so SINGLE_REQUEST faults still see the right request.
      return await bulkhead.execute(
        AsyncResource.bind(({ signal: s }: { signal: AbortSignal }) => guarded(s)),
        signal,
      )
    } catch (err) {
      if (signal.aborted) throw signal.reason
      throw new DependencyFailure(this.name, failureKind(err), err)
    }
  }
}

function failureKind(err: unknown): FailureKind {
  if (isBrokenCircuitError(err)) return 'CIRCUIT_OPEN'
  if (isBulkheadRejectedError(err)) return 'BUSY'
  if (err instanceof DependencyTimeoutError || field(err, 'code') === 'ETIMEDOUT') return 'TIMEOUT'
  if (isRateLimited(err)) return 'RATE_LIMITED'
  return 'ERROR'
}
