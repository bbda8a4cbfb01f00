import { join, resolve } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import {
  allowProductionFlag,
  catalogueFlags,
  dryRunFlag,
  keepGoingFlag,
  metricsFlags,
  outputFlags,
  overrideFlags,
  reportFileFlags,
  runOverrides,
  runTargetFlags,
  timezoneFlag,
} from '../src/cli/flags.js'
import type { ScheduleSummary } from '../src/cli/schedule-session.js'
import { abortOnSignals } from '../src/cli/signals.js'

export interface CrontabResult {
  crontab: string[]
}

/** What `chaos schedule --dry-run` would run, and when. */
export interface SchedulePlan {
  dry_run: true
  timezone: string
  schedules: Array<{ schedule: string; experiments: string[]; next_runs: string[] }>
}

/** `chaos schedule`: the config's recurring experiments (guide section 6, "Chaos Scheduler"). */
export default class Schedule extends BaseCommand {
  static override summary =
    'Run the recurring experiments of the config file (schedules:), or print them as a crontab'
  static override description = `Runs the config's schedules: in the foreground, e.g. [{ scenario: network_latency, every: 2h }, { category: pms, cron: "0 2 * * *" }], through the same engine as chaos run (preflight, safety limits, rollback, run lock, reports), one run at a time: a schedule that comes due while another runs waits for it, and missed times are run once, not replayed. "every" schedules first run one interval after start; cron patterns use --timezone (or the schedule's own timezone:). SIGINT/SIGTERM roll back the running experiment and stop (exit 130 if one was interrupted). --dry-run prints each schedule's experiments and next three run times and injects nothing. --print-crontab prints crontab lines calling chaos run ... --quiet instead, plus a weekly chaos gameday; with no schedules it prints nothing and exits 2.`
  static override examples = [
    {
      command: '<%= config.bin %> schedule --metrics-port 9464',
      description: 'run the schedules, with /metrics for Prometheus',
    },
    { command: '<%= config.bin %> schedule --dry-run', description: 'what runs when?' },
    {
      command: '(crontab -l 2>/dev/null; <%= config.bin %> schedule --print-crontab) | crontab -',
      description: 'let the system cron run them (added to your crontab, not replacing it)',
    },
  ]
  static override flags = {
    'print-crontab': Flags.boolean({ description: 'print crontab lines instead of running', default: false }),
    timezone: timezoneFlag({
      helpValue: 'IANA_ZONE',
      description: "time zone of cron patterns [default: the machine's]",
    }),
    'max-runs': Flags.integer({ min: 1, helpValue: 'N', description: 'stop after N scheduled runs' }),
    ...dryRunFlag,
    ...metricsFlags,
    ...runTargetFlags,
    ...overrideFlags,
    ...keepGoingFlag,
    ...allowProductionFlag,
    ...catalogueFlags,
    ...outputFlags,
    ...reportFileFlags,
  }

  async run(): Promise<ScheduleSummary | CrontabResult | SchedulePlan> {
    const { flags } = await this.parse(Schedule)
    await this.teeToLogFile(flags['log-file'])
    const [{ openWorkspace }, catalogue, { resolveRunOptions }, session] = await Promise.all([
      import('../src/workspace.js'),
      import('../src/scenario/catalogue.js'),
      import('../src/plan.js'),
      import('../src/cli/schedule-session.js'),
    ])
    const cwd = process.cwd()
    const ws = await openWorkspace({
      cwd,
      env: process.env,
      configPath: flags.config,
      scenarioDirs: flags.scenarios,
      builtin: flags.builtin,
    })
    catalogue.assertNoProblems(ws.catalogue.problems)
    const options = resolveRunOptions(runOverrides(flags), ws.config.run)
    const timezone = flags.timezone
    if (flags['print-crontab']) {
      const { runArgs } = await import('../src/cli/flag-values.js')
      const chaos = [process.execPath, join(this.config.root, 'bin', 'run.js')]
      const args = runArgs(flags, (path) => resolve(cwd, path))
      const crontab = session.crontabFor(ws, args, { chaos, ...(timezone && { timezone }) })
      for (const line of crontab) this.out.line(line)
      return { crontab }
    }
    if (flags['dry-run']) return this.plan(ws, timezone)
    const reportFiles = await this.openReportFiles(flags)
    const signals = abortOnSignals((text) => this.out.errorLine(text))
    try {
      const summary = await session.runScheduleSession(
        {
          workspace: ws,
          options,
          flags,
          ...(timezone && { timezone }),
          maxRuns: flags['max-runs'] ?? null,
          ...(flags['metrics-port'] !== undefined && {
            metrics: { port: flags['metrics-port'], host: flags['metrics-host'] },
          }),
          signal: signals.signal,
          reportFiles,
        },
        this.out,
      )
      return this.finish(summary, summary.exit_code)
    } finally {
      signals.dispose()
    }
  }

  /** --dry-run: each schedule's experiments and next run times; no target is contacted. */
  private async plan(
    ws: import('../src/workspace.js').Workspace,
    timezone: string | undefined,
  ): Promise<SchedulePlan> {
    const [{ resolveSelection }, schedule, { machineTimeZone }, { noSchedules }] = await Promise.all([
      import('../src/scenario/catalogue.js'),
      import('../src/unattended/schedule.js'),
      import('../src/calendar/business-hours.js'),
      import('../src/cli/schedule-session.js'),
    ])
    const specs = ws.config.schedules ?? []
    if (specs.length === 0) throw noSchedules(ws)
    const zone = timezone ?? machineTimeZone()
    const now = Date.now()
    const result: SchedulePlan = { dry_run: true, timezone: zone, schedules: [] }
    this.out.line(
      `chaos schedule --dry-run: ${specs.length} schedules, time zone ${zone}; nothing is injected`,
    )
    for (const spec of specs) {
      const found = await resolveSelection(ws.catalogue, [spec.selection], { cwd: ws.config.root })
      const s = schedule.createSchedule(spec, zone)
      const next = schedule.nextRuns(s, now, 3).map((ms) => new Date(ms).toISOString())
      const experiments = found.map((f) => f.scenario.id)
      result.schedules.push({ schedule: s.label, experiments, next_runs: next })
      this.out.line(`  ${s.label}: ${experiments.join(', ')}`)
      this.out.line(`    next: ${next.join(', ')}`)
    }
    return result
  }
}
