/**
 * RATE_LIMIT: a fixed window per experiment. The first selected call opens a window of
 * rate_limit_window_seconds; within it the first rate_limit_requests selected calls go through and the
 * rest fail with a RateLimitError (`status: 429`, `retry_after_seconds`). A fixed window needs O(1)
 * memory whatever the limit, which a sliding log would not.
 */
import { ChaosInjectedError, type FaultFactory } from './types.js'

export const rateLimitFault: FaultFactory<'RATE_LIMIT'> = (config, env) => {
  const windowMs = config.rate_limit_window_seconds * 1000
  let windowStart = Number.NEGATIVE_INFINITY
  let admitted = 0
  return {
    apply(ctx) {
      const now = env.clock.monotonic()
      // A clock that went backwards (or the first call) opens a new window.
      if (now - windowStart >= windowMs || now < windowStart) {
        windowStart = now
        admitted = 0
      }
      if (admitted < config.rate_limit_requests) {
        admitted++
        return null
      }
      const retryAfter = Math.max(0, Math.ceil((windowStart + windowMs - now) / 1000))
      return Promise.reject(
        new ChaosInjectedError(
          'RateLimitError',
          `Chaos: ${ctx.service} rate limit of ${config.rate_limit_requests} calls per ${config.rate_limit_window_seconds} s exceeded`,
          env.experiment,
          'RATE_LIMIT',
          { status: 429, code: 'ERATELIMIT', retry_after_seconds: retryAfter },
        ),
      )
    },
    release() {},
  }
}
