import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { overrideFlags, rawRunOptions, targetFlags } from '../src/cli/run-flags.js'
import type { ScheduleSummary } from '../src/cli/schedule-session.js'
import { abortOnSignals } from '../src/cli/signals.js'
import { metricsFlags } from '../src/unattended/flags.js'

export interface CrontabResult {
  crontab: string[]
}

/** `chaos schedule`: the config's recurring experiments (guide section 6, "Chaos Scheduler"). */
export default class Schedule extends BaseCommand {
  static override summary =
    'Run the recurring experiments of the config file (schedules:), or print them as a crontab'
  static override description = `Runs the config's schedules: in the foreground, e.g. [{ scenario: network_latency, every: 2h }, { category: pms, cron: "0 2 * * *" }], through the same engine as chaos run (preflight, safety limits, rollback, run lock, reports), one run at a time: a schedule that comes due while another runs waits for it, and missed times are run once, not replayed. "every" schedules first run one interval after start; cron patterns use --timezone (or the schedule's own timezone:). SIGINT/SIGTERM roll back the running experiment and stop (exit 130 if one was interrupted). --print-crontab prints crontab lines calling chaos run ... --quiet instead, plus a weekly chaos gameday.`
  static override examples = [
    {
      command: '<%= config.bin %> schedule --metrics-port 9464',
      description: 'run the schedules, with /metrics for Prometheus',
    },
    {
      command: '<%= config.bin %> schedule --print-crontab | crontab -',
      description: 'let the system cron run them',
    },
  ]
  static override flags = {
    'print-crontab': Flags.boolean({ description: 'print crontab lines instead of running', default: false }),
    timezone: Flags.string({
      helpValue: 'IANA_ZONE',
      description: "time zone of cron patterns [default: the machine's]",
    }),
    'max-runs': Flags.integer({ min: 1, helpValue: 'N', description: 'stop after N scheduled runs' }),
    ...metricsFlags,
    ...targetFlags,
    ...overrideFlags,
  }

  async run(): Promise<ScheduleSummary | CrontabResult> {
    const { flags } = await this.parse(Schedule)
    const [{ openWorkspace }, catalogue, { resolveRunOptions }, session, { requireTimeZone }] =
      await Promise.all([
        import('../src/workspace.js'),
        import('../src/scenario/catalogue.js'),
        import('../src/plan.js'),
        import('../src/cli/schedule-session.js'),
        import('../src/calendar/business-hours.js'),
      ])
    const cwd = process.cwd()
    const ws = await openWorkspace({
      cwd,
      env: process.env,
      configPath: flags.config,
      scenarioDirs: flags.scenarios,
    })
    catalogue.assertNoProblems(ws.catalogue.problems)
    const options = resolveRunOptions(rawRunOptions(flags), ws.config.run)
    const timezone = flags.timezone === undefined ? undefined : requireTimeZone(flags.timezone)
    if (flags['print-crontab']) {
      const chaos = [process.execPath, join(this.config.root, 'bin', 'run.js')]
      const crontab = session.crontabFor(ws, flags, { chaos, cwd, ...(timezone && { timezone }) })
      for (const line of crontab) this.out.line(line)
      return { crontab }
    }
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
        },
        this.out,
      )
      return this.finish(summary, summary.exit_code)
    } finally {
      signals.dispose()
    }
  }
}
