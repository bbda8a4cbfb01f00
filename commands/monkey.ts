import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { BaseCommand } from '../src/cli/base-command.js'
import {
  dryRunFlag,
  metricsFlags,
  monkeyCatalogueFlags,
  monkeyFlags,
  monkeyOverrideFlags,
  outputFlags,
  reportFileFlags,
  runOverrides,
  runTargetFlags,
} from '../src/cli/flags.js'
import type { MonkeySummary } from '../src/cli/monkey-session.js'
import { abortOnSignals } from '../src/cli/signals.js'

/** `chaos monkey`: random experiments at random times (guide sections 2 and 6). */
export default class Monkey extends BaseCommand {
  static override summary = 'Chaos monkey: at each check, maybe run one random eligible experiment'
  static override description = `Every --every it flips a coin with --chance (default 5 % every 5 minutes, guide section 6); on heads it picks a random eligible scenario and runs it through the same engine as chaos run (preflight, safety limits, rollback, run lock, report). Eligible: in --categories / --ids, enabled, blast radius not above --max-blast-radius (default SINGLE_SERVICE; ENTIRE_SYSTEM only with --allow-entire-system), and at least --min-gap since the previous monkey experiment (remembered in the reports directory, so separate --once invocations from cron respect it). A target whose agent reports environment "production" is refused (exit 3) unless --allow-production. SIGINT/SIGTERM roll back the running experiment and stop (exit 130 if one was interrupted). A session summary is written to <reports_dir>/monkey/. The run flags (--duration, --probability, --interval, --scenarios, ...) mean what they mean in chaos run; --fault-probability, --poll-interval and --scenario-dir are their deprecated former spellings here.`
  static override examples = [
    {
      command: '<%= config.bin %> monkey --chance 5% --every 5m --business-hours --timezone Europe/Madrid',
      description: "the guide's monkey, office hours only",
    },
    {
      command: '<%= config.bin %> monkey --once --categories network,pms --min-gap 1h',
      description: 'one check, for cron',
    },
    {
      command: '<%= config.bin %> monkey --dry-run --chance 1 --every 5s --max-experiments 3 --seed 42',
      description: 'leashed: what would it pick?',
    },
  ]
  static override flags = {
    ...monkeyFlags,
    ...dryRunFlag,
    ...runTargetFlags,
    ...monkeyOverrideFlags,
    ...monkeyCatalogueFlags,
    ...outputFlags,
    ...metricsFlags,
    ...reportFileFlags,
  }

  async run(): Promise<MonkeySummary> {
    const { flags } = await this.parse(Monkey)
    await this.teeToLogFile(flags['log-file'])
    // The monkey's --probability used to be its coin; say so to whoever still means that.
    if (this.argv.some((a) => a === '--probability' || a.startsWith('--probability=')) && !flags.chance) {
      this.out.errorLine(
        "Note: --probability overrides each fault's probability, as in chaos run; the chance of an experiment at each check is --chance",
      )
    }
    // The monkey's --scenarios used to be scenario ids: point whoever still means that at --ids.
    const cwd = process.cwd()
    for (const dir of flags.scenarios ?? []) {
      if (/^[a-z0-9_]+$/.test(dir) && !existsSync(resolve(cwd, dir))) {
        const { InvalidInputError } = await import('../src/errors.js')
        throw new InvalidInputError(
          `--scenarios: scenario directory ${dir} does not exist`,
          `scenario ids to pick from are --ids now: --ids ${dir}`,
        )
      }
    }
    const [
      { openWorkspace },
      catalogue,
      { resolveRunOptions },
      { resolveMonkeySettings },
      { runMonkeySession },
      { knownCategories },
    ] = await Promise.all([
      import('../src/workspace.js'),
      import('../src/scenario/catalogue.js'),
      import('../src/plan.js'),
      import('../src/unattended/settings.js'),
      import('../src/cli/monkey-session.js'),
      import('../src/scenario/categories.js'),
    ])
    const ws = await openWorkspace({
      cwd,
      env: process.env,
      configPath: flags.config,
      scenarioDirs: flags.scenarios,
      builtin: flags.builtin,
    })
    catalogue.assertNoProblems(ws.catalogue.problems)
    const options = resolveRunOptions(runOverrides(flags), ws.config.run)
    const resolved = resolveMonkeySettings(flags, ws.config.monkey, {
      scenarioIds: ws.catalogue.scenarios.map((s) => s.scenario.id),
      categories: knownCategories(ws.catalogue.scenarios),
      blastRadiusOverride: options.blastRadius,
    })
    // A dry run makes no run records: no results files then.
    const reportFiles = resolved.settings.dryRun ? undefined : await this.openReportFiles(flags)
    const signals = abortOnSignals((text) => this.out.errorLine(text))
    try {
      const summary = await runMonkeySession(
        {
          workspace: ws,
          resolved,
          options,
          flags,
          allowProduction: flags['allow-production'],
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
}
