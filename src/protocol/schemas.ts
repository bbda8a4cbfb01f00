/**
 * Wire-protocol schemas shared by the runner and the agent (control protocol v1), and reused by
 * scenario files: `fault_config` is the same object in a scenario file and in a POST body.
 * This module is the only thing the runner and the agent have in common.
 */
import { z } from 'zod'

/** Control protocol version spoken by this package. */
export const PROTOCOL_VERSION = 1

/** Longest any experiment may run (guide section 7: "Duration > 30 minutes" aborts). */
export const MAX_EXPERIMENT_SECONDS = 30 * 60

export const FAULT_TYPES = [
  'LATENCY',
  'EXCEPTION',
  'TIMEOUT',
  'CIRCUIT_BREAK',
  'RATE_LIMIT',
  'RESOURCE_EXHAUSTION',
] as const
export const FaultType = z.enum(FAULT_TYPES)
export type FaultType = z.infer<typeof FaultType>

/** Blast radius levels, ordered from safest to most risky (guide section 4). */
export const BLAST_RADII = ['SINGLE_REQUEST', 'SINGLE_SERVICE', 'SERVICE_CLUSTER', 'ENTIRE_SYSTEM'] as const
export const BlastRadius = z.enum(BLAST_RADII)
export type BlastRadius = z.infer<typeof BlastRadius>

/** Header the runner puts on its own workload; `SINGLE_REQUEST` faults only touch requests carrying it. */
export const EXPERIMENT_HEADER = 'x-chaos-experiment'

/** Ceilings for real resource pressure, enforced by the schema (documented in docs/control-protocol.md). */
export const PRESSURE_LIMITS = { max_heap_fraction: 0.5, max_block_ms: 200 } as const

const positiveMs = z
  .number()
  .int()
  .positive()
  .max(MAX_EXPERIMENT_SECONDS * 1000)

/** Fields every fault shares: the generic envelope. */
const envelope = {
  probability: z.number().min(0).max(1).describe('Chance that a call is selected, 0..1'),
  blast_radius: BlastRadius.default('SINGLE_SERVICE').describe('How far the fault reaches'),
  enabled: z
    .boolean()
    .default(true)
    .describe('false keeps the scenario in the catalogue but never injects it'),
}

export const LatencyFault = z.strictObject({
  fault_type: z.literal('LATENCY'),
  ...envelope,
  latency_ms: positiveMs.describe('Added delay in milliseconds'),
  latency_jitter_ms: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Uniform jitter: delay is latency_ms ± jitter'),
})

export const ExceptionFault = z.strictObject({
  fault_type: z.literal('EXCEPTION'),
  ...envelope,
  exception_class: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'must be an identifier such as ConnectionError')
    .describe('Error name thrown by the fault'),
  exception_message: z.string().max(500).default('Chaos: injected exception'),
})

export const TimeoutFault = z.strictObject({
  fault_type: z.literal('TIMEOUT'),
  ...envelope,
  timeout_ms: positiveMs.describe('How long the call hangs before failing with a timeout error'),
})

export const CircuitBreakFault = z.strictObject({
  fault_type: z.literal('CIRCUIT_BREAK'),
  ...envelope,
  exception_message: z.string().max(500).default('Chaos: connection refused'),
})

export const RateLimitFault = z.strictObject({
  fault_type: z.literal('RATE_LIMIT'),
  ...envelope,
  rate_limit_requests: z.number().int().positive().describe('Calls allowed per window'),
  rate_limit_window_seconds: z.number().positive().max(MAX_EXPERIMENT_SECONDS).describe('Window length'),
})

/** Optional real pressure for RESOURCE_EXHAUSTION, bounded by {@link PRESSURE_LIMITS}. */
export const Pressure = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('MEMORY'),
    heap_fraction: z
      .number()
      .positive()
      .max(PRESSURE_LIMITS.max_heap_fraction)
      .describe('Fraction of the heap limit held while the experiment runs'),
  }),
  z.strictObject({
    type: z.literal('CPU'),
    block_ms: z
      .number()
      .int()
      .positive()
      .max(PRESSURE_LIMITS.max_block_ms)
      .describe('Event-loop block per selected call'),
  }),
])
export type Pressure = z.infer<typeof Pressure>

export const ResourceExhaustionFault = z.strictObject({
  fault_type: z.literal('RESOURCE_EXHAUSTION'),
  ...envelope,
  exception_message: z.string().max(500).default('Chaos: resource exhausted'),
  pressure: Pressure.optional(),
})

/** A fault configuration: generic envelope plus the parameters of its `fault_type`. */
export const FaultConfig = z.discriminatedUnion('fault_type', [
  LatencyFault,
  ExceptionFault,
  TimeoutFault,
  CircuitBreakFault,
  RateLimitFault,
  ResourceExhaustionFault,
])
export type FaultConfig = z.infer<typeof FaultConfig>
export type FaultConfigInput = z.input<typeof FaultConfig>

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
