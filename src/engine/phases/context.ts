/**
 * The explicit state of one experiment as it moves through its phases. Each phase is a function
 * of this context: it reads what earlier phases left and writes what later ones need, so the
 * lifecycle reads top to bottom in `experiment.ts` and every phase can be tested on its own.
 */
import { getMaxListeners, setMaxListeners } from 'node:events'
import type { Clock } from '../../clock.js'
import type { Logger } from '../../logger.js'
import type { AbortCause, BreakerState, DiscoveredInstance, ExperimentRecord } from '../../record.js'
import type { MeasureName } from '../../scenario/checks.js'
import { DEFAULT_SAFETY, type Scenario, type ScenarioCheck } from '../../scenario/schema.js'
import { ControlError, UnreachableError, type ControlClient } from '../control-client.js'
import { fanOut, listenerBound } from '../fan-out.js'
import { combineSamples, type MetricsProbe, type ProbeSample } from '../probe.js'
import type { RouteResult } from '../route-check.js'
import type { WorkloadSummary } from '../timeline.js'
import type { Workload } from '../workload.js'

/** Phases shown on the live progress line. */
export type ExperimentPhase = 'preflight' | 'baseline' | 'injecting' | 'rollback' | 'recovery' | 'done'

/** A live progress update (spinner line on a TTY, plain line in a log). */
export interface Progress {
  experiment: string
  phase: ExperimentPhase
  elapsed_ms: number
  remaining_ms: number | null
  rps: number
  error_rate: number
  latency_p95_ms: number | null
  breaker_state: BreakerState | null
  message?: string
}

/** Settings of one experiment (from flags and config). */
export interface ExperimentOptions {
  /** Unique id the fault is injected under (also the x-chaos-experiment header value). */
  experimentId: string
  baselineMs: number
  intervalMs: number
  recoveryTimeoutMs: number
  leaseSeconds: number
  /** ENTIRE_SYSTEM needs this on a real target (guide section 7, escalation). */
  allowEntireSystem: boolean
  /** True when the target is the built-in sandbox (ENTIRE_SYSTEM allowed). */
  sandbox: boolean
  /**
   * A target whose agent reports environment production (any spelling) is refused at preflight
   * unless this is true (`--allow-production`: production only on purpose). Default false.
   */
  allowProduction?: boolean
  /** Bound on concurrent control calls and scrapes per fan-out (`--max-parallel`); default 64. */
  maxParallel?: number
}

/**
 * The instances of one experiment, found at its preflight (static targets and discovery), with
 * their control clients and metrics probes in the order of `found`.
 */
export interface FoundInstances {
  /** The discovery specs (and "static" when static targets were given), for the record. */
  sources: string[]
  /** Static targets first, then discovered ones sorted by url; de-duplicated by url. */
  found: DiscoveredInstance[]
  clients: ControlClient[]
  probes: MetricsProbe[]
}

/** What the runner knows of one instance over an experiment, for its line of the record. */
export interface InstanceState {
  /** What the start call did there (NOT_SENT: none was sent, e.g. the fault reaches one instance). */
  start: 'STARTED' | 'REFUSED' | 'FAILED' | 'NOT_SENT'
  /** The agent's own counts for the experiment, from its last view (start, polls, DELETE). */
  faults: number | null
  calls: number | null
  /** null: nothing to roll back there. */
  rollbackVerified: boolean | null
  rollbackError: string | null
}

/** The ports an experiment drives: the target's control endpoints, its metrics, the workload. */
export interface ExperimentDeps {
  /** One control client per static target instance (the instances when `findInstances` is absent). */
  clients: readonly ControlClient[]
  /**
   * One probe for the whole fleet (`--metrics-source prometheus`: PromQL summed over the job). When
   * set it replaces the per-instance probes: the engine reads the fleet's counters from it alone.
   */
  fleetProbe?: MetricsProbe
  /** One metrics probe per target instance, in the order of `clients`. */
  probes: readonly MetricsProbe[]
  /**
   * Finds this experiment's instances at its preflight (static targets merged with discovery);
   * absent: the instances are `clients` (static targets, today's behaviour) and no discovery is
   * recorded. Discovered instances that are DOWN or whose `GET /chaos` fails are skipped.
   */
  findInstances?: (signal: AbortSignal) => Promise<FoundInstances>
  /**
   * Creates the workload for this experiment; the headers tag every request with the experiment
   * id. `instances`: the base URLs of the instances this experiment uses (after preflight).
   */
  createWorkload(headers: Record<string, string>, instances: readonly string[]): Workload
  /**
   * Sends each route of the workload once, untagged, before the baseline (the doctor's route check,
   * src/engine/route-check.ts): a route that fails with no fault injected refuses the experiment
   * at preflight. Absent: not checked.
   */
  checkRoutes?: (signal: AbortSignal, instances: readonly string[]) => Promise<RouteResult[]>
  /**
   * The headers that tag the workload for experiment `id`: `x-chaos-experiment` and its signature
   * (`x-chaos-signature`, keyed with the token: src/protocol/tag.ts). Without it, the bare id
   * header only, which an agent of protocol v1 ignores.
   */
  tagHeaders?: (id: string) => Record<string, string>
  /** Instant PromQL query (checks written as PromQL); absent without --prometheus. */
  promql?: (query: string, signal?: AbortSignal) => Promise<number | null>
  clock: Clock
  /** Event journal: one entry per lifecycle event (`chaos_experiment_started`, ...). */
  events: Logger
  onProgress?: (progress: Progress) => void
  /**
   * The environment each instance's agent reported at preflight (GET /chaos `environment`,
   * normalised; null when it reports none), for the instances this experiment uses.
   */
  onEnvironment?: (environments: ReadonlyArray<{ url: string; environment: string | null }>) => void
}

/** Why an experiment stopped before its time, and what that means for its state. */
export class Stop extends Error {
  constructor(
    readonly state: 'ABORTED' | 'FAILED' | 'INTERRUPTED',
    message: string,
    /** What ended it, when known (recorded as `abort_cause`; docs in src/record.ts). */
    readonly abortCause?: AbortCause,
  ) {
    super(message)
  }
}

/** One metrics poll, kept for the time series. `t` is ms since the experiment started. */
export interface PollSample {
  t: number
  sample: ProbeSample
  /** Faults injected since the previous poll; null when the target exports no fault counter. */
  faultsDelta: number | null
}

/** Phase boundaries on the monotonic clock; a request belongs to the phase it was intended in. */
export interface PhaseMarks {
  /** The workload's t0. */
  start?: number
  /** End of the baseline observation: the `before` checks were measured up to here. */
  baselineEnd?: number
  /** Just before the first start call: baseline ends, during begins. */
  inject?: number
  /** Just before the first rollback call: during ends, recovery begins. */
  rollback?: number
  /** When the rollback was done (MTTR counts from here). */
  rolledBack?: number
  /** When the workload stopped. */
  end?: number
}

/** Probe readings at the phase boundaries (cumulative counters; phases use their deltas). */
export interface BoundarySamples {
  atStart: ProbeSample
  atInject: ProbeSample
  atRollback: ProbeSample | null
  /** Last reading of the recovery phase; undefined when no recovery phase ran. */
  atRecoveryEnd: ProbeSample | null | undefined
}

/** Everything an experiment's phases share. */
export interface ExperimentContext {
  readonly scenario: Scenario
  readonly options: ExperimentOptions
  readonly deps: ExperimentDeps
  readonly signal: AbortSignal
  readonly clock: Clock
  /** The id the fault is injected under. */
  readonly id: string
  readonly record: ExperimentRecord
  readonly safety: { max_error_rate: number; min_availability: number }
  readonly startedMono: number
  /** The instances this experiment uses (set by preflight: the usable ones found). */
  clients: readonly ControlClient[]
  /** Their metrics probes, in the order of `clients`. */
  probes: readonly MetricsProbe[]
  /** Instances the fault reaches: all for SERVICE_CLUSTER and ENTIRE_SYSTEM, the first otherwise. */
  reach: readonly ControlClient[]
  /** Per-instance facts for the record, by control base URL. */
  readonly fleet: Map<string, InstanceState>
  /** Instances a start call was sent to (each needs a rollback). */
  readonly injected: ControlClient[]
  workload: Workload | null
  readonly marks: PhaseMarks
  readonly probe: BoundarySamples
  readonly samples: PollSample[]
  /** PromQL values by query: `before`/`baseline` (end of baseline) and `during` (end of injection). */
  readonly promql: { baseline: Map<string, number | null>; during: Map<string, number | null> | null }
  /** Faults the agent counted for the experiment, from the DELETE answers; null when unknown. */
  faultsFromAgent: number | null
  /** Faults each instance last said it injected (start, polls, DELETE), by target: kept when it loses the experiment. */
  readonly lastSeenFaults: Map<string, number>
  /** Metrics reading right after the rollback: later faults mean the fault outlived it. */
  afterRollback: ProbeSample | null
  /** Faults seen after the rollback, by source (the most each showed). */
  readonly afterRollbackEvidence: { metrics?: number; tagged?: number; control?: number }
  /**
   * Built-in measures this run cannot measure, with the reason (preflight: the target does not
   * export the metric). Checks on them are not evaluated, and the experiment is inconclusive.
   */
  readonly unmeasured: Map<MeasureName, string>
  stop: Stop | null
}

/** A probe reading with nothing counted, for when none could be taken. */
export const EMPTY_SAMPLE: ProbeSample = {
  breaker_trips: 0,
  faults_injected: 0,
  breaker_state: null,
  restarted: false,
}

/** A fresh context for one experiment. */
export function createContext(
  scenario: Scenario,
  options: ExperimentOptions,
  deps: ExperimentDeps,
  signal: AbortSignal,
  record: ExperimentRecord,
): ExperimentContext {
  // Each concurrent control call listens to the run's signal: one listener per call in flight.
  setMaxListeners(Math.max(getMaxListeners(signal), listenerBound(options.maxParallel)), signal)
  return {
    scenario,
    options,
    deps,
    signal,
    clock: deps.clock,
    id: options.experimentId,
    record,
    safety: { ...DEFAULT_SAFETY, ...scenario.safety },
    startedMono: deps.clock.monotonic(),
    clients: deps.clients,
    probes: deps.probes,
    reach: reachOf(scenario, deps.clients),
    fleet: new Map(),
    injected: [],
    workload: null,
    marks: {},
    probe: { atStart: EMPTY_SAMPLE, atInject: EMPTY_SAMPLE, atRollback: null, atRecoveryEnd: undefined },
    samples: [],
    promql: { baseline: new Map(), during: null },
    faultsFromAgent: null,
    lastSeenFaults: new Map(),
    afterRollback: null,
    afterRollbackEvidence: {},
    unmeasured: new Map(),
    stop: null,
  }
}

/** The instances a fault reaches among `usable`: all for SERVICE_CLUSTER and ENTIRE_SYSTEM, the first otherwise. */
export function reachOf(scenario: Scenario, usable: readonly ControlClient[]): readonly ControlClient[] {
  const radius = scenario.fault_config.blast_radius
  return radius === 'SERVICE_CLUSTER' || radius === 'ENTIRE_SYSTEM' ? usable : usable.slice(0, 1)
}

/** The state of one instance in `ctx.fleet`, created on first use. */
export function instanceState(ctx: ExperimentContext, target: string): InstanceState {
  let state = ctx.fleet.get(target)
  if (!state) {
    state = { start: 'NOT_SENT', faults: null, calls: null, rollbackVerified: null, rollbackError: null }
    ctx.fleet.set(target, state)
  }
  return state
}

/** Notes what an instance's agent last said of the experiment (its own fault and call counts). */
export function noteView(
  ctx: ExperimentContext,
  target: string,
  view: { faults_injected: number; calls_seen: number },
): void {
  ctx.lastSeenFaults.set(target, view.faults_injected)
  const state = instanceState(ctx, target)
  state.faults = view.faults_injected
  state.calls = view.calls_seen
}

/** Journals a lifecycle event tagged with the experiment. */
export function log(ctx: ExperimentContext, event: string, fields: Record<string, unknown> = {}): void {
  ctx.deps.events.info(event, { experiment_id: ctx.scenario.id, injected_as: ctx.id, ...fields })
}

/** ISO time now. */
export function isoNow(ctx: ExperimentContext): string {
  return new Date(ctx.clock.now()).toISOString()
}

/** Ms since the experiment started. */
export function elapsed(ctx: ExperimentContext): number {
  return ctx.clock.monotonic() - ctx.startedMono
}

/** The checks of one phase of the scenario. */
export function checksIn(ctx: ExperimentContext, phase: ScenarioCheck['phase']): ScenarioCheck[] {
  return ctx.scenario.checks.filter((c) => c.phase === phase)
}

/** Sends a live progress update. */
export function progress(
  ctx: ExperimentContext,
  phase: ExperimentPhase,
  remaining: number | null,
  window?: WorkloadSummary,
  breaker?: BreakerState | null,
  message?: string,
): void {
  ctx.deps.onProgress?.({
    experiment: ctx.scenario.id,
    phase,
    elapsed_ms: elapsed(ctx),
    remaining_ms: remaining,
    rps: window ? window.total_requests / Math.max(window.duration_seconds, 1e-3) : 0,
    error_rate: window?.error_rate ?? 0,
    latency_p95_ms: window && window.total_requests > 0 ? window.latency_ms.p95 : null,
    breaker_state: breaker ?? null,
    message,
  })
}

/** The live window: requests finished over the last `ms`. */
export function recentWindow(ctx: ExperimentContext, ms: number): WorkloadSummary {
  return ctx.workload!.timeline.recent(ctx.clock.monotonic(), ms)
}

/** Every used instance's metrics, concurrently (bounded), in the order of `ctx.clients`; null when unreadable. */
export async function readAll(
  ctx: ExperimentContext,
  signal?: AbortSignal,
): Promise<Array<ProbeSample | null>> {
  const settled = await fanOut(ctx.probes, (p) => p.sample(ctx.id, ctx.scenario.target_service, signal), {
    maxParallel: ctx.options.maxParallel,
  })
  return settled.map((s) => (s.status === 'fulfilled' ? s.value : null))
}

/** One combined reading of every instance's metrics (null if any could not be read). */
export async function sampleAll(ctx: ExperimentContext, signal?: AbortSignal): Promise<ProbeSample | null> {
  return combineSamples(await readAll(ctx, signal))
}

/** Turns whatever ended the phases early into a Stop (abort signal → INTERRUPTED). */
export function toStop(err: unknown, signal: AbortSignal): Stop {
  if (err instanceof Stop) return err
  if (signal.aborted)
    return new Stop('INTERRUPTED', `interrupted (${describeReason(signal.reason)}); rolled back`)
  if (err instanceof UnreachableError) return new Stop('FAILED', err.message)
  if (err instanceof ControlError) return new Stop('FAILED', err.message)
  return new Stop('FAILED', err instanceof Error ? err.message : String(err))
}

function describeReason(reason: unknown): string {
  if (typeof reason === 'string') return reason
  if (reason instanceof Error) return reason.message
  return 'signal'
}
