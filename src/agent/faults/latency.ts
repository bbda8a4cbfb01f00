/** LATENCY: delays the call by latency_ms ± latency_jitter_ms (uniform), then lets it through. */
import { faultWait, type FaultFactory } from './types.js'

export const latencyFault: FaultFactory<'LATENCY'> = (config, env) => ({
  apply(ctx) {
    const jitter = config.latency_jitter_ms * (env.random() * 2 - 1)
    const delay = Math.max(0, config.latency_ms + jitter)
    return faultWait(delay, ctx, env.clock).then(() => undefined)
  },
  release() {},
})
