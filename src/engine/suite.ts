/**
 * A suite: several experiments in order with a pause between them, producing one run record.
 * Stops at the first safety abort or runtime failure unless `keepGoing`; an abort signal ends
 * the suite after the current experiment has rolled back.
 */
import { sleep, type Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { AnalysisLine, ExperimentRecord, RunOutcome, RunRecord, RunTarget } from '../record.js'
import { RECORD_SCHEMA_VERSION } from '../record.js'
import type { Scenario } from '../scenario/schema.js'
import { ExitCode } from '../exit-codes.js'
import { normalizeUrl } from './fan-out.js'
import { blankRecord, runExperiment, type ExperimentDeps, type ExperimentOptions } from './experiment.js'

export interface SuiteOptions {
  runId: string
  selection: string[]
  target: RunTarget
  rate: number
  baselineMs: number
  intervalMs: number
  recoveryTimeoutMs: number
  pauseMs: number
  leaseSeconds: number
  keepGoing: boolean
  allowEntireSystem: boolean
  /** Inject into a target that reports environment production (`--allow-production`); default false. */
  allowProduction?: boolean
  /** Bound on concurrent control calls per fan-out (`--max-parallel`); default 64. */
  maxParallel?: number
}

export interface SuiteDeps extends Omit<ExperimentDeps, 'events'> {
  events: Logger
  /** Interpretation of one experiment's results (src/interpretation/rules.ts). */
  analyse?: (experiment: ExperimentRecord) => AnalysisLine[]
  onExperimentStart?: (scenario: Scenario, index: number, total: number) => void
  onExperimentDone?: (experiment: ExperimentRecord) => Promise<void> | void
  onPause?: (ms: number, next: Scenario) => void
}

/** Runs the scenarios in order and returns the run record (never throws for expected failures). */
export async function runSuite(
  scenarios: readonly Scenario[],
  options: SuiteOptions,
  deps: SuiteDeps,
  signal: AbortSignal,
): Promise<RunRecord> {
  const clock: Clock = deps.clock
  const startedAt = new Date(clock.now()).toISOString()
  const experiments: ExperimentRecord[] = []
  let stopRest: string | null = null
  // What each instance's agent said its environment was, from the preflights (the latest wins);
  // with discovery, also every instance some experiment used (the run's target.urls).
  const environment = new Map<string, string | null>()
  let environmentRead = false
  const experimentDeps: ExperimentDeps = {
    ...deps,
    onEnvironment: (read) => {
      for (const { url, environment: e } of read) environment.set(url, e)
      environmentRead = true
    },
  }
  for (const [index, scenario] of scenarios.entries()) {
    if (signal.aborted || stopRest) {
      experiments.push(skipped(scenario, signal.aborted ? 'suite interrupted' : stopRest!))
      continue
    }
    if (index > 0 && options.pauseMs > 0) {
      deps.onPause?.(options.pauseMs, scenario)
      await sleep(options.pauseMs, signal, clock).catch(() => undefined)
      if (signal.aborted) {
        experiments.push(skipped(scenario, 'suite interrupted'))
        continue
      }
    }
    deps.onExperimentStart?.(scenario, index, scenarios.length)
    const experimentOptions: ExperimentOptions = {
      experimentId: `${scenario.id}.${options.runId.toLowerCase()}`.slice(0, 128),
      baselineMs: options.baselineMs,
      intervalMs: options.intervalMs,
      recoveryTimeoutMs: options.recoveryTimeoutMs,
      leaseSeconds: options.leaseSeconds,
      allowEntireSystem: options.allowEntireSystem,
      sandbox: options.target.sandbox,
      allowProduction: options.allowProduction ?? false,
      ...(options.maxParallel !== undefined && { maxParallel: options.maxParallel }),
    }
    const record = await runExperiment(scenario, experimentOptions, experimentDeps, signal)
    record.analysis = deps.analyse?.(record) ?? []
    experiments.push(record)
    try {
      await deps.onExperimentDone?.(record)
    } catch (err) {
      // A reporting hook (e.g. a Pushgateway push) never fails or hides the experiment's result.
      deps.events.warn('chaos_experiment_hook_failed', {
        experiment_id: record.id,
        error: (err as Error).message,
      })
    }
    if ((record.state === 'ABORTED' || record.state === 'FAILED') && !options.keepGoing) {
      stopRest = `suite stopped after ${scenario.id} was ${record.state.toLowerCase()} (use --keep-going to continue)`
    }
  }
  const { outcome, exitCode } = verdict(experiments, signal.aborted)
  return {
    schema_version: RECORD_SCHEMA_VERSION,
    run_id: options.runId,
    started_at: startedAt,
    finished_at: new Date(clock.now()).toISOString(),
    partial:
      outcome === 'ABORTED' || outcome === 'INTERRUPTED' || experiments.some((e) => e.state === 'SKIPPED'),
    selection: options.selection,
    target: runTarget(options.target, environment, environmentRead),
    outcome,
    exit_code: exitCode,
    options: {
      rate: options.rate,
      baseline_seconds: options.baselineMs / 1000,
      interval_seconds: options.intervalMs / 1000,
      recovery_timeout_seconds: options.recoveryTimeoutMs / 1000,
      pause_seconds: options.pauseMs / 1000,
    },
    experiments,
  }
}

/**
 * Outcome and exit code of a run: interrupted > runtime error > safety abort > failed check >
 * inconclusive (a completed experiment whose hypothesis was not decided: a check not evaluated, or
 * no fault injected) > passed.
 */
export function verdict(
  experiments: readonly ExperimentRecord[],
  interrupted: boolean,
): { outcome: RunOutcome; exitCode: number } {
  if (interrupted || experiments.some((e) => e.state === 'INTERRUPTED'))
    return { outcome: 'INTERRUPTED', exitCode: ExitCode.INTERRUPTED }
  if (experiments.some((e) => e.state === 'FAILED')) return { outcome: 'ERROR', exitCode: ExitCode.RUNTIME }
  if (experiments.some((e) => e.state === 'ABORTED')) return { outcome: 'ABORTED', exitCode: ExitCode.SAFETY }
  if (experiments.some((e) => e.hypothesis_held === false))
    return { outcome: 'FAILED', exitCode: ExitCode.CHECK_FAILED }
  if (experiments.some((e) => e.state === 'COMPLETED' && e.hypothesis_held === null))
    return { outcome: 'INCONCLUSIVE', exitCode: ExitCode.INCONCLUSIVE }
  return { outcome: 'PASSED', exitCode: ExitCode.OK }
}

/**
 * The run's target: the static urls as given, then every other instance an experiment read at
 * preflight (discovered ones), sorted; the environment each reported, in that order. A run with
 * discovery only that found nothing keeps `urls` non-empty with its discovery specs (`discover`).
 */
function runTarget(
  target: RunTarget,
  environment: ReadonlyMap<string, string | null>,
  read: boolean,
): RunTarget {
  const statics = new Set(target.urls.map(normalizeUrl))
  const others = [...environment.keys()].filter((u) => !statics.has(u)).sort()
  let urls = [...target.urls, ...others]
  if (urls.length === 0) urls = target.discover?.length ? [...target.discover] : ['(no instance found)']
  if (!read) return { ...target, urls }
  return { ...target, urls, environment: urls.map((u) => environment.get(normalizeUrl(u)) ?? null) }
}

function skipped(scenario: Scenario, reason: string): ExperimentRecord {
  return { ...blankRecord(scenario, 'SKIPPED'), abort_reason: reason }
}
