import { BaseCommand } from '../src/cli/base-command.js'
import {
  allowProductionFlag,
  catalogueFlags,
  categoriesFlag,
  dryRunFlag,
  keepGoingFlag,
  leaseFlag,
  outputFlags,
  overrideFlags,
  quickFlag,
  reportFileFlags,
  runTargetFlags,
} from '../src/cli/flags.js'
import type { GamedayResult } from '../src/cli/gameday.js'
import type { Plan } from '../src/plan.js'

/** `chaos gameday`: every category (or the chosen ones) as one suite; exit 0 only if every hypothesis held. */
export default class Gameday extends BaseCommand {
  static override summary = 'Run a GameDay: every category (or the chosen ones) as one suite, for cron and CI'
  static override description =
    "Runs the experiments of every category (or of --categories) in one suite through the same engine as `chaos run` (preflight, safety limits, guaranteed rollback), writes one combined run report (JSON and text, also latest.json / latest.txt) and prints a per-category summary. Exit 0 only if every hypothesis held, otherwise the run's exit code (1 a hypothesis failed, 3 aborted for safety or another run is active, 4 runtime error, 130 interrupted): a CI pipeline blocks the deploy on anything but 0. With --dry-run it prints the GameDay's plan and injects nothing. Needs no TTY; --log-file appends every output line to a file. See docs/ci-workflow.md."
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
      command: '<%= config.bin %> gameday --categories "network pms" --dry-run',
      description: 'what would it run?',
    },
    {
      command: '<%= config.bin %> gameday --pushgateway http://localhost:9091',
      description: 'push every result to Prometheus via the Pushgateway',
    },
  ]
  static override flags = {
    categories: categoriesFlag({
      helpValue: 'LIST',
      description:
        'categories to run, comma- or space-separated (network, service, database, pms, resource, or your own) [default: all]',
    }),
    ...dryRunFlag,
    ...runTargetFlags,
    ...overrideFlags,
    ...quickFlag,
    ...keepGoingFlag,
    ...allowProductionFlag,
    ...leaseFlag,
    ...catalogueFlags,
    ...outputFlags,
    ...reportFileFlags,
  }

  async run(): Promise<GamedayResult | Plan> {
    const { flags } = await this.parse(Gameday)
    await this.teeToLogFile(flags['log-file'])
    const gameday = await import('../src/cli/gameday.js')
    const startedAt = new Date().toISOString()
    const plan = await gameday.planGameday(flags, process.env, process.cwd())
    if (flags['dry-run']) {
      const [{ buildPlan }, { formatPlan }, { resolveTarget }, { builtinScenarioDir }] = await Promise.all([
        import('../src/plan.js'),
        import('../src/render/plan.js'),
        import('../src/cli/target.js'),
        import('../src/scenario/catalogue.js'),
      ])
      const { config } = plan.workspace
      const result = buildPlan(plan.selected, plan.categories, plan.options, {
        config: config.workload,
        sandbox: resolveTarget(flags, config) === undefined,
        builtinDir: builtinScenarioDir(),
      })
      const lines = formatPlan(result, this.out.color)
      // --quiet keeps only the closing summary line (expected time), as in chaos run --dry-run.
      for (const line of flags.quiet ? lines.slice(-1) : lines) this.out.line(line)
      return result
    }
    this.out.line(
      `chaos gameday ${startedAt} (pid ${process.pid}): ${plan.scenarios.length} experiments in ${plan.categories.join(', ')}`,
    )
    if (!flags.quiet) {
      // The plan in short and the expected time, as chaos run prints them.
      const [{ buildPlan }, { formatPlanSummary }] = await Promise.all([
        import('../src/plan.js'),
        import('../src/render/plan.js'),
      ])
      const planned = buildPlan(plan.selected, plan.categories, plan.options)
      for (const line of formatPlanSummary(planned, this.out.color, this.out.columns)) this.out.line(line)
    }
    const leaseSeconds = Math.max(1, (flags.lease ?? 15_000) / 1000)
    const reportFiles = await this.openReportFiles(flags)
    const run = await gameday.performGameday(plan, flags, this.out, leaseSeconds, reportFiles)
    const result = gameday.printGameday(plan, run, this.out)
    return this.finish(result, result.run.exit_code)
  }
}
