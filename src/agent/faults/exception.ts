/** EXCEPTION: the call fails with an Error named `exception_class` carrying `exception_message`. */
import { ChaosInjectedError, type FaultFactory } from './types.js'

export const exceptionFault: FaultFactory<'EXCEPTION'> = (config, env) => ({
  apply() {
    return Promise.reject(
      new ChaosInjectedError(config.exception_class, config.exception_message, env.experiment, 'EXCEPTION'),
    )
  },
  release() {},
})
