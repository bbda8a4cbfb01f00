/**
 * Wire-protocol schemas shared by the runner and the agent (control protocol v1), and reused by
 * scenario files: `fault_config` is the same object in a scenario file and in a POST body.
 * This module (with the fault table in ./faults.ts and the environment names in ./environment.ts,
 * both re-exported here) is the only thing the runner and the agent have in common.
 */
import { z } from 'zod'
import { FaultConfig, MAX_EXPERIMENT_SECONDS } from './faults.js'

export { isProductionEnvironment, normalizeEnvironment, PRODUCTION } from './environment.js'

/** Control protocol version spoken by this package. */
export const PROTOCOL_VERSION = 1

/** The shortest bearer token an agent accepts (and `chaos sandbox --token`): a short one can be guessed. */
export const MIN_TOKEN_LENGTH = 16

export {
  BLAST_RADII,
  BlastRadius,
  ENVELOPE_FIELDS,
  FAILING_FAULT_TYPES,
  FAULT_CONFIG_SCHEMAS,
  FAULT_TABLE,
  FAULT_TYPES,
  FaultConfig,
  FaultType,
  MAX_EXPERIMENT_SECONDS,
  PRESSURE_LIMITS,
  Pressure,
  type FaultConfigInput,
  type FaultRow,
  type FaultWording,
  type ParamHelp,
  type ParamShape,
} from './faults.js'

/** Header the runner puts on its own workload; `SINGLE_REQUEST` faults only touch requests carrying it. */
export const EXPERIMENT_HEADER = 'x-chaos-experiment'

/**
 * Response header an agent may set on a response to a request tagged with the running
 * experiment's id: how many faults were injected while serving it (`0` included). It lets the
 * runner count the requests that met a fault and see a fault that outlives its rollback. Optional:
 * without it, those numbers are reported as not measured.
 */
export const FAULTS_HEADER = 'x-chaos-faults'

export const ExperimentId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,127}$/, 'must be lower-case letters, digits, _ . - (snake_case)')
export const ServiceName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a snake_case service name')

/** `POST /chaos/experiments` body. */
export const StartExperimentRequest = z.strictObject({
  id: ExperimentId,
  target_service: ServiceName,
  fault_config: FaultConfig,
  lease_seconds: z.number().positive().max(MAX_EXPERIMENT_SECONDS),
})
export type StartExperimentRequest = z.infer<typeof StartExperimentRequest>

/** `PUT /chaos/experiments/:id/lease` body. */
export const RenewLeaseRequest = z.strictObject({
  lease_seconds: z.number().positive().max(MAX_EXPERIMENT_SECONDS),
})

export const ExperimentState = z.enum(['RUNNING', 'COMPLETED', 'EXPIRED'])
export type ExperimentState = z.infer<typeof ExperimentState>

/** An experiment as the agent reports it. */
export const ExperimentView = z.object({
  id: z.string(),
  target_service: z.string(),
  fault_config: FaultConfig,
  state: ExperimentState,
  started_at: z.string(),
  lease_expires_at: z.string(),
  ended_at: z.string().nullable().optional(),
  calls_seen: z.number().int().min(0),
  faults_injected: z.number().int().min(0),
  /**
   * Why it ended (`stopped`, `emergency_stop`, `agent_closed`, `lease_expired`, `max_duration`);
   * absent while running. Any string is accepted: a value the runner does not know, or none, makes
   * it say it cannot tell why the experiment ended.
   */
  end_reason: z.string().optional(),
})
export type ExperimentView = z.infer<typeof ExperimentView>

/** `GET /chaos` answer. */
export const AgentInfo = z.object({
  agent: z.literal('chaos-playbook'),
  protocol: z.number().int(),
  service: z.string(),
  instance: z.string(),
  environment: z.string().optional(),
  services: z.array(z.string()),
  active_experiments: z.array(ExperimentView),
})
export type AgentInfo = z.infer<typeof AgentInfo>

/** Error body of every non-2xx control answer. */
export const ErrorBody = z.object({
  error: z.string(),
  problems: z.array(z.string()).optional(),
})
export type ErrorBody = z.infer<typeof ErrorBody>
