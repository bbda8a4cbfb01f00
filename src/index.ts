/**
 * `chaos-playbook`: the runner as a library. Load and validate scenario files, read and render run
 * reports, plan a run, and run scenarios against a target that embeds the agent
 * (`chaos-playbook/agent`). Everything here is public and follows semver; anything not exported
 * here is internal and may change without notice.
 *
 * Data that leaves or enters the runner (scenarios, run records) uses snake_case fields and
 * UPPERCASE enum values, exactly as in the YAML files and the JSON reports.
 *
 * @example
 * ```ts
 * import { loadCatalogue, validateScenario, renderText, parseRecord } from 'chaos-playbook'
 *
 * const { scenarios, problems } = await loadCatalogue({ cwd: process.cwd(), dirs: ['./chaos'] })
 * const checked = validateScenario(yamlText, 'my-scenario.yaml')
 * console.log(renderText(parseRecord(jsonText, 'latest.json')))
 * ```
 *
 * @packageDocumentation
 */
import type { RunDeps, RunInput, RunResult } from './engine/run-service.js'
import { parseScenario, type Problem } from './scenario/loader.js'
import type { Scenario } from './scenario/schema.js'

// ---------------------------------------------------------------------------------------------
// Scenarios: the file format and its parts

export {
  CATEGORIES,
  DEFAULT_SAFETY,
  scenarioJsonSchema,
  type Category,
  type Safety,
  type Scenario,
  type ScenarioCheck,
  type ScenarioInput,
  type Workload,
  type WorkloadRequest,
} from './scenario/schema.js'
export {
  BLAST_RADII,
  FAULT_TYPES,
  MAX_EXPERIMENT_SECONDS,
  type BlastRadius,
  type FaultConfig,
  type FaultConfigInput,
  type FaultType,
  type Pressure,
} from './protocol/schemas.js'
export {
  CHECK_OPERATORS,
  CHECK_PHASES,
  CheckSyntaxError,
  MEASURES,
  parseCheck,
  type Bound,
  type Check,
  type CheckOperator,
  type CheckPhase,
  type Measure,
  type MeasureName,
} from './scenario/checks.js'

// ---------------------------------------------------------------------------------------------
// Loading and validating scenario files

export {
  formatProblem,
  formatProblems,
  loadScenarioFiles,
  type LoadedScenario,
  type LoadResult,
  type Problem,
} from './scenario/loader.js'
export {
  assertNoProblems,
  builtinScenarioDir,
  findScenarioFiles,
  loadCatalogue,
  resolveSelection,
  type Catalogue,
} from './scenario/catalogue.js'

/** What {@link validateScenario} found: the scenario when the text is valid, else every problem. */
export interface ScenarioValidation {
  /** The validated scenario (defaults applied, checks parsed); absent when there is any problem. */
  scenario?: Scenario
  /** Every problem, positioned in the text (`file:line:col field: message`, see {@link formatProblem}). */
  problems: Problem[]
}

/**
 * Validates one scenario given as YAML or JSON text, as `chaos validate` does, without reading
 * any file. `file` is only used to name the source in problems (and, when its parent directory
 * is a category name, to check that the scenario's `category` matches it).
 */
export function validateScenario(text: string, file = 'scenario.yaml'): ScenarioValidation {
  const { scenario, problems } = parseScenario(text, file)
  return scenario ? { scenario, problems } : { problems }
}

// ---------------------------------------------------------------------------------------------
// Run records (the JSON reports) and their rendering

export {
  CHAOS_EVENTS,
  FAILING_FAULT_TYPES,
  RECORD_SCHEMA_VERSION,
  runReportJsonSchema,
  type AnalysisLevel,
  type AnalysisLine,
  type BreakerState,
  type ChaosEvent,
  type ChaosEventName,
  type CheckResult,
  type ExperimentMetrics,
  type ExperimentRecord,
  type ExperimentRecordState,
  type InstanceRecord,
  type LatencyMs,
  type PhaseMetrics,
  type RecordedFaultConfig,
  type RollbackMethod,
  type RollbackRecord,
  type RunOptions as RunRecordOptions,
  type RunOutcome,
  type RunRecord,
  type RunTarget,
  type TimeseriesPhase,
  type TimeseriesPoint,
} from './record.js'
export { parseRecord, serializeRecord } from '../reports/json.js'
export { renderText, type TextReportOptions } from '../reports/text.js'
export { withAnalysis } from './interpretation/rules.js'

// ---------------------------------------------------------------------------------------------
// Planning and running

export {
  buildPlan,
  resolveRunOptions,
  RUN_DEFAULTS,
  type Plan,
  type PlannedCheck,
  type PlannedExperiment,
  type RunOverrides,
  type RunOptions,
  type SafetyLimits,
} from './plan.js'
export { systemClock, type Clock } from './clock.js'
export { ChaosError, InvalidInputError, RuntimeFailure, SafetyError } from './errors.js'
export { ExitCode } from './exit-codes.js'
export type { RunDeps, RunInput, RunResult }

/**
 * Runs scenarios against a target whose control endpoint is served by the chaos agent, and writes
 * the reports to `input.reportsDir`, exactly as `chaos run` does once it has a target: preflight,
 * baseline, inject, observe, rollback (always), recovery, verdict. Resolves with the run record
 * also when a hypothesis failed or the run was aborted (see `record.outcome` / `record.exit_code`);
 * rejects with a {@link ChaosError} when the run cannot start (e.g. another runner holds the lock).
 *
 * Nothing here reads the process: the caller passes the clock, the abort signal, its pid and a
 * liveness test for the run lock (`chaos run` uses `process.kill(pid, 0)`), and starts the target
 * itself (the CLI's built-in sandbox is not part of the library). `input.options` comes from
 * {@link resolveRunOptions}.
 *
 * @experimental The run input and callbacks may still change in a minor release.
 */
export async function run(input: RunInput, deps: RunDeps): Promise<RunResult> {
  // Loaded on first use: the engine (HTTP client, histograms) is not needed to validate or render.
  const { executeRun } = await import('./engine/run-service.js')
  return executeRun(input, deps)
}
