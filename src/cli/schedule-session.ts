/**
 * `chaos schedule` end to end: the config's `schedules:` run in the foreground against one target
 * (configured, or the built-in sandbox), one run at a time through performRun (same engine, lock
 * and reports as `chaos run`), with optional /metrics; or, with --print-crontab, the crontab
 * lines that do the same from the system cron.
 */
import { resolve } from 'node:path'
import { machineTimeZone } from '../calendar/business-hours.js'
import { systemClock } from '../clock.js'
import { InvalidInputError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import type { RunOptions } from '../plan.js'
import { resolveSelection } from '../scenario/catalogue.js'
import type { Scenario } from '../scenario/schema.js'
import {
  createRegistry,
  createScheduleMetrics,
  serveMetrics,
  type MetricsServer,
} from '../unattended/metrics.js'
import { createSchedule, renderCrontab, runScheduler, type SchedulerResult } from '../unattended/schedule.js'
import type { Workspace } from '../workspace.js'
import { checkEnvironment } from './monkey-session.js'
import type { Output } from './output.js'
import { openTarget, performRun, refuseMissingWorkloads, type RunFlagValues } from './perform-run.js'
import type { LoadedScenario } from '../scenario/files.js'
import { resultPushHook } from './push-results.js'
import type { ReportFiles } from './report-files.js'

const LEASE_SECONDS = 15

export interface ScheduleSessionInput {
  workspace: Workspace
  options: RunOptions
  flags: RunFlagValues
  /** Time zone of cron patterns without their own; default the machine's. */
  timezone?: string
  maxRuns: number | null
  metrics?: { port: number; host: string }
  signal: AbortSignal
  /** `--junit` / `--markdown` files: every run's record is added to them. */
  reportFiles?: ReportFiles
}

export interface ScheduleSummary extends SchedulerResult {
  target: { urls: string[]; sandbox: boolean; environment: string[] }
  schedules: string[]
  exit_code: number
}

/** The error for a config without `schedules:` (exit 2). */
export function noSchedules(workspace: Workspace): InvalidInputError {
  return new InvalidInputError(
    `no schedules: in ${workspace.config.file ?? 'the config (no chaos.config.yaml found)'}`,
    'add schedules: [{ scenario: network_latency, every: 2h }, { category: pms, cron: "0 2 * * *" }] (docs/unattended.md)',
  )
}

/** Runs the configured schedules until the signal (or --max-runs). */
export async function runScheduleSession(input: ScheduleSessionInput, out: Output): Promise<ScheduleSummary> {
  const { workspace, signal } = input
  const { config } = workspace
  const specs = config.schedules ?? []
  if (specs.length === 0) throw noSchedules(workspace)
  // Resolve every selection before starting anything: a typo fails now, not at 2 AM.
  const selected = new Map<string, Scenario[]>()
  const loaded: LoadedScenario[] = []
  for (const spec of specs) {
    const found = await resolveSelection(workspace.catalogue, [spec.selection], { cwd: config.root })
    loaded.push(...found)
    selected.set(
      spec.selection,
      found.map((s) => s.scenario),
    )
  }
  // Every scheduled scenario must say what to send to a target that is not the sandbox: refused now.
  refuseMissingWorkloads(loaded, input.flags, config)
  const timezone = input.timezone ?? machineTimeZone()
  const schedules = specs.map((spec) => ({
    ...createSchedule(spec, timezone),
    experiments: selected.get(spec.selection)!.map((s) => s.id),
  }))
  // --pushgateway (or config): each experiment's results are pushed after it ends, as in chaos run.
  const onExperimentDone = resultPushHook(input.flags.pushgateway, config, out)
  let server: MetricsServer | undefined
  const session = await openTarget(input.flags, config, out, signal)
  try {
    const environments = await checkEnvironment(
      session,
      input.flags['allow-production'] ?? false,
      'chaos schedule',
    )
    const registry = createRegistry()
    const metrics = createScheduleMetrics(registry)
    if (input.metrics) {
      server = await serveMetrics(registry, input.metrics)
      out.line(`metrics: ${server.url}`)
    }
    out.line(out.color.bold('chaos schedule'))
    out.line(`  target:      ${session.targets.join(', ')}${session.sandbox ? ' (built-in sandbox)' : ''}`)
    out.line(`  environment: ${environments.join(', ')}`)
    out.line(`  time zone:   ${timezone}`)
    const result = await runScheduler(schedules, {
      clock: systemClock,
      signal,
      maxRuns: input.maxRuns,
      metrics,
      log: (line) => out.line(`${new Date(systemClock.now()).toISOString()} ${line}`),
      run: async (schedule) => {
        const scenarios = selected.get(schedule.spec.selection)!
        const { record, written } = await performRun(
          {
            workspace,
            scenarios,
            selection: [schedule.spec.selection],
            options: input.options,
            flags: input.flags,
            leaseSeconds: LEASE_SECONDS,
            signal,
            onExperimentDone,
            reportFiles: input.reportFiles,
          },
          out,
          session,
        )
        return {
          outcome: record.outcome,
          exitCode: record.exit_code,
          runId: record.run_id,
          report: written.json,
          experiments: scenarios.map((s) => s.id),
        }
      },
    })
    out.line(
      `schedule session: ${result.runs.length} run${result.runs.length === 1 ? '' : 's'}, stopped by ${result.stopped_by}`,
    )
    return {
      ...result,
      target: { urls: session.targets, sandbox: session.sandbox, environment: environments },
      schedules: schedules.map((s) => s.label),
      exit_code: result.interrupted ? ExitCode.INTERRUPTED : ExitCode.OK,
    }
  } finally {
    await server?.close()
    await session.close()
  }
}

/**
 * The crontab for the configured schedules plus the weekly GameDay; `runArgs` are the run flags
 * each `chaos run` line repeats. No schedules is an input error (exit 2), as for a schedule
 * session: nothing to put in a crontab, and nothing printed that could replace one.
 */
export function crontabFor(
  workspace: Workspace,
  runArgs: readonly string[],
  options: { chaos: string[]; timezone?: string },
): string[] {
  const { config } = workspace
  if ((config.schedules ?? []).length === 0) throw noSchedules(workspace)
  return renderCrontab(config.schedules ?? [], {
    machineTimezone: machineTimeZone(),
    cwd: config.root,
    chaos: options.chaos,
    runArgs: [...runArgs],
    logFile: resolve(config.reportsDir, 'schedule.log'),
    gamedayLogFile: resolve(config.reportsDir, 'gameday.log'),
    ...(options.timezone && { timezone: options.timezone }),
    source: config.file ?? 'no config file (add schedules: to chaos.config.yaml)',
  })
}
