/**
 * `chaos gameday` (guide section 11, "Continuous Chaos (GameDay)" and "Pre-Deployment Validation"):
 * every category, or the chosen ones, as ONE suite through the same engine as `chaos run`, so the
 * run report is the combined GameDay report (each experiment's metrics, checks and analysis in it).
 * Built for cron and CI: no TTY needed, and an overlapping invocation is refused before anything
 * starts (the run lock of the reports directory).
 */
import { loadConfig } from '../config.js'
import { InvalidInputError } from '../errors.js'
import { resolveRunOptions, type RunOptions } from '../plan.js'
import { assertNoProblems, loadCatalogue, resolveSelection } from '../scenario/catalogue.js'
import type { LoadedScenario } from '../scenario/loader.js'
import { knownCategories } from '../scenario/categories.js'
import { closest } from '../scenario/document.js'
import type { Category, Scenario } from '../scenario/schema.js'
import { includeBuiltin, type Workspace } from '../workspace.js'
import { categoryTable, summarizeByCategory, type CategorySummary } from '../../reports/gameday.js'
import { acquireLock } from '../store/run-lock.js'
import type { RunRecord } from '../record.js'
import type { Output } from './output.js'
import {
  checkReportsDir,
  isAlive,
  performRun,
  refuseMissingWorkloads,
  type PerformRunInput,
} from './perform-run.js'
import type { TargetFlagValues } from './target.js'
import { resultPushHook } from './push-results.js'
import type { ReportFiles } from './report-files.js'
import { runOverrides, type OverrideFlagValues } from './flags.js'
import type { RunResult } from '../engine/run-service.js'

/** The flags `performGameday` reads (the command's parsed flags). */
export interface GamedayFlags extends OverrideFlagValues, TargetFlagValues {
  /** Parsed by the shared `--categories` flag (built-in ones in guide order, then the user's). */
  categories?: readonly Category[]
  /** --builtin / --no-builtin; absent: the config's `catalogue:`. */
  builtin?: boolean
  scenarios?: string[]
  config?: string
  prometheus?: string
  pushgateway?: string
  'keep-going'?: boolean
  quiet?: boolean
  'allow-production'?: boolean
}

/** What a GameDay is about to run. */
export interface GamedayPlan {
  workspace: Workspace
  categories: string[]
  scenarios: Scenario[]
  /** The same scenarios with their files (for the `--dry-run` plan). */
  selected: LoadedScenario[]
  options: RunOptions
}

/** Loads config and catalogue and resolves what the GameDay runs. Throws InvalidInputError (exit 2). */
export async function planGameday(
  flags: GamedayFlags,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<GamedayPlan> {
  const config = await loadConfig({ cwd, env, path: flags.config })
  const builtin = includeBuiltin(flags.builtin, config)
  const catalogue = await loadCatalogue({
    cwd,
    dirs: [...config.scenarioDirs, ...(flags.scenarios ?? [])],
    builtin,
  })
  assertNoProblems(catalogue.problems)
  const options = resolveRunOptions(runOverrides(flags), config.run)
  // Every category by default: the guide's and the user's own (categories are open).
  const known = knownCategories(catalogue.scenarios)
  const categories = flags.categories ? [...flags.categories] : known
  const unknown = categories.filter((c) => !known.includes(c))
  if (unknown.length > 0) {
    const guess = closest(unknown[0]!, known)
    throw new InvalidInputError(
      `--categories: ${unknown.map((c) => `"${c}"`).join(', ')} ${unknown.length === 1 ? 'is not a category' : 'are not categories'}`,
      `${guess ? `did you mean ${guess}? ` : ''}categories: ${known.join(', ')}`,
    )
  }
  const present = categories.filter((c) => catalogue.scenarios.some((s) => s.scenario.category === c))
  if (present.length === 0) {
    throw new InvalidInputError(
      `no scenarios in ${categories.length === 1 ? 'category' : 'categories'} ${categories.join(', ')}`,
      builtin
        ? 'choose other --categories'
        : 'without the built-in catalogue (--no-builtin or catalogue: none), add scenario directories with --scenarios DIR or scenario_dirs in the config',
    )
  }
  const selected = await resolveSelection(catalogue, present, { cwd })
  return {
    workspace: { config, catalogue },
    categories: present,
    scenarios: selected.map((s) => s.scenario),
    selected,
    options,
  }
}

/**
 * Throws SafetyError (exit 3) at once when another run holds the reports directory's lock, before
 * a sandbox is started or anything is injected. The run takes the lock again for itself.
 */
export async function refuseOverlap(reportsDir: string, selection: readonly string[]): Promise<void> {
  const probe = await acquireLock(reportsDir, { pid: process.pid, isAlive, selection })
  await probe.release()
}

/**
 * Runs the planned GameDay as one suite (pushing results when a Pushgateway is configured; its
 * record added to `reportFiles`, the `--junit` / `--markdown` files, however it ends).
 */
export async function performGameday(
  plan: GamedayPlan,
  flags: GamedayFlags,
  out: Output,
  leaseSeconds = 15,
  reportFiles?: ReportFiles,
): Promise<RunResult> {
  const { config } = plan.workspace
  refuseMissingWorkloads(plan.selected, flags, config)
  const onExperimentDone = resultPushHook(flags.pushgateway, config, out)
  await checkReportsDir(config)
  await refuseOverlap(config.reportsDir, plan.categories)
  const input: PerformRunInput = {
    workspace: plan.workspace,
    scenarios: plan.scenarios,
    selection: plan.categories,
    options: plan.options,
    flags,
    leaseSeconds,
    onExperimentDone,
    reportFiles,
  }
  return await performRun(input, out)
}

/** The result of `chaos gameday` (`--json`). */
export interface GamedayResult {
  categories: string[]
  outcome: RunRecord['outcome']
  exit_code: number
  by_category: CategorySummary[]
  /** The combined report's files (also copied to latest.json / latest.txt). */
  report: { json: string; text: string }
  run: RunRecord
}

/** Prints the per-category summary, where the report is, and the verdict; returns the result. */
export function printGameday(plan: GamedayPlan, { record, written }: RunResult, out: Output): GamedayResult {
  const byCategory = summarizeByCategory(record)
  out.line('')
  out.line(categoryTable(byCategory, out.color))
  out.line(`report: ${written.text} (json: ${written.json})`)
  out.line(`GameDay ${record.outcome} (exit ${record.exit_code})`)
  return {
    categories: plan.categories,
    outcome: record.outcome,
    exit_code: record.exit_code,
    by_category: byCategory,
    report: { json: written.json, text: written.text },
    run: record,
  }
}
