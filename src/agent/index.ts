/**
 * `chaos-playbook/agent`: the fault-injection agent a Node service embeds. See docs/control-protocol.md
 * for the control protocol and the embedding guide.
 */
export {
  createChaosAgent,
  FAULT_LOG_INTERVAL_MS,
  HISTORY_LIMIT,
  type ChaosAgent,
  type ChaosAgentOptions,
  type ResponseHeadLike,
  type ChaosMethodDecorator,
  type FaultSelection,
  type AffectingExperiment,
  BAGGAGE_EXPERIMENT_KEY,
  BAGGAGE_SIGNATURE_KEY,
} from './agent.js'
export { MAX_BODY_BYTES } from './control.js'
export { ChaosControlError } from './errors.js'
export type { AgentExperimentView, EndReason } from './experiment.js'
export { ChaosInjectedError, FAULTS, isInjectedError } from './faults/index.js'
export type { Fault, FaultContext, FaultEnv, FaultFactory } from './faults/index.js'
export { MEMORY_STEP_BYTES } from './faults/resource-exhaustion.js'
export type {
  FastifyLikeInstance,
  FastifyLikePlugin,
  FastifyLikeReply,
  FastifyLikeRequest,
} from './adapters.js'
export {
  EXPERIMENT_HEADER,
  FAULTS_HEADER,
  MAX_EXPERIMENT_SECONDS,
  PRESSURE_LIMITS,
  PROTOCOL_VERSION,
  type AgentInfo,
  type ExperimentView,
  type FaultConfig,
  type FaultConfigInput,
} from '../protocol/schemas.js'
export { SIGNATURE_HEADER, signExperimentId, tagHeaders } from '../protocol/tag.js'
