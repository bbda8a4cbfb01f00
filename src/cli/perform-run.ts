/**
 * The process-facing half of `chaos run` (and of monkey, schedule, gameday): picks the target
 * (configured, or the built-in sandbox as a child process), wires signals and the terminal view
 * to the run service, and always stops what it started.
 */
import { systemClock } from '../clock.js'
import type { ChaosConfig } from '../config.js'
import { serializeRecord } from '../../reports/json.js'
import { renderText } from '../../reports/text.js'
import { executeRun, ReportNotWrittenError, type RunResult } from '../engine/run-service.js'
import type { RunOptions } from '../plan.js'
import { InvalidInputError } from '../errors.js'
import type { DiscoveredInstance, ExperimentRecord, RunRecord } from '../record.js'
import type { Scenario } from '../scenario/schema.js'
import { probeReportsDir, ReportWriteError } from '../store/report-store.js'
import type { Workspace } from '../workspace.js'
import type { Output } from './output.js'
import type { ReportFiles } from './report-files.js'
import { createRunView } from './run-view.js'
import { startSandboxProcess } from './sandbox-process.js'
import { abortOnSignals } from './signals.js'
import {
  resolveTarget,
  type DiscoverySettings,
  type ResolvedTarget,
  type TargetFlagValues,
} from './target.js'
import { DEFAULT_MAX_PARALLEL } from '../discovery/spec.js'
import { resolveMetricsSelector, type MetricsSource } from '../metrics/selector.js'
import { builtinScenarioDir } from '../scenario/catalogue.js'
import type { LoadedScenario } from '../scenario/files.js'
import { assertWorkloads } from '../scenario/workload-source.js'

/** The flags a run reads besides its overrides (shared by `chaos run`, schedule and gameday). */
export type RunFlagValues = TargetFlagValues & {
  prometheus?: string
  pushgateway?: string
  /** Where fleet counters come from (docs/observability.md, "Fleet metrics"). */
  'metrics-source'?: string
  'metrics-selector'?: string
  'keep-going'?: boolean
  quiet?: boolean
  /** Inject into a target that reports environment production (else refused at preflight, exit 3). */
  'allow-production'?: boolean
}

export interface PerformRunInput {
  workspace: Workspace
  scenarios: readonly Scenario[]
  selection: string[]
  options: RunOptions
  flags: RunFlagValues
  leaseSeconds: number
  /** An abort signal owned by the caller (long-running modes handle signals themselves). */
  signal?: AbortSignal
  /** Called after each experiment with its final record (e.g. to push it to a Pushgateway). */
  onExperimentDone?: (experiment: ExperimentRecord, runId: string) => Promise<void> | void
  /** `--junit` / `--markdown` files: the run's record is added to them however the run ends. */
  reportFiles?: ReportFiles
}

/** A target for one or more runs: the configured one, or the built-in sandbox started for them. */
export interface TargetSession extends ResolvedTarget {
  sandbox: boolean
  close(): Promise<void>
}

/** Whether a pid is alive (for the run lock's stale-owner check). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Prints a run record whose report could not be written, so the results are not lost: the text
 * report (also with --quiet: it is the only copy). With --json it is the `record` field of the error
 * line instead (ReportNotWrittenError), so stdout stays one JSON document.
 */
export function printUnsavedRecord(record: RunRecord, out: Output): void {
  if (out.json) return
  try {
    if (out.json) out.stdout.write(serializeRecord(record))
    else out.line('\n' + renderText(record, { color: out.color.level > 0 }))
  } catch {
    // A record the renderers refuse (off-schema) is still the run's only copy: print it raw.
    out.stdout.write(JSON.stringify(record, null, 2) + '\n')
  }
}

/**
 * Throws InvalidInputError (exit 2) naming reports_dir when reports cannot be written there (a file,
 * a file as a parent, no permission): a configuration error, found before anything is started.
 */
export async function checkReportsDir(config: ChaosConfig): Promise<void> {
  try {
    await probeReportsDir(config.reportsDir)
  } catch (err) {
    if (!(err instanceof ReportWriteError)) throw err
    throw new InvalidInputError(
      `reports_dir ${err.file}: ${err.reason}`,
      `point reports_dir in ${config.file ?? 'chaos.config.yaml'} at a writable directory (default .playbook/chaos_reports), or move what is in the way`,
    )
  }
}

/**
 * Refuses (exit 2) before anything starts when the target is not the built-in sandbox and a
 * selected scenario of the user's names no workload (it would send the sandbox's hotel routes):
 * every such scenario at once. Run, gameday, monkey and schedule call it once the selection is known.
 */
export function refuseMissingWorkloads(
  scenarios: readonly LoadedScenario[],
  flags: TargetFlagValues,
  config: ChaosConfig,
): void {
  // No configured target means the run starts the built-in sandbox, which answers the hotel routes.
  const target = resolveTarget(flags, config)
  assertWorkloads(scenarios, config, {
    sandbox: target === undefined,
    builtinDir: builtinScenarioDir(),
    target: target ? describeTarget(target) : 'the built-in sandbox',
  })
}

/**
 * The run service's discovery callback: asks every source again each time (before each experiment).
 * src/discovery/discover.ts is loaded on first use only, so a run without --discover never loads it.
 */
function discoverer(settings: DiscoverySettings): (signal: AbortSignal) => Promise<DiscoveredInstance[]> {
  return async (signal) => {
    const { discoverInstances } = await import('../discovery/discover.js')
    return discoverInstances(settings.specs, {
      instanceUrl: settings.instanceUrl,
      signal,
      ...(settings.prometheusUrl !== undefined && { prometheusUrl: settings.prometheusUrl }),
      ...(settings.dnsServers !== undefined && { dnsServers: settings.dnsServers }),
    })
  }
}

/**
 * `--metrics-source` and the fleet's selector, checked before anything starts (usage errors, exit 2):
 * the prometheus source needs `--prometheus` and label matchers (given, or implied by a
 * `--discover prometheus:` spec).
 */
function fleetMetrics(
  flags: RunFlagValues,
  config: ChaosConfig,
  target: ResolvedTarget,
): { metricsSource?: MetricsSource; metricsSelector?: string } {
  const source = (flags['metrics-source'] ?? config.metricsSource ?? 'scrape') as MetricsSource
  if (source !== 'prometheus') return {}
  if ((flags.prometheus ?? config.prometheus) === undefined)
    throw new InvalidInputError(
      '--metrics-source prometheus needs --prometheus URL',
      'e.g. --prometheus http://127.0.0.1:9090 (config prometheus:)',
    )
  const specs = target.discovery?.specs.map((s) => s.text) ?? []
  return {
    metricsSource: source,
    metricsSelector: resolveMetricsSelector(flags['metrics-selector'] ?? config.metricsSelector, specs),
  }
}

/** The configured instances in words: the static URLs and the discovery specs. */
function describeTarget(target: ResolvedTarget): string {
  return [...target.targets, ...(target.discovery?.specs.map((s) => `--discover ${s.text}`) ?? [])].join(', ')
}

/**
 * Resolves the configured target (static instances and/or discovery: with discovery configured the
 * sandbox is never started, even before anything is found) or, when none is configured, starts the sandbox (one line says
 * so). First checks the reports directory ({@link checkReportsDir}): a run that could not keep its
 * results must not start a sandbox or inject anything. `signal` (Ctrl-C) during the sandbox's start-up
 * stops it and rejects with exit 130.
 */
export async function openTarget(
  flags: TargetFlagValues & { quiet?: boolean },
  config: ChaosConfig,
  out: Output,
  signal?: AbortSignal,
): Promise<TargetSession> {
  await checkReportsDir(config)
  const target = resolveTarget(flags, config)
  if (target) return { ...target, sandbox: false, close: async () => {} }
  const sandbox = await startSandboxProcess({ signal })
  if (!flags.quiet) {
    // Within 80 columns; the README says the sandbox is stopped afterwards.
    out.line(`no target configured: started the built-in sandbox at ${sandbox.url}`)
  }
  return {
    targets: [sandbox.url],
    token: sandbox.token,
    sandbox: true,
    maxParallel: DEFAULT_MAX_PARALLEL,
    close: () => sandbox.stop(),
  }
}

/**
 * Runs a selection with a live view and signal handling. Uses `session` when given (monkey and
 * schedule keep one target for many runs); otherwise opens one and closes it afterwards.
 */
export async function performRun(
  input: PerformRunInput,
  out: Output,
  session?: TargetSession,
): Promise<RunResult> {
  const { config } = input.workspace
  const view = createRunView(out, { quiet: input.flags.quiet ?? false, clock: systemClock })
  const signals = input.signal
    ? { signal: input.signal, dispose: () => {} }
    : abortOnSignals((text) => view.notice(text))
  let owned: TargetSession | undefined
  try {
    const target = session ?? (owned = await openTarget(input.flags, config, out, signals.signal))
    const metrics = fleetMetrics(input.flags, config, target)
    const result = await executeRun(
      {
        scenarios: input.scenarios,
        selection: input.selection,
        targets: target.targets,
        token: target.token,
        sandbox: target.sandbox,
        options: input.options,
        keepGoing: input.flags['keep-going'] ?? false,
        leaseSeconds: input.leaseSeconds,
        reportsDir: config.reportsDir,
        workload: config.workload?.requests,
        workloadUrl: input.flags['workload-url'] ?? config.workloadUrl,
        prometheus: input.flags.prometheus ?? config.prometheus,
        metricsUrls: target.metricsUrls,
        controlPrefix: target.controlPrefix,
        allowProduction: input.flags['allow-production'] ?? false,
        maxParallel: target.maxParallel,
        ...metrics,
        ...(target.discovery && {
          discover: discoverer(target.discovery),
          discoverSpecs: target.discovery.specs.map((s) => s.text),
        }),
      },
      {
        clock: systemClock,
        signal: signals.signal,
        pid: process.pid,
        isAlive,
        onEvent: (level, event, fields) => view.onEvent(level, event, fields),
        onProgress: (p) => view.onProgress(p),
        onExperimentStart: (s, i, n) => view.onExperimentStart(s, i, n),
        onExperimentDone: (e, runId) => {
          view.onExperimentDone(e)
          return input.onExperimentDone?.(e, runId)
        },
        onPause: (ms, next) => view.onPause(ms, next),
      },
    )
    await input.reportFiles?.add(result.record)
    return result
  } catch (err) {
    if (err instanceof ReportNotWrittenError) {
      view.close()
      printUnsavedRecord(err.record, out)
      await input.reportFiles?.add(err.record)
    }
    throw err
  } finally {
    view.close()
    await owned?.close()
    signals.dispose()
  }
}
