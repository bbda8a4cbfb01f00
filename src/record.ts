/**
 * The run record: the single typed result of `chaos run`, and the JSON report written from it.
 *
 * This module is a leaf on purpose: the engine builds records, `reports/` renders and stores them,
 * and neither side has to import the other. It imports only zod, the fault table of the wire
 * protocol (itself a leaf: zod only) and *types* from the check grammar. External data rules apply: snake_case fields, UPPERCASE enum values, ratios
 * as 0..1 numbers, times as ISO-8601 UTC strings, durations in seconds, latencies in milliseconds.
 */
import { z } from 'zod'
import {
  FAILING_FAULT_TYPES,
  FAULT_TABLE,
  FAULT_TYPES,
  type BlastRadius,
  type ParamShape,
} from './protocol/faults.js'
import type { CheckPhase } from './scenario/checks.js'

/** Version of the JSON report format; bumped on incompatible changes. */
export const RECORD_SCHEMA_VERSION = 2

// Enum values repeated from the protocol and the check grammar; the `Same` checks below make the
// compiler fail if the lists ever drift apart. (Fault types come from the fault table itself.)
const BLAST_RADIUS_VALUES = ['SINGLE_REQUEST', 'SINGLE_SERVICE', 'SERVICE_CLUSTER', 'ENTIRE_SYSTEM'] as const
const CHECK_PHASE_VALUES = ['before', 'during', 'after'] as const
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const _sameBlastRadii: Same<(typeof BLAST_RADIUS_VALUES)[number], BlastRadius> = true
const _sameCheckPhases: Same<(typeof CHECK_PHASE_VALUES)[number], CheckPhase> = true

/** Fault types whose injected faults make calls fail (derived from the protocol's fault table). */
export { FAILING_FAULT_TYPES }

const Timestamp = z.iso.datetime().describe('ISO-8601 UTC time, e.g. 2026-11-28T11:22:33.000Z')
const Count = z.number().int().min(0)
const Ratio = z.number().min(0).max(1)
const NonNegative = z.number().min(0)

/**
 * Verdict of a whole run; maps to the exit code (0, 1, 3, 130, 4, 5). `INCONCLUSIVE`: nothing
 * failed, but a check could not be evaluated or no fault was injected, so nothing was proven.
 */
export const RunOutcome = z.enum(['PASSED', 'FAILED', 'ABORTED', 'INTERRUPTED', 'ERROR', 'INCONCLUSIVE'])
export type RunOutcome = z.infer<typeof RunOutcome>

/** What happened to one experiment. `SKIPPED`: a suite stopped before reaching it. */
export const ExperimentRecordState = z.enum(['COMPLETED', 'ABORTED', 'INTERRUPTED', 'FAILED', 'SKIPPED'])
export type ExperimentRecordState = z.infer<typeof ExperimentRecordState>

/** Level of an analysis line: rendered ✅ (OK), ⚠ (WARN), 📝 Action: (ACTION). */
/**
 * What ended an ABORTED experiment during injection, when the runner knows: `SAFETY_LIMIT` (a
 * safety limit was crossed), `OPERATOR_STOP` (the agent says it was stopped by a stop the runner
 * did not send: `chaos stop` or a DELETE to the control API), `TARGET_ENDED` (the agent ended it
 * itself: lease expired, 30-minute cap, agent closed), `ENDED_UNEXPLAINED` (the target no longer
 * runs it and did not say why: no `end_reason`, or it forgot the experiment).
 */
export const AbortCause = z.enum([
  'PREFLIGHT_REFUSED',
  'SAFETY_LIMIT',
  'OPERATOR_STOP',
  'TARGET_ENDED',
  'ENDED_UNEXPLAINED',
])
export type AbortCause = z.infer<typeof AbortCause>

export const AnalysisLevel = z.enum(['OK', 'WARN', 'ACTION'])
export type AnalysisLevel = z.infer<typeof AnalysisLevel>

/** Phase of the experiment a time-series point belongs to. */
export const TimeseriesPhase = z.enum(['BASELINE', 'DURING', 'RECOVERY'])
export type TimeseriesPhase = z.infer<typeof TimeseriesPhase>

/** Circuit breaker state as the target reports it. */
export const BreakerState = z.enum(['CLOSED', 'OPEN', 'HALF_OPEN'])
export type BreakerState = z.infer<typeof BreakerState>

/** Rollback route used: the experiment's DELETE or the stop-all fallback. */
export const RollbackMethod = z.enum(['DELETE', 'STOP_ALL'])
export type RollbackMethod = z.infer<typeof RollbackMethod>

export const LatencyMs = z.object({
  p50: NonNegative,
  p95: NonNegative,
  p99: NonNegative,
  max: NonNegative,
})
export type LatencyMs = z.infer<typeof LatencyMs>

/**
 * The traffic that is not the runner's in one phase ("collateral": real users and anything else the
 * target served), measured by subtraction: the target's `http_requests_total` increase (its own
 * `/metrics` route left out) minus the runner's requests of the phase. Approximate: the target
 * counts a request when it is answered, the runner by intended send time, and the scrapes at the
 * phase boundaries are not instantaneous, so requests in flight at a boundary may land on the
 * other side.
 */
export const PhaseCollateral = z.object({
  requests: Count.describe('Requests the target served that were not the runner’s'),
  errors: Count.describe('Of those, answered with a status of 400 or more'),
  error_rate: Ratio.nullable().describe('errors / requests, 0..1; null when there was no other traffic'),
})
export type PhaseCollateral = z.infer<typeof PhaseCollateral>

/**
 * One workload route's finished requests in a phase, by HTTP status (`"200"`, `"404"`), or by
 * failure class when no status arrived (`TIMEOUT`, `CONNECTION`, `CANCELLED`, `OTHER`).
 */
export const RouteStatuses = z.object({
  method: z.string(),
  path: z.string().describe('The path as sent (dates filled in), without the origin'),
  requests: Count.describe('Finished requests of this route in the phase'),
  statuses: z.record(z.string(), Count),
})
export type RouteStatuses = z.infer<typeof RouteStatuses>

/** Measurements of one phase (baseline, during injection, recovery). */
export const PhaseMetrics = z.object({
  total_requests: Count.describe('Requests the workload sent (and completed or failed) in the phase'),
  affected_requests: Count.nullable().describe(
    'Workload requests that met at least one fault (from the x-chaos-faults response header; at most total_requests); null when the target does not tag its responses',
  ),
  faults_injected: Count.nullable().describe(
    'Faults the target injected in the phase (calls, retries included: from its counters); null when not measured',
  ),
  successful_requests: Count,
  failed_requests: Count,
  dropped_requests: Count.describe('Requests the generator did not send because too many were in flight'),
  error_rate: Ratio.describe('failed / total, 0..1'),
  availability: Ratio.describe('successful / total, 0..1'),
  latency_ms: LatencyMs,
  throughput_rps: NonNegative,
  circuit_breaker_trips: Count.nullable().describe(
    'Increase of circuit_breaker_trips_total; null when the target does not export it (not measured, not 0)',
  ),
  failures_by_class: z
    .record(z.string(), Count)
    .describe('Failed requests by class, e.g. http_503, timeout, connection_error'),
  collateral: PhaseCollateral.nullable()
    .optional()
    .describe(
      'The other traffic the target served in the phase (blast radius); null when not measured (the target exports no http_requests_total with a status label); absent in older reports',
    ),
  routes: z
    .array(RouteStatuses)
    .optional()
    .describe(
      'The workload requests of the phase per route, by status, in the order of the workload; absent in older reports',
    ),
})
export type PhaseMetrics = z.infer<typeof PhaseMetrics>

export const ExperimentMetrics = z.object({
  baseline: PhaseMetrics.nullable(),
  during: PhaseMetrics.nullable(),
  recovery: PhaseMetrics.nullable(),
  mttr_seconds: NonNegative.nullable().describe('Rollback to steady state again; null if never recovered'),
  recovered: z.boolean(),
})
export type ExperimentMetrics = z.infer<typeof ExperimentMetrics>

/** One evaluated check. `passed: null` means it could not be evaluated (see `detail`). */
export const CheckResult = z.object({
  name: z.string(),
  expression: z.string().describe('The check as written: measure op bound phase'),
  phase: z.enum(CHECK_PHASE_VALUES).describe("The check's phase word from its expression"),
  expected: z.number().nullable().describe('Resolved bound in the measure unit (baseline factors applied)'),
  actual: z.number().nullable(),
  passed: z.boolean().nullable(),
  detail: z.string().optional(),
})
export type CheckResult = z.infer<typeof CheckResult>

export const RollbackRecord = z.object({
  attempted: z.boolean(),
  verified: z
    .boolean()
    .describe(
      'Every piece of evidence agrees: GET /chaos reads back nothing active, and after a settle window neither the target counters nor the tagged workload show a new fault',
    ),
  attempts: Count,
  method: RollbackMethod.nullable(),
  error: z.string().nullable(),
  faults_after_rollback: Count.nullable()
    .default(null)
    .describe('Faults seen after the rollback was confirmed (should be 0); null when not measured'),
})
export type RollbackRecord = z.infer<typeof RollbackRecord>

/** One point of the per-second time series (for charts). */
export const TimeseriesPoint = z.object({
  t: NonNegative.describe('Seconds since the experiment started'),
  phase: TimeseriesPhase,
  requests: Count,
  errors: Count,
  latency_p95_ms: NonNegative.nullable(),
  faults_injected: Count.nullable().describe('null when the target exports no fault counter'),
  breaker_state: BreakerState.nullable(),
})
export type TimeseriesPoint = z.infer<typeof TimeseriesPoint>

export const AnalysisLine = z.object({
  level: AnalysisLevel,
  message: z.string(),
})
export type AnalysisLine = z.infer<typeof AnalysisLine>

/**
 * A recorded parameter: the wire schema of the parameter, without its default (a report keeps what
 * was injected and never invents values) and optional, so reports stay readable when a fault type
 * gains parameters.
 */
function recordedParam(schema: z.ZodType): z.ZodType {
  const inner = (
    schema instanceof z.ZodDefault || schema instanceof z.ZodOptional ? schema.unwrap() : schema
  ) as z.ZodType
  const description = schema.description ?? inner.description
  const optional = inner.optional()
  return description === undefined ? optional : optional.describe(description)
}

function recordedVariant(type: (typeof FAULT_TYPES)[number]) {
  const params = Object.fromEntries(
    Object.entries(FAULT_TABLE[type].params as ParamShape).map(([name, schema]) => [
      name,
      recordedParam(schema),
    ]),
  )
  return z.looseObject({
    fault_type: z.literal(type),
    probability: Ratio,
    blast_radius: z.enum(BLAST_RADIUS_VALUES),
    ...params,
  })
}

// What every variant has in common, as far as the TypeScript type of a record goes.
type RecordedVariant = z.ZodObject<
  {
    fault_type: z.ZodEnum<{ [T in (typeof FAULT_TYPES)[number]]: T }>
    probability: typeof Ratio
    blast_radius: z.ZodEnum<{ [B in BlastRadius]: B }>
  },
  z.core.$loose
>

/**
 * The fault as it was injected (after overrides): one variant per row of the protocol's fault table,
 * with that row's parameters. Kept open (extra fields are kept, parameters are optional) so reports
 * stay readable when a fault type gains fields.
 */
export const RecordedFaultConfig = z.discriminatedUnion(
  'fault_type',
  FAULT_TYPES.map(recordedVariant) as unknown as [RecordedVariant, ...RecordedVariant[]],
)
export type RecordedFaultConfig = z.infer<typeof RecordedFaultConfig>

/**
 * One target instance of an experiment (an object, so that per-instance facts can be added).
 * The request counts are the workload's requests sent to this instance over the whole experiment
 * (baseline, injection and recovery); null when the workload went to a separate URL
 * (`--workload-url` naming e.g. a load balancer), which says nothing about how it was spread.
 */
export const InstanceRecord = z.object({
  url: z.string().describe('Base URL of the instance, as given with --target or found by discovery'),
  reached: z
    .boolean()
    .describe('true when a start call was sent and not refused (started, or its outcome unknown)'),
  requests: Count.nullable().describe('Workload requests this instance answered or failed'),
  failed_requests: Count.nullable(),
  error_rate: Ratio.nullable().describe('failed / requests, 0..1 (0 when no requests)'),
  start: z
    .enum(['STARTED', 'REFUSED', 'FAILED', 'NOT_SENT'])
    .optional()
    .describe(
      'What the start call did: STARTED; REFUSED (a 4xx: the instance did not take it); FAILED (no answer or 5xx: outcome unknown, rolled back); NOT_SENT (the fault does not reach it, or the start was not sent)',
    ),
  faults_injected: Count.nullable()
    .optional()
    .describe(
      "The agent's own count of faults for the experiment (DELETE answer, else its last view); null when unknown",
    ),
  calls_seen: Count.nullable()
    .optional()
    .describe("The agent's own count of calls the experiment saw (same source); null when unknown"),
  rollback_verified: z
    .boolean()
    .nullable()
    .optional()
    .describe(
      "This instance's read-back after the rollback no longer lists the experiment; null when nothing was rolled back there",
    ),
  rollback_error: z
    .string()
    .nullable()
    .optional()
    .describe('Why the rollback of this instance is not verified; null otherwise'),
})
export type InstanceRecord = z.infer<typeof InstanceRecord>

/** How an instance came to be a target: given with --target, or found by a discovery source. */
export const DiscoveredInstance = z.object({
  url: z.string().describe('Control base URL of the instance (after the --instance-url template)'),
  source: z
    .string()
    .describe(
      '"static" for a --target (or config targets:), else the discovery spec that found it, e.g. dns:hotel.svc:8080',
    ),
  state: z
    .enum(['UP', 'DOWN'])
    .describe('DOWN: the source itself reports it down (Prometheus up == 0, target health down)'),
  reason: z.string().nullable().describe('Why the instance is DOWN or was skipped; null otherwise'),
})
export type DiscoveredInstance = z.infer<typeof DiscoveredInstance>

/** What discovery found before one experiment (it runs again before each one). */
export const DiscoveryRecord = z.object({
  sources: z.array(z.string()).describe('The --discover specs (and "static" when --target was given)'),
  found: z
    .array(DiscoveredInstance)
    .describe('Every instance found, static ones included, de-duplicated by url'),
  skipped: z
    .array(z.object({ url: z.string(), reason: z.string() }))
    .describe('Instances found but not used (down, unreachable at preflight), with why'),
})
export type DiscoveryRecord = z.infer<typeof DiscoveryRecord>

export const ExperimentRecord = z.object({
  id: z.string(),
  name: z.string(),
  category: z.string(),
  target_service: z.string(),
  steady_state_hypothesis: z.string(),
  fault_config: RecordedFaultConfig,
  blast_radius: z.enum(BLAST_RADIUS_VALUES),
  duration_seconds: NonNegative.describe('Planned injection duration (after --duration)'),
  state: ExperimentRecordState,
  started_at: Timestamp.nullable(),
  injected_at: Timestamp.nullable(),
  rolled_back_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
  hypothesis_held: z
    .boolean()
    .nullable()
    .describe(
      'null when the experiment did not get far enough, or was inconclusive (see inconclusive_reason)',
    ),
  inconclusive_reason: z
    .string()
    .nullable()
    .optional()
    .describe(
      'Why a completed experiment proved nothing although no check failed: a check not evaluated (naming the missing metric) or no fault injected',
    ),
  metrics: ExperimentMetrics,
  checks: z.array(CheckResult),
  abort_reason: z.string().nullable(),
  abort_cause: AbortCause.nullable()
    .optional()
    .describe(
      'What ended an ABORTED experiment, when known: a preflight refusal (nothing injected: production, service not wrapped, another experiment running, /metrics unreadable, workload routes failing), or during injection a safety limit, an operator stop, the target itself, or the target without a reason; absent otherwise',
    ),
  error: z.string().nullable(),
  rollback: RollbackRecord,
  instances: z
    .array(InstanceRecord)
    .optional()
    .describe(
      'One entry per instance the experiment used (static targets in their order, then discovered ones sorted by url); absent when no workload ran',
    ),
  discovery: DiscoveryRecord.optional().describe(
    'The instances discovery found before this experiment, and those skipped; absent without --discover',
  ),
  timeseries: z.array(TimeseriesPoint),
  analysis: z.array(AnalysisLine),
})
export type ExperimentRecord = z.infer<typeof ExperimentRecord>

export const RunTarget = z.object({
  urls: z
    .array(z.string())
    .min(1)
    .describe(
      'Control/target base URLs, one per instance: the --target ones, then every discovered instance an experiment used (sorted); when discovery alone found nothing, its specs (see discover)',
    ),
  instances: z.array(z.string()).optional().describe('Agent instance names, in the order of urls'),
  sandbox: z.boolean().describe('true when the runner started the built-in sandbox'),
  environment: z
    .array(z.string().nullable())
    .optional()
    .describe(
      "The environment each instance's agent reported at preflight (GET /chaos, normalised: lower case, prod → production), in the order of urls; null when it reported none or could not be read; absent when no preflight read it",
    ),
  workload_url: z
    .string()
    .optional()
    .describe('Where all workload went instead of being spread over urls (--workload-url)'),
  discover: z
    .array(z.string())
    .optional()
    .describe(
      'The --discover specs, when discovery was configured (instances are found before each experiment)',
    ),
})
export type RunTarget = z.infer<typeof RunTarget>

export const RunOptions = z.object({
  rate: NonNegative.describe('Workload arrival rate, requests per second'),
  baseline_seconds: NonNegative,
  interval_seconds: NonNegative,
  recovery_timeout_seconds: NonNegative,
  pause_seconds: NonNegative,
})
export type RunOptions = z.infer<typeof RunOptions>

/**
 * Reads a version-1 report as version 2: its `affected_requests` counted faults injected (calls),
 * which version 2 calls `faults_injected`; requests that met a fault were not measured then.
 * Anything else is returned as is.
 */
export function upgradeRecordData(data: unknown): unknown {
  const record = data as { schema_version?: unknown; experiments?: unknown }
  if (record?.schema_version !== 1 || !Array.isArray(record.experiments)) return data
  const phases = ['baseline', 'during', 'recovery'] as const
  return {
    ...record,
    schema_version: RECORD_SCHEMA_VERSION,
    experiments: record.experiments.map((e: { metrics?: Record<string, unknown> }) => {
      if (!e?.metrics) return e
      const metrics = { ...e.metrics }
      for (const phase of phases) {
        const m = metrics[phase] as Record<string, unknown> | null | undefined
        if (m)
          metrics[phase] = { ...m, affected_requests: null, faults_injected: m.affected_requests ?? null }
      }
      return { ...e, metrics }
    }),
  }
}

/** One run of one experiment or a suite: the JSON report. */
export const RunRecord = z.object({
  schema_version: z.literal(RECORD_SCHEMA_VERSION),
  run_id: z.string().min(1),
  started_at: Timestamp,
  finished_at: Timestamp,
  partial: z.boolean().describe('true for aborted or interrupted runs'),
  selection: z.array(z.string()).describe('What was asked for: category, scenario ids or files, or all'),
  target: RunTarget,
  outcome: RunOutcome,
  exit_code: z.number().int(),
  options: RunOptions,
  experiments: z.array(ExperimentRecord),
})
export type RunRecord = z.infer<typeof RunRecord>

/** One line of `events.jsonl`: a lifecycle event with the guide's event name plus fields. */
export const ChaosEvent = z.looseObject({
  ts: Timestamp,
  event: z.string().regex(/^chaos_[a-z0-9_]+$/, 'must be a chaos_* event name'),
  run_id: z.string().optional(),
  experiment_id: z.string().optional(),
})
export type ChaosEvent = z.infer<typeof ChaosEvent>

/**
 * Lifecycle event names (guide section 8 "Log Analysis" plus the runner's own). Not a closed set:
 * `events.jsonl` readers should ignore names they do not know.
 */
export const CHAOS_EVENTS = [
  'chaos_preflight_passed',
  'chaos_preflight_metrics_missing',
  'chaos_steady_state_not_held',
  'chaos_experiment_started',
  'chaos_fault_injected',
  'chaos_lease_renewal_failed',
  'chaos_safety_error_rate_high',
  'chaos_safety_availability_low',
  'chaos_safety_metrics_unreadable',
  'chaos_experiment_aborted',
  'chaos_experiment_failed',
  'chaos_experiment_interrupted',
  'chaos_experiment_completed',
  'chaos_rollback_retry',
  'chaos_rollback_failed',
  'chaos_experiment_context_exited',
  'chaos_recovered',
  'chaos_recovery_timeout',
  'chaos_experiment_finished',
  'chaos_experiment_hook_failed',
  'chaos_pushgateway_push_failed',
] as const
export type ChaosEventName = (typeof CHAOS_EVENTS)[number]

/** Compact UTC timestamp for file names and run ids: `20261128T112233Z`. */
export function compactTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
}

/** A run id: compact UTC start time plus random hex, e.g. `20261128T112233Z-3f9a1c`. */
export function createRunId(startedAtMs: number, random: () => number = Math.random): string {
  const suffix = Math.floor(random() * 0x1000000)
    .toString(16)
    .padStart(6, '0')
  return `${compactTimestamp(startedAtMs)}-${suffix}`
}

/** JSON Schema of the report (`reports/run-report.schema.json` is generated from this). */
export function runReportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(RunRecord, { io: 'output' }) as Record<string, unknown>
  return {
    ...schema,
    $id: 'https://chaos-playbook.dev/run-report.schema.json',
    title: 'chaos-playbook run report',
  }
}
