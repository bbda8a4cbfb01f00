/**
 * The run plan: what `chaos run` will do, experiment by experiment, before it does anything.
 * `--dry-run` prints it; a real run (later) executes it. Built from validated scenarios plus the
 * overrides of the command line and the config file (flags > config > built-in defaults).
 */
import { InvalidInputError } from './errors.js'
import {
  ENVELOPE_FIELDS,
  MAX_EXPERIMENT_SECONDS,
  type BlastRadius,
  type FaultType,
} from './protocol/schemas.js'
import type { LoadedScenario } from './scenario/loader.js'
import type { CheckPhase } from './scenario/checks.js'
import { DEFAULT_SAFETY, type Workload } from './scenario/schema.js'
import {
  isBuiltinFile,
  MISSING_WORKLOAD_WARNING,
  workloadFor,
  type WorkloadSource,
} from './scenario/workload-source.js'

/** Built-in defaults of a run (guide section 6 for the pause). */
export const RUN_DEFAULTS = {
  baselineMs: 10_000,
  pauseMs: 30_000,
  intervalMs: 1_000,
  recoveryTimeoutMs: 120_000,
  rate: 20,
} as const

/**
 * `--quick`: a short smoke run, for a first verdict in about a minute against the sandbox. The
 * injections stay longer than the sandbox breaker's 5 s sampling window, so the breaker scenarios
 * can still trip it (at 5 s, pms_api_failure failed now and then). Sits
 * between explicit flags and the config; the guide's durations stay the defaults everywhere else,
 * since a real target needs real baselines and injections to say anything.
 */
export const QUICK_PROFILE = { baselineMs: 2_000, durationMs: 8_000, pauseMs: 1_000 } as const

/** Validated overrides and settings of a run, in milliseconds. */
export interface RunOptions {
  durationMs?: number
  probability?: number
  blastRadius?: BlastRadius
  baselineMs: number
  pauseMs: number
  intervalMs: number
  recoveryTimeoutMs: number
  rate: number
  allowEntireSystem: boolean
  /** The `--quick` profile was asked for. */
  quick?: boolean
}

/** Overrides from the command line (parsed and checked by the shared flags, src/cli/flags.ts). */
export interface RunOverrides {
  durationMs?: number
  probability?: number
  blastRadius?: BlastRadius
  baselineMs?: number
  pauseMs?: number
  intervalMs?: number
  recoveryTimeoutMs?: number
  rate?: number
  allowEntireSystem?: boolean
  /** `--quick`: QUICK_PROFILE under the explicit overrides, over the config. */
  quick?: boolean
}

export interface ConfigRunDefaults {
  rate?: number
  baselineMs?: number
  intervalMs?: number
  pauseMs?: number
  recoveryTimeoutMs?: number
  durationMs?: number
}

/** Merges the command-line overrides over the config defaults over the built-in defaults. */
export function resolveRunOptions(overrides: RunOverrides, config: ConfigRunDefaults = {}): RunOptions {
  const quick: Partial<typeof QUICK_PROFILE> = overrides.quick ? QUICK_PROFILE : {}
  const options: RunOptions = {
    baselineMs: overrides.baselineMs ?? quick.baselineMs ?? config.baselineMs ?? RUN_DEFAULTS.baselineMs,
    pauseMs: overrides.pauseMs ?? quick.pauseMs ?? config.pauseMs ?? RUN_DEFAULTS.pauseMs,
    intervalMs: overrides.intervalMs ?? config.intervalMs ?? RUN_DEFAULTS.intervalMs,
    recoveryTimeoutMs:
      overrides.recoveryTimeoutMs ?? config.recoveryTimeoutMs ?? RUN_DEFAULTS.recoveryTimeoutMs,
    rate: overrides.rate ?? config.rate ?? RUN_DEFAULTS.rate,
    allowEntireSystem: overrides.allowEntireSystem ?? false,
  }
  if (overrides.quick) options.quick = true
  const durationMs = overrides.durationMs ?? quick.durationMs ?? config.durationMs
  if (durationMs !== undefined) {
    if (durationMs > MAX_EXPERIMENT_SECONDS * 1000) {
      throw new InvalidInputError(
        `${overrides.durationMs !== undefined ? '--duration' : 'config run.duration'}: ${durationMs / 1000}s is longer than 30 minutes`,
        'experiments last 30 minutes at most (guide section 7)',
      )
    }
    options.durationMs = durationMs
  }
  if (overrides.probability !== undefined) options.probability = overrides.probability
  if (overrides.blastRadius !== undefined) options.blastRadius = overrides.blastRadius
  return options
}

/** Safety limits in force for an experiment (guide section 7, tightened by the scenario's `safety`). */
export interface SafetyLimits {
  /** Abort when the error rate over a poll window is above this. */
  max_error_rate: number
  /** Abort when availability over a poll window is below this. */
  min_availability: number
  /** No experiment runs longer than this. */
  max_duration_seconds: number
  /** Refuse to start while another experiment is active on the target. */
  one_experiment_at_a_time: true
}

export interface PlannedCheck {
  name: string
  expression: string
  phase: CheckPhase
}

export interface PlannedExperiment {
  /** 1-based position in the run. */
  position: number
  id: string
  name: string
  category: string
  file: string
  target_service: string
  steady_state_hypothesis: string
  enabled: boolean
  fault: { type: FaultType; params: Record<string, unknown> }
  probability: number
  blast_radius: BlastRadius
  duration_seconds: number
  checks: PlannedCheck[]
  safety: SafetyLimits
  /** Fields changed by flags or config (`duration_seconds`, `probability`, `blast_radius`). */
  overridden: string[]
  /** Baseline plus injection; 0 when the scenario is disabled. */
  expected_seconds: number
  /** The requests the workload sends and where they come from (scenario, config, or the sandbox's routes). */
  workload: PlannedWorkload
  warnings: string[]
}

/** The workload of a planned experiment. */
export interface PlannedWorkload {
  /** `SCENARIO`, `CONFIG`, or `DEFAULT` (the built-in sandbox's hotel routes). */
  source: WorkloadSource
  requests: { method: string; path: string; weight: number }[]
}

/** What the plan needs to know about the workload: the config's, and whether the target is the sandbox. */
export interface PlanWorkloadContext {
  /** The config file's `workload:`. */
  config?: Workload
  /** True when the run will start the built-in sandbox (no target configured). */
  sandbox: boolean
  /** The built-in catalogue directory (its scenarios may keep the hotel routes). */
  builtinDir: string
}

/** The whole dry-run plan (`chaos run ... --dry-run --json` prints exactly this). */
export interface Plan {
  dry_run: true
  selection: string[]
  experiments: PlannedExperiment[]
  baseline_seconds: number
  pause_seconds: number
  interval_seconds: number
  recovery_timeout_seconds: number
  rate_rps: number
  /** The guide's limits, before any scenario tightens them. */
  safety: SafetyLimits
  /** Baselines, injections and pauses of the enabled experiments. */
  total_expected_seconds: number
  /** The same plus every recovery wait running to its timeout. */
  max_total_seconds: number
  /** `--quick`: the short profile's baselines, injections and pauses (QUICK_PROFILE). */
  quick: boolean
}

const ENVELOPE = new Set(ENVELOPE_FIELDS)

/** Builds the plan for `scenarios` (already resolved and ordered) under `options`. */
export function buildPlan(
  scenarios: readonly LoadedScenario[],
  selection: readonly string[],
  options: RunOptions,
  context?: PlanWorkloadContext,
): Plan {
  const baselineSeconds = options.baselineMs / 1000
  const experiments = scenarios.map(({ scenario, display, file }, i): PlannedExperiment => {
    const fault = scenario.fault_config
    const overridden: string[] = []
    const duration = options.durationMs !== undefined ? options.durationMs / 1000 : scenario.duration_seconds
    if (duration !== scenario.duration_seconds) overridden.push('duration_seconds')
    const probability = options.probability ?? fault.probability
    if (probability !== fault.probability) overridden.push('probability')
    const blastRadius = options.blastRadius ?? fault.blast_radius
    if (blastRadius !== fault.blast_radius) overridden.push('blast_radius')
    const params = Object.fromEntries(Object.entries(fault).filter(([key]) => !ENVELOPE.has(key)))
    const warnings: string[] = []
    if (!fault.enabled) warnings.push('disabled (enabled: false): nothing is injected; skipped')
    const workload = workloadFor(scenario, { workload: context?.config })
    // The same rule as the run's refusal (src/scenario/workload-source.ts), shown before it bites.
    if (
      context &&
      !context.sandbox &&
      workload.source === 'DEFAULT' &&
      !isBuiltinFile(file, context.builtinDir)
    ) {
      warnings.push(MISSING_WORKLOAD_WARNING)
    }
    if (blastRadius === 'ENTIRE_SYSTEM' && !options.allowEntireSystem) {
      warnings.push(
        'ENTIRE_SYSTEM blast radius: a real target needs --allow-entire-system (the sandbox allows it)',
      )
    }
    return {
      position: i + 1,
      id: scenario.id,
      name: scenario.name,
      category: scenario.category,
      file: display,
      target_service: scenario.target_service,
      steady_state_hypothesis: scenario.steady_state_hypothesis,
      enabled: fault.enabled,
      fault: { type: fault.fault_type, params },
      probability,
      blast_radius: blastRadius,
      duration_seconds: duration,
      checks: scenario.checks.map((c) => ({ name: c.name, expression: c.expression, phase: c.phase })),
      safety: {
        max_error_rate: scenario.safety?.max_error_rate ?? DEFAULT_SAFETY.max_error_rate,
        min_availability: scenario.safety?.min_availability ?? DEFAULT_SAFETY.min_availability,
        max_duration_seconds: MAX_EXPERIMENT_SECONDS,
        one_experiment_at_a_time: true,
      },
      overridden,
      expected_seconds: fault.enabled ? baselineSeconds + duration : 0,
      workload: {
        source: workload.source,
        requests: workload.requests.map((r) => ({
          method: r.method ?? 'GET',
          path: r.path,
          weight: r.weight ?? 1,
        })),
      },
      warnings,
    }
  })
  const enabled = experiments.filter((e) => e.enabled)
  const pauses = Math.max(0, enabled.length - 1) * (options.pauseMs / 1000)
  const total = enabled.reduce((sum, e) => sum + e.expected_seconds, 0) + pauses
  return {
    dry_run: true,
    selection: [...selection],
    experiments,
    baseline_seconds: baselineSeconds,
    pause_seconds: options.pauseMs / 1000,
    interval_seconds: options.intervalMs / 1000,
    recovery_timeout_seconds: options.recoveryTimeoutMs / 1000,
    rate_rps: options.rate,
    safety: {
      max_error_rate: DEFAULT_SAFETY.max_error_rate,
      min_availability: DEFAULT_SAFETY.min_availability,
      max_duration_seconds: MAX_EXPERIMENT_SECONDS,
      one_experiment_at_a_time: true,
    },
    total_expected_seconds: total,
    max_total_seconds: total + enabled.length * (options.recoveryTimeoutMs / 1000),
    quick: options.quick ?? false,
  }
}
