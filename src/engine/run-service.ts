/**
 * The `chaos run` service: wires the engine to a target (clients, probes, workload, PromQL),
 * holds the run lock, journals events, and writes the reports — also for aborted and
 * interrupted runs. The command layer only parses flags and prints.
 */
import type { Clock } from '../clock.js'
import { createJsonLogger, type Logger, type LogFields, type LogLevel } from '../logger.js'
import { createPromqlClient } from '../metrics/promql.js'
import type { RunOptions } from '../plan.js'
import { tagHeaders } from '../protocol/tag.js'
import { createRunId, type DiscoveredInstance, type ExperimentRecord, type RunRecord } from '../record.js'
import type { Scenario, WorkloadRequest } from '../scenario/schema.js'
import { RuntimeFailure } from '../errors.js'
import { fsReason, ReportStore, ReportWriteError, type WrittenRun } from '../store/report-store.js'
import { acquireLock } from '../store/run-lock.js'
import { analyseExperiment } from '../interpretation/rules.js'
import { createControlClient, type ControlClient } from './control-client.js'
import { mergeInstances, normalizeUrl } from './fan-out.js'
import type { FoundInstances } from './phases/context.js'
import type { MetricsProbe } from './probe.js'
import type { Progress } from './experiment.js'
import { checkRoutes } from './route-check.js'
import { createScrapeProbe } from './scrape-probe.js'
import { createMetricsProbes, type MetricsSource } from './metrics-source.js'
import { expandWorkloadDates } from './workload-dates.js'
import { runSuite } from './suite.js'
import { createWorkload } from './workload.js'
import { DEFAULT_WORKLOAD } from '../scenario/workload-source.js'

/** The sandbox's routes: the workload when neither the scenario nor the config names one. */
export { DEFAULT_WORKLOAD } from '../scenario/workload-source.js'

export interface RunInput {
  scenarios: readonly Scenario[]
  selection: string[]
  targets: string[]
  token: string
  /** True when the runner started the built-in sandbox. */
  sandbox: boolean
  options: RunOptions
  keepGoing: boolean
  leaseSeconds: number
  reportsDir: string
  workload?: WorkloadRequest[]
  /**
   * Where all workload goes (e.g. a load balancer in front of the instances); without it the
   * workload is spread round-robin over every target instance, reached by the fault or not.
   */
  workloadUrl?: string
  prometheus?: string
  requestTimeoutMs?: number
  /** Metrics URL per target, same order (default `<target>/metrics`). */
  metricsUrls?: string[]
  /** Control endpoint prefix (default `/chaos`). */
  controlPrefix?: string
  /**
   * Inject into a target whose agent reports environment production (`--allow-production`);
   * without it such a target is refused at preflight (exit 3). Default false.
   */
  allowProduction?: boolean
  /**
   * Discovery (`--discover`): called at the preflight of every experiment; its instances are
   * merged with the static `targets` (which may then be empty): static first, then discovered
   * sorted by url, de-duplicated by url. Each experiment records what it found and skipped.
   */
  discover?: (signal: AbortSignal) => Promise<DiscoveredInstance[]>
  /** The `--discover` specs, for the record (default: the sources the instances found name). */
  discoverSpecs?: string[]
  /** Bound on concurrent control calls and scrapes per fan-out (`--max-parallel`); default 64. */
  maxParallel?: number
  /**
   * Where the fleet's counters come from (`--metrics-source`): each instance's `/metrics` summed
   * (`scrape`, the default), or PromQL over the job (`prometheus`: needs `prometheus`).
   */
  metricsSource?: MetricsSource
  /** The fleet's label matchers for the prometheus source (`--metrics-selector`), e.g. `job="hotel"`. */
  metricsSelector?: string
}

export interface RunDeps {
  clock: Clock
  signal: AbortSignal
  pid: number
  isAlive(pid: number): boolean
  /** Human-facing lines about the run (one per lifecycle event). */
  onEvent?: (level: LogLevel, event: string, fields: LogFields) => void
  onProgress?: (progress: Progress) => void
  onExperimentStart?: (scenario: Scenario, index: number, total: number) => void
  /** After each experiment; awaited (errors are the callee's to report, never the run's). */
  onExperimentDone?: (experiment: ExperimentRecord, runId: string) => Promise<void> | void
  onPause?: (ms: number, next: Scenario) => void
}

export interface RunResult {
  record: RunRecord
  written: WrittenRun
}

/**
 * The run ended (rollback included) but its report could not be written: the error names the file
 * and why, and carries the record so that the caller can still show it (exit 4).
 */
export class ReportNotWrittenError extends RuntimeFailure {
  /** With --json the record travels in the error line, so stdout stays one JSON document. */
  override readonly jsonFields: Readonly<Record<string, unknown>>

  constructor(
    /** The run's record, complete: the only copy. */
    readonly record: RunRecord,
    /** The file (or directory) whose write failed. */
    readonly file: string,
    reason: string,
  ) {
    super(
      `the run ended (${record.outcome}) but its report was not written: ${file}: ${reason}`,
      'the record is printed on stdout; check the reports directory (reports_dir in the config): free space, permissions, not a file',
    )
    this.jsonFields = { record }
  }
}

/** Applies the run's overrides (`--duration`, `--probability`, `--blast-radius`) to a scenario. */
export function applyOverrides(scenario: Scenario, options: RunOptions): Scenario {
  return {
    ...scenario,
    duration_seconds:
      options.durationMs !== undefined ? options.durationMs / 1000 : scenario.duration_seconds,
    fault_config: {
      ...scenario.fault_config,
      probability: options.probability ?? scenario.fault_config.probability,
      blast_radius: options.blastRadius ?? scenario.fault_config.blast_radius,
    },
  }
}

/** Runs the selection against the target and writes the reports. Throws SafetyError if the lock is held. */
export async function executeRun(input: RunInput, deps: RunDeps): Promise<RunResult> {
  const { clock, signal } = deps
  const lock = await acquireLock(input.reportsDir, {
    pid: deps.pid,
    isAlive: (pid) => deps.isAlive(pid),
    selection: input.selection,
    now: () => clock.now(),
  })
  const store = new ReportStore({ dir: input.reportsDir, now: () => clock.now() })
  const runId = createRunId(clock.now())
  // The event journal: events.jsonl in the reports directory, and the caller's live lines.
  const events: Logger = createJsonLogger(
    {
      write: (line: string) => {
        const entry = JSON.parse(line) as { level: LogLevel; event: string } & LogFields
        const { ts, level, event, ...fields } = entry
        void store
          .appendEvent({ ts: ts as string, event, level, run_id: runId, ...fields })
          .catch(() => undefined)
        deps.onEvent?.(level, event, fields)
      },
    },
    { now: () => clock.now(), minLevel: 'info' },
  )
  const clients = input.targets.map((target) =>
    createControlClient({ target, token: input.token, prefix: input.controlPrefix }),
  )
  const probes: Array<ReturnType<typeof createScrapeProbe>> = input.targets.map((target, i) =>
    createScrapeProbe({ target, metricsUrl: input.metricsUrls?.[i], clock }),
  )
  // One client and probe per instance url for the whole run: a static target keeps its own (and
  // its --metrics-url), a discovered one gets <url>/metrics and is reused by later experiments.
  const byUrl = new Map<string, { client: ControlClient; probe: MetricsProbe }>()
  input.targets.forEach((target, i) =>
    byUrl.set(normalizeUrl(target), { client: clients[i]!, probe: probes[i]! }),
  )
  const instanceFor = (url: string) => {
    let known = byUrl.get(url)
    if (!known) {
      const probe = createScrapeProbe({ target: url, clock })
      probes.push(probe)
      known = {
        client: createControlClient({ target: url, token: input.token, prefix: input.controlPrefix }),
        probe,
      }
      byUrl.set(url, known)
    }
    return known
  }
  // With the prometheus source one PromQL probe reads the whole fleet (docs/observability.md).
  const fleet =
    input.metricsSource === 'prometheus'
      ? createMetricsProbes({
          source: 'prometheus',
          targets: input.targets,
          prometheus: input.prometheus,
          selector: input.metricsSelector,
          discover: input.discoverSpecs,
          clock,
        })
      : undefined
  const discover = input.discover
  const findInstances = discover
    ? async (findSignal: AbortSignal): Promise<FoundInstances> => {
        const found = mergeInstances(input.targets, await discover(findSignal))
        const sources = input.discoverSpecs ?? [
          ...new Set(found.filter((f) => f.source !== 'static').map((f) => f.source)),
        ]
        return {
          sources: input.targets.length > 0 ? ['static', ...sources] : sources,
          found,
          clients: found.map((f) => instanceFor(f.url).client),
          probes: found.map((f) => instanceFor(f.url).probe),
        }
      }
    : undefined
  const promql = input.prometheus ? createPromqlClient({ baseUrl: input.prometheus, clock }) : undefined
  const scenarios = input.scenarios.map((s) => applyOverrides(s, input.options))
  const byId = new Map(scenarios.map((s) => [s.id, s]))
  let current: Scenario | undefined
  /** The current experiment's workload: the scenario's, else the config's, else the sandbox's routes. */
  const workloadRequests = () =>
    expandWorkloadDates(current?.workload?.requests ?? input.workload ?? DEFAULT_WORKLOAD, clock.now())
  try {
    const record = await runSuite(
      scenarios,
      {
        runId,
        selection: input.selection,
        target: {
          urls: input.targets,
          sandbox: input.sandbox,
          ...(input.workloadUrl !== undefined && { workload_url: input.workloadUrl }),
          ...(discover && { discover: input.discoverSpecs ?? [] }),
        },
        rate: input.options.rate,
        baselineMs: input.options.baselineMs,
        intervalMs: input.options.intervalMs,
        recoveryTimeoutMs: input.options.recoveryTimeoutMs,
        pauseMs: input.options.pauseMs,
        leaseSeconds: input.leaseSeconds,
        keepGoing: input.keepGoing,
        allowEntireSystem: input.options.allowEntireSystem,
        allowProduction: input.allowProduction ?? false,
        ...(input.maxParallel !== undefined && { maxParallel: input.maxParallel }),
      },
      {
        clients,
        probes,
        ...(findInstances && { findInstances }),
        ...(fleet && { fleetProbe: fleet.probes[0]! }),
        clock,
        events,
        promql: promql ? (query, s) => promql.query(query, { signal: s }) : undefined,
        // The token signs the workload's tag, so only this runner's requests meet SINGLE_REQUEST faults.
        tagHeaders: (id) => tagHeaders(input.token, id),
        createWorkload: (headers, instances) =>
          createWorkload({
            // Every instance the experiment uses, as users behind a balancer would spread (docs/reports.md).
            targets: input.workloadUrl !== undefined ? [input.workloadUrl] : [...instances],
            requests: workloadRequests(),
            rate: input.options.rate,
            timeoutMs: input.requestTimeoutMs ?? 10_000,
            headers,
            clock,
          }),
        // One request per route to where the workload goes first (chaos doctor's check).
        checkRoutes: (checkSignal, instances) =>
          checkRoutes({
            target: input.workloadUrl ?? instances[0]!,
            requests: workloadRequests(),
            signal: checkSignal,
          }),
        analyse: (experiment) => analyseExperiment(experiment),
        onProgress: deps.onProgress,
        onExperimentStart: (scenario, index, total) => {
          current = byId.get(scenario.id)
          deps.onExperimentStart?.(scenario, index, total)
        },
        onExperimentDone: (experiment) => deps.onExperimentDone?.(experiment, runId),
        onPause: deps.onPause,
      },
      signal,
    )
    let written: WrittenRun
    try {
      written = await store.writeRun(record)
    } catch (err) {
      const failed = err instanceof ReportWriteError ? err : null
      throw new ReportNotWrittenError(
        record,
        failed?.file ?? input.reportsDir,
        failed?.reason ?? fsReason(err),
      )
    }
    return { record, written }
  } finally {
    await Promise.all(probes.map((p) => p.close()))
    await fleet?.close()
    await promql?.close()
    // A lock that cannot be released (the directory went away or became read-only) must not replace
    // the run's result or its own error: a warning, and the next run takes the stale lock over.
    await lock.release().catch((err: unknown) => {
      events.warn('chaos_lock_release_failed', { lock: lock.path, error: fsReason(err) })
    })
  }
}
