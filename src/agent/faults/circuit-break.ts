/** CIRCUIT_BREAK: the dependency refuses connections (ConnectionError, code ECONNREFUSED). */
import { ChaosInjectedError, type FaultFactory } from './types.js'

export const circuitBreakFault: FaultFactory<'CIRCUIT_BREAK'> = (config, env) => ({
  apply() {
    return Promise.reject(
      new ChaosInjectedError('ConnectionError', config.exception_message, env.experiment, 'CIRCUIT_BREAK', {
        code: 'ECONNREFUSED',
      }),
    )
  },
  release() {},
})
