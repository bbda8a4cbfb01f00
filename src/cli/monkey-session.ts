/**
 * `chaos monkey` end to end: one target for the whole session (the configured one, or the
 * built-in sandbox as a child), the production guard, the banner, the loop wired to the real
 * engine through performRun (same preflight, safety limits, rollback, lock and reports as `chaos
 * run`), the optional /metrics server, and the session summary written on the way out.
 */
import { describeBusinessHours, formatClockTime } from '../calendar/business-hours.js'
import { systemClock } from '../clock.js'
import { formatDuration } from '../duration.js'
import { createControlClient } from '../engine/control-client.js'
import { applyOverrides } from '../engine/run-service.js'
import { InvalidInputError, RuntimeFailure, SafetyError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import type { RunOptions } from '../plan.js'
import { normalizeEnvironment, PRODUCTION } from '../protocol/schemas.js'
import { selectEligible, type Exclusion } from '../unattended/eligibility.js'
import {
  createMonkeyMetrics,
  createRegistry,
  serveMetrics,
  type MetricsServer,
} from '../unattended/metrics.js'
import { describeInjection, runMonkey, type MonkeySessionResult } from '../unattended/monkey.js'
import { mulberry32 } from '../unattended/random.js'
import type { ResolvedMonkey } from '../unattended/settings.js'
import { MonkeyStateFile, writeSessionSummary } from '../unattended/state.js'
import type { Workspace } from '../workspace.js'
import type { Output } from './output.js'
import { openTarget, performRun, refuseMissingWorkloads, type TargetSession } from './perform-run.js'
import type { TargetFlagValues } from './target.js'
import { resultPushHook } from './push-results.js'
import type { ReportFiles } from './report-files.js'

/** Lease of each monkey experiment on the agent (as `chaos run`'s default). */
const LEASE_SECONDS = 15

export interface MonkeySessionInput {
  workspace: Workspace
  resolved: ResolvedMonkey
  options: RunOptions
  flags: TargetFlagValues & { prometheus?: string; pushgateway?: string; quiet?: boolean }
  allowProduction: boolean
  metrics?: { port: number; host: string }
  signal: AbortSignal
  /** `--junit` / `--markdown` files: every run's record is added to them. */
  reportFiles?: ReportFiles
}

/** The JSON session summary (`<reports_dir>/monkey/monkey-<timestamp>.json`). */
export interface MonkeySummary extends MonkeySessionResult {
  schema_version: 1
  dry_run: boolean
  seed: number
  target: { urls: string[]; sandbox: boolean; environment: string[] }
  settings: Record<string, unknown>
  eligible_scenarios: string[]
  excluded_scenarios: Exclusion[]
  exit_code: number
  summary_file: string
}

/**
 * The environment each target's agent reports (GET /chaos); refuses production unless allowed. Not
 * tied to the session's abort signal: a Ctrl-C this early must stop the session, not fail it.
 */
export async function checkEnvironment(
  session: TargetSession,
  allowProduction: boolean,
  who = 'the chaos monkey',
): Promise<string[]> {
  const environments: string[] = []
  for (const target of session.targets) {
    let environment: string
    try {
      // Normalised as the engine's preflight does: "Production" or "prod" is production too.
      environment =
        normalizeEnvironment(
          (await createControlClient({ target, token: session.token, prefix: session.controlPrefix }).info())
            .environment,
        ) ?? 'unknown'
    } catch (err) {
      throw new RuntimeFailure(
        `cannot read the chaos agent at ${target}: ${(err as Error).message}`,
        'check --target and --token, and that the service mounts the chaos agent',
      )
    }
    if (environment === PRODUCTION && !allowProduction) {
      throw new SafetyError(
        `${target} reports environment "production": ${who} runs only in non-production environments`,
        'guide section 6: "USE WITH EXTREME CAUTION - ONLY IN NON-PROD ENVIRONMENTS"; pass --allow-production to override deliberately',
      )
    }
    environments.push(environment)
  }
  return environments
}

/** Runs a monkey session and writes its summary. Throws for bad input, refusal or an unreachable target. */
export async function runMonkeySession(input: MonkeySessionInput, out: Output): Promise<MonkeySummary> {
  const { workspace, resolved, signal } = input
  const { settings, criteria, seed } = resolved
  const { config } = workspace
  // With the run's overrides applied, the banner and the picks show what will really be injected.
  const { eligible, excluded } = selectEligible(
    workspace.catalogue.scenarios.map((s) => applyOverrides(s.scenario, input.options)),
    criteria,
  )
  if (eligible.length === 0) {
    throw new InvalidInputError(
      `no eligible scenario for the monkey (${excluded.length} in scope, all excluded${excluded[0] ? `; e.g. ${excluded[0].id}: ${excluded[0].reason}` : ''})`,
      'widen --categories / --ids, or raise --max-blast-radius',
    )
  }
  // Every scenario the monkey may pick must say what to send to a target that is not the sandbox.
  const eligibleIds = new Set(eligible.map((s) => s.id))
  refuseMissingWorkloads(
    workspace.catalogue.scenarios.filter((s) => eligibleIds.has(s.scenario.id)),
    input.flags,
    config,
  )
  // --pushgateway (or config): each experiment's results are pushed after it ends, as in chaos run.
  const onExperimentDone = resultPushHook(input.flags.pushgateway, config, out)
  let server: MetricsServer | undefined
  const session = await openTarget(input.flags, config, out, signal)
  try {
    const environments = await checkEnvironment(session, input.allowProduction)
    const registry = createRegistry()
    const metrics = createMonkeyMetrics(registry)
    if (input.metrics) {
      server = await serveMetrics(registry, input.metrics)
      out.line(`metrics: ${server.url}`)
    }
    const c = out.color
    out.line(c.bold(`chaos monkey${settings.dryRun ? ' (dry-run: nothing will be injected)' : ''}`))
    out.line(
      `  target:             ${session.targets.join(', ')}${session.sandbox ? ' (built-in sandbox)' : ''}`,
    )
    out.line(`  environment:        ${environments.join(', ')}`)
    out.line(
      `  blast radius limit: ${criteria.maxBlastRadius}${criteria.allowEntireSystem ? ' (ENTIRE_SYSTEM allowed)' : ''}`,
    )
    out.line(
      `  probability:        ${settings.probability} every ${formatDuration(settings.intervalMs)}, seed ${seed}`,
    )
    out.line(
      `  business hours:     ${settings.businessHours ? `${describeBusinessHours(settings.businessHours)} ${settings.timezone}` : 'any time'}`,
    )
    out.line(`  min gap:            ${settings.minGapMs > 0 ? formatDuration(settings.minGapMs) : 'none'}`)
    out.line(
      `  eligible (${eligible.length}):${eligible.map((s) => `\n    ${describeInjection(s)}`).join('')}`,
    )
    if (excluded.length > 0)
      out.line(
        `  excluded (${excluded.length}):${excluded.map((e) => `\n    ${e.id}: ${e.reason}`).join('')}`,
      )

    const result = await runMonkey(settings, {
      clock: systemClock,
      random: mulberry32(seed),
      signal,
      pool: eligible,
      state: new MonkeyStateFile(config.reportsDir),
      log: (line) => out.line(`${new Date(systemClock.now()).toISOString()} ${line}`),
      metrics,
      run: async (scenario) => {
        const { record, written } = await performRun(
          {
            workspace,
            scenarios: [scenario],
            selection: [scenario.id],
            options: input.options,
            flags: { ...input.flags, 'allow-production': input.allowProduction },
            leaseSeconds: LEASE_SECONDS,
            signal,
            onExperimentDone,
            reportFiles: input.reportFiles,
          },
          out,
          session,
        )
        out.line(`${scenario.id}: ${record.outcome} (exit ${record.exit_code}) · report: ${written.text}`)
        return {
          outcome: record.outcome,
          exitCode: record.exit_code,
          runId: record.run_id,
          report: written.json,
        }
      },
    })
    const summary: Omit<MonkeySummary, 'summary_file'> = {
      schema_version: 1,
      ...result,
      dry_run: settings.dryRun,
      seed,
      target: { urls: session.targets, sandbox: session.sandbox, environment: environments },
      settings: {
        probability: settings.probability,
        interval_seconds: settings.intervalMs / 1000,
        business_hours: settings.businessHours && {
          start: formatClockTime(settings.businessHours.startMinute),
          end: formatClockTime(settings.businessHours.endMinute),
          days: settings.businessHours.days,
        },
        timezone: settings.timezone,
        categories: criteria.categories,
        scenarios: criteria.scenarioIds,
        max_blast_radius: criteria.maxBlastRadius,
        allow_entire_system: criteria.allowEntireSystem,
        min_gap_seconds: settings.minGapMs / 1000,
        max_experiments: settings.maxExperiments,
        once: settings.once,
      },
      eligible_scenarios: eligible.map((s) => s.id),
      excluded_scenarios: excluded,
      exit_code: result.interrupted ? ExitCode.INTERRUPTED : ExitCode.OK,
    }
    const file = await writeSessionSummary(config.reportsDir, Date.parse(result.started_at), summary)
    const outcomes = Object.entries(result.outcomes).map(([k, n]) => `${k} ${n}`)
    const ran = result.experiments.filter((e) => e.outcome !== 'NOT_STARTED').length
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
    out.line(
      `monkey session: ${plural(result.checks, 'check')}, ${plural(ran, settings.dryRun ? 'dry-run experiment' : 'experiment')}${outcomes.length ? ` (${outcomes.join(', ')})` : ''}, stopped by ${result.stopped_by} · summary: ${file}`,
    )
    return { ...summary, summary_file: file }
  } finally {
    await server?.close()
    await session.close()
  }
}
