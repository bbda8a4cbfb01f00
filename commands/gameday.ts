import { resolve } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import type { LogFile } from '../src/cli/log-file.js'
import { overrideFlags, targetFlags } from '../src/cli/run-flags.js'
import type { GamedayResult } from '../src/cli/gameday.js'

/** `chaos gameday`: every category (or the chosen ones) as one suite; exit 0 only if every hypothesis held. */
export default class Gameday extends BaseCommand {
  static override summary = 'Run a GameDay: every category (or the chosen ones) as one suite, for cron and CI'
  static override description =
    "Runs the experiments of every category (or of --categories) in one suite through the same engine as `chaos run` (preflight, safety limits, guaranteed rollback), writes one combined run report (JSON and text, also latest.json / latest.txt) and prints a per-category summary. Exit 0 only if every hypothesis held, otherwise the run's exit code (1 a hypothesis failed, 3 aborted for safety or another run is active, 4 runtime error, 130 interrupted): a CI pipeline blocks the deploy on anything but 0. Needs no TTY; --log-file appends every output line to a file. See docs/ci-workflow.md."
  static override examples = [
    {
      command: '<%= config.bin %> gameday --pause 5s',
      description: 'every category against the built-in sandbox',
    },
    {
      command:
        '<%= config.bin %> gameday --categories network,pms --target http://staging:8080 --log-file /var/log/chaos-gameday.log',
      description: 'nightly from cron (crontab: 0 2 * * *)',
    },
    {
      command: '<%= config.bin %> gameday --pushgateway http://localhost:9091',
      description: 'push every result to Prometheus via the Pushgateway',
    },
  ]
  static override flags = {
    categories: Flags.string({
      helpValue: 'LIST',
      description:
        'comma-separated categories to run (network, service, database, pms, resource) [default: all]',
    }),
    builtin: Flags.boolean({
      description: 'include the built-in catalogue (--no-builtin: only --scenarios / scenario_dirs)',
      default: true,
      allowNo: true,
    }),
    'log-file': Flags.string({
      helpValue: 'PATH',
      description: 'also append every output line (no colour) to this file',
    }),
    ...targetFlags,
    ...overrideFlags,
    'keep-going': Flags.boolean({ description: 'continue after a safety abort', default: false }),
    quiet: Flags.boolean({
      char: 'q',
      description: 'print only the summary and the verdict',
      default: false,
    }),
  }

  private logFile?: LogFile

  async run(): Promise<GamedayResult> {
    const { flags } = await this.parse(Gameday)
    const [{ openLogFile, teeOutput }, gameday] = await Promise.all([
      import('../src/cli/log-file.js'),
      import('../src/cli/gameday.js'),
    ])
    if (flags['log-file']) {
      this.logFile = openLogFile(resolve(process.cwd(), flags['log-file']))
      this.out = teeOutput(this.out, this.logFile)
    }
    const startedAt = new Date().toISOString()
    const plan = await gameday.planGameday(flags, process.env, process.cwd())
    this.out.line(
      `chaos gameday ${startedAt} (pid ${process.pid}): ${plan.scenarios.length} experiments in ${plan.categories.join(', ')}`,
    )
    const result = gameday.printGameday(plan, await gameday.performGameday(plan, flags, this.out), this.out)
    const record = result.run
    return this.finish(result, record.exit_code)
  }

  // Runs after catch(), so an error that ends the command is in the log file too.
  protected override async finally(err: Error | undefined): Promise<unknown> {
    this.logFile?.close()
    return super.finally(err)
  }
}
