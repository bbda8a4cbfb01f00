/**
 * The agent's fault modules, one per FaultType (like toxiproxy's registry). The fault types, their
 * parameters and wording live in the protocol's fault table (src/protocol/faults.ts); this table is
 * keyed by that type, so a protocol row without a module here does not compile. Adding a fault type
 * means one row there, one module in this folder and one line here.
 */
import type { FaultConfig, FaultType } from '../../protocol/schemas.js'
import { circuitBreakFault } from './circuit-break.js'
import { exceptionFault } from './exception.js'
import { latencyFault } from './latency.js'
import { rateLimitFault } from './rate-limit.js'
import { resourceExhaustionFault } from './resource-exhaustion.js'
import { timeoutFault } from './timeout.js'
import type { Fault, FaultEnv, FaultFactory } from './types.js'

/** Fault module of each fault type. */
export const FAULTS: { readonly [T in FaultType]: FaultFactory<T> } = {
  LATENCY: latencyFault,
  EXCEPTION: exceptionFault,
  TIMEOUT: timeoutFault,
  CIRCUIT_BREAK: circuitBreakFault,
  RATE_LIMIT: rateLimitFault,
  RESOURCE_EXHAUSTION: resourceExhaustionFault,
}

/** Creates the fault for a validated config. */
export function createFault(config: FaultConfig, env: FaultEnv): Fault {
  // The table is keyed by fault_type, so a config always reaches the factory of its own type.
  const factory = FAULTS[config.fault_type] as (config: FaultConfig, env: FaultEnv) => Fault
  return factory(config, env)
}

export { ChaosInjectedError, isInjectedError, faultWait } from './types.js'
export type { Fault, FaultContext, FaultEnv, FaultFactory, InjectedErrorFields } from './types.js'
