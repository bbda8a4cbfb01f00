/**
 * The fault table: one row per fault type, and everything that is derived from it. The wire schema
 * (`FaultConfig`, a discriminated union on `fault_type`), the scenario JSON Schema, the recorded
 * `fault_config` of the run report, the "failing fault" set used by the interpretation rules, the
 * loader's hints and the report wording all read this table; nothing else lists fault types. The
 * agent keys its own table of fault modules by {@link FaultType}, so a row without a module does not
 * compile.
 *
 * Adding a fault type: one row here, one module in `src/agent/faults/`, one line in
 * `src/agent/faults/index.ts`, then regenerate the generated files (README, "Add a fault type").
 */
import { z } from 'zod'

/** Longest any experiment may run (guide section 7: "Duration > 30 minutes" aborts). */
export const MAX_EXPERIMENT_SECONDS = 30 * 60

/** Blast radius levels, ordered from safest to most risky (guide section 4). */
export const BLAST_RADII = ['SINGLE_REQUEST', 'SINGLE_SERVICE', 'SERVICE_CLUSTER', 'ENTIRE_SYSTEM'] as const
export const BlastRadius = z.enum(BLAST_RADII)
export type BlastRadius = z.infer<typeof BlastRadius>

/** Ceilings for real resource pressure, enforced by the schema (documented in docs/control-protocol.md). */
export const PRESSURE_LIMITS = { max_heap_fraction: 0.5, max_block_ms: 200 } as const

const positiveMs = z
  .number()
  .int()
  .positive()
  .max(MAX_EXPERIMENT_SECONDS * 1000)

/** Fields every fault shares: the generic envelope. Type-specific parameters come from the table. */
const envelope = {
  probability: z.number().min(0).max(1).describe('Chance that a call is selected, 0..1'),
  blast_radius: BlastRadius.default('SINGLE_SERVICE').describe('How far the fault reaches'),
  enabled: z
    .boolean()
    .default(true)
    .describe('false keeps the scenario in the catalogue but never injects it'),
}

/** Names of the envelope fields (`fault_type` included): everything in a `fault_config` that is not a parameter. */
export const ENVELOPE_FIELDS: readonly string[] = ['fault_type', ...Object.keys(envelope)]

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

/** What the scenario loader tells an author about one parameter. */
export interface ParamHelp {
  /** Shown when the value is wrong (and, in docs, next to the parameter). */
  readonly hint: string
  /** Example value shown when a required parameter is missing: "LATENCY faults need latency_ms, e.g. latency_ms: 2000". */
  readonly example?: string
}

/** Number formatting the report supplies to a row's {@link FaultRow.summary}, so wording stays here. */
export interface FaultWording {
  /** The fault's probability, already formatted as a percentage (e.g. "20%"). */
  readonly p: string
  pct(ratio: number): string
  /** Milliseconds for people: 10s, 1m 30s. */
  duration(ms: number): string
  /** Seconds for people: 45s, 2m 5s. */
  seconds(s: number): string
}

/** Zod fields of a fault's own parameters. */
export type ParamShape = Readonly<Record<string, z.ZodType>>

/** One fault type. `Shape` holds its own parameters only (the envelope is shared). */
export interface FaultRow<Shape extends ParamShape = ParamShape> {
  /** Type-specific parameters of `fault_config`, as zod fields. */
  readonly params: Shape
  /** True when an injected fault makes the call fail (not just slow): the interpretation rules' "failing fault". */
  readonly failing: boolean
  /** What a selected call experiences, one sentence (docs tables). */
  readonly description: string
  /** Loader hints, one per parameter. */
  readonly help: { readonly [K in keyof Shape]: ParamHelp }
  /**
   * One-phrase report wording, e.g. "20% error rate injected: ConnectionError". `params` holds the
   * recorded parameters that are present and valid (old reports may lack some).
   */
  summary(params: Partial<z.output<z.ZodObject<Shape>>>, w: FaultWording): string
}

/** Types a row so its `help` and `summary` are checked against its own parameters. */
function row<Shape extends ParamShape>(definition: FaultRow<Shape>): FaultRow<Shape> {
  return definition
}

/** The fault table. Row order is the order of the wire union and of every generated list. */
export const FAULT_TABLE = {
  LATENCY: row({
    params: {
      latency_ms: positiveMs.describe('Added delay in milliseconds'),
      latency_jitter_ms: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe('Uniform jitter: delay is latency_ms ± jitter'),
      latency_direction: z
        .enum(['BOTH', 'UPSTREAM', 'DOWNSTREAM'])
        .optional()
        .describe(
          'Proxy TCP routes only: data delayed client to upstream (UPSTREAM), upstream to client (DOWNSTREAM) or both (BOTH, when absent)',
        ),
    },
    failing: false,
    description:
      'Waits `latency_ms` ± `latency_jitter_ms` (uniform), then calls the real function; the wait ends early when the caller aborts.',
    help: {
      latency_ms: { hint: 'whole milliseconds, e.g. 2000', example: '2000' },
      latency_jitter_ms: { hint: 'whole milliseconds of jitter, e.g. 500' },
      latency_direction: {
        hint: 'proxy TCP routes only: BOTH (the default), UPSTREAM (client to upstream) or DOWNSTREAM (upstream to client)',
      },
    },
    summary({ latency_ms, latency_jitter_ms }, w) {
      const delay =
        latency_ms === undefined
          ? 'added'
          : `${latency_ms}ms${latency_jitter_ms ? ` ± ${latency_jitter_ms}ms` : ''}`
      return `${delay} latency on ${w.p} of calls`
    },
  }),
  EXCEPTION: row({
    params: {
      exception_class: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'must be an identifier such as ConnectionError')
        .describe('Error name thrown by the fault'),
      exception_message: z.string().max(500).default('Chaos: injected exception'),
      http_status: z
        .number()
        .int()
        .min(400)
        .max(599)
        .optional()
        .describe('chaos proxy HTTP routes: status of the answer (default 500)'),
    },
    failing: true,
    description:
      'Throws an `Error` with `name = exception_class` and `message = exception_message`; on a `chaos proxy` HTTP route, answers `http_status` (500 by default) without reaching upstream.',
    help: {
      exception_class: { hint: 'an error name such as ConnectionError', example: 'ConnectionError' },
      exception_message: { hint: 'the error message, at most 500 characters' },
      http_status: { hint: 'an HTTP error status, 400..599, e.g. 500 (chaos proxy HTTP routes only)' },
    },
    summary({ exception_class }, w) {
      return `${w.p} error rate injected${exception_class ? `: ${exception_class}` : ''}`
    },
  }),
  TIMEOUT: row({
    params: {
      timeout_ms: positiveMs.describe('How long the call hangs before failing with a timeout error'),
    },
    failing: true,
    description:
      "Waits `timeout_ms` (cut short when the caller aborts), then throws `TimeoutError` (`code: 'ETIMEDOUT'`) without calling the real function.",
    help: {
      timeout_ms: { hint: 'whole milliseconds, e.g. 10000', example: '10000' },
    },
    summary({ timeout_ms }, w) {
      return `${w.p} timeouts injected${timeout_ms === undefined ? '' : ` after ${w.duration(timeout_ms)}`}`
    },
  }),
  CIRCUIT_BREAK: row({
    params: {
      exception_message: z.string().max(500).default('Chaos: connection refused'),
    },
    failing: true,
    description: "Throws `ConnectionError` (`code: 'ECONNREFUSED'`) at once, like a refused connection.",
    help: {
      exception_message: { hint: 'the error message, at most 500 characters' },
    },
    summary(_params, w) {
      return `${w.p} circuit-open failures injected`
    },
  }),
  RATE_LIMIT: row({
    params: {
      rate_limit_requests: z.number().int().positive().describe('Calls allowed per window'),
      rate_limit_window_seconds: z.number().positive().max(MAX_EXPERIMENT_SECONDS).describe('Window length'),
    },
    failing: true,
    description:
      "Fixed window per experiment, opened by the first selected call: the first `rate_limit_requests` selected calls of each `rate_limit_window_seconds` window go through, the rest throw `RateLimitError` (`status: 429`, `code: 'ERATELIMIT'`, `retry_after_seconds`).",
    help: {
      rate_limit_requests: { hint: 'a whole number of calls per window, e.g. 10', example: '10' },
      rate_limit_window_seconds: { hint: 'the window length in seconds, e.g. 60', example: '60' },
    },
    summary({ rate_limit_requests, rate_limit_window_seconds }, w) {
      const what =
        rate_limit_requests === undefined
          ? 'rate limit'
          : `rate limit of ${rate_limit_requests} calls per ${w.seconds(rate_limit_window_seconds ?? 1)}`
      return `${what} injected on ${w.p} of calls`
    },
  }),
  RESOURCE_EXHAUSTION: row({
    params: {
      exception_message: z.string().max(500).default('Chaos: resource exhausted'),
      pressure: Pressure.optional(),
      bandwidth_bytes_per_second: z
        .number()
        .int()
        .positive()
        .optional()
        .describe('chaos proxy routes: bandwidth left to a selected request or connection (default 16384)'),
    },
    failing: true,
    description:
      'Throws `ResourceExhaustedError`; with `pressure`, applies real, bounded memory or CPU pressure (below). On a `chaos proxy` route, squeezes bandwidth to `bandwidth_bytes_per_second` instead.',
    help: {
      exception_message: { hint: 'the error message, at most 500 characters' },
      bandwidth_bytes_per_second: {
        hint: 'whole bytes per second, e.g. 16384 (chaos proxy routes only)',
      },
      pressure: {
        hint: `{ type: MEMORY, heap_fraction: 0.2 } (at most ${PRESSURE_LIMITS.max_heap_fraction}) or { type: CPU, block_ms: 50 } (at most ${PRESSURE_LIMITS.max_block_ms})`,
      },
    },
    summary({ pressure }, w) {
      let extra = ''
      if (pressure?.type === 'MEMORY')
        extra = ` with memory pressure (${w.pct(pressure.heap_fraction)} of heap)`
      if (pressure?.type === 'CPU') extra = ` with CPU pressure (${pressure.block_ms}ms per call)`
      return `${w.p} resource exhaustion injected${extra}`
    },
  }),
}

type FaultTable = typeof FAULT_TABLE
export type FaultType = keyof FaultTable

/** Every fault type, in table order. */
export const FAULT_TYPES = Object.keys(FAULT_TABLE) as [FaultType, ...FaultType[]]
export const FaultType = z.enum(FAULT_TYPES)

/** Fault types whose injected faults make calls fail (as opposed to only slowing them down). */
export const FAILING_FAULT_TYPES: ReadonlySet<FaultType> = new Set(
  FAULT_TYPES.filter((type) => FAULT_TABLE[type].failing),
)

type ParamsOf<T extends FaultType> = FaultTable[T] extends FaultRow<infer S extends ParamShape> ? S : never
type ConfigSchemas = {
  [T in FaultType]: z.ZodObject<
    { fault_type: z.ZodLiteral<T> } & typeof envelope & ParamsOf<T>,
    z.core.$strict
  >
}

/** The wire schema of each fault type: `fault_type`, the envelope, then the row's parameters. */
export const FAULT_CONFIG_SCHEMAS = Object.fromEntries(
  FAULT_TYPES.map((type) => [
    type,
    z.strictObject({ fault_type: z.literal(type), ...envelope, ...FAULT_TABLE[type].params }),
  ]),
) as ConfigSchemas

type AnyConfigSchema = ConfigSchemas[FaultType]

/** A fault configuration: generic envelope plus the parameters of its `fault_type`. */
export const FaultConfig = z.discriminatedUnion(
  'fault_type',
  FAULT_TYPES.map((type) => FAULT_CONFIG_SCHEMAS[type]) as [AnyConfigSchema, ...AnyConfigSchema[]],
)
export type FaultConfig = z.infer<typeof FaultConfig>
export type FaultConfigInput = z.input<typeof FaultConfig>
