/**
 * TIMEOUT: the call hangs for timeout_ms, then fails with a TimeoutError (code ETIMEDOUT). The real
 * function is never called. The caller's AbortSignal ends the hang early with the signal's reason.
 */
import { ChaosInjectedError, faultWait, type FaultFactory } from './types.js'

export const timeoutFault: FaultFactory<'TIMEOUT'> = (config, env) => ({
  apply(ctx) {
    return faultWait(config.timeout_ms, ctx, env.clock).then((elapsed) => {
      // Rolled back while hanging: the fault is gone, so the call proceeds normally.
      if (!elapsed) return
      throw new ChaosInjectedError(
        'TimeoutError',
        `Chaos: ${ctx.service} timed out after ${config.timeout_ms} ms`,
        env.experiment,
        'TIMEOUT',
        { code: 'ETIMEDOUT' },
      )
    })
  },
  release() {},
})
