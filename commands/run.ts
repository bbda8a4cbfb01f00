import { Args } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import {
  allowProductionFlag,
  catalogueFlags,
  dryRunFlag,
  keepGoingFlag,
  leaseFlag,
  outputFlags,
  overrideFlags,
  quickFlag,
  reportFileFlags,
  runOverrides,
  runTargetFlags,
} from '../src/cli/flags.js'
import type { Plan } from '../src/plan.js'
import type { RunRecord } from '../src/record.js'

/** `chaos run <CATEGORY|SCENARIO_ID|FILE|all>...`: run experiments, or plan them with --dry-run. */
export default class Run extends BaseCommand {
  static override summary = 'Run chaos experiments (a category, scenario ids, files, or all)'
  static override description =
    'Resolves the selection (categories, scenario ids, scenario files or directories, or all) in the order given, validates it, and runs each experiment: baseline, injection, observation under safety limits, rollback, recovery. With --dry-run it prints the plan (faults, blast radius, targets, durations, checks, safety limits, expected time) and injects nothing.'
  static override examples = [
    {
      command: '<%= config.bin %> run pms --quick',
      description: 'the PMS suite against the built-in sandbox, a verdict in about a minute',
    },
    {
      command: '<%= config.bin %> run pms --duration 10s --pause 2s',
      description: 'the same with longer injections',
    },
    {
      command: '<%= config.bin %> run network_latency --target http://127.0.0.1:8080',
      description: 'one experiment on your service',
    },
    { command: '<%= config.bin %> run network --dry-run', description: 'plan the five network experiments' },
    {
      command: '<%= config.bin %> run pms_api_failure network_latency --duration 20s --dry-run',
      description: 'two scenarios, shorter',
    },
    {
      command: '<%= config.bin %> run ./my-scenario.yaml --dry-run --json',
      description: 'a file of your own, plan as JSON',
    },
    {
      command: '<%= config.bin %> run all --pause 5s --probability 10% --dry-run',
      description: 'the whole catalogue with overrides',
    },
  ]
  static override argumentHint =
    'say what to run: chaos list shows the categories and scenario ids; e.g. chaos run pms, chaos run network_latency, chaos run all --dry-run'
  static override args = {
    selection: Args.string({
      description: 'CATEGORY, SCENARIO_ID, FILE or DIR, or all',
      required: true,
      multiple: true,
    }),
  }
  static override flags = {
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

  async run(): Promise<Plan | RunRecord> {
    const { args, flags } = await this.parse(Run)
    await this.teeToLogFile(flags['log-file'])
    const [{ openWorkspace }, catalogue, plan, { formatPlan, formatPlanSummary }] = await Promise.all([
      import('../src/workspace.js'),
      import('../src/scenario/catalogue.js'),
      import('../src/plan.js'),
      import('../src/render/plan.js'),
    ])
    const cwd = process.cwd()
    const ws = await openWorkspace({
      cwd,
      env: process.env,
      configPath: flags.config,
      scenarioDirs: flags.scenarios,
      builtin: flags.builtin,
    })
    const options = plan.resolveRunOptions(runOverrides(flags), ws.config.run)
    catalogue.assertNoProblems(ws.catalogue.problems)
    const selected = await catalogue.resolveSelection(ws.catalogue, args.selection, { cwd })
    const { resolveTarget } = await import('../src/cli/target.js')
    const result = plan.buildPlan(selected, args.selection, options, {
      config: ws.config.workload,
      sandbox: resolveTarget(flags, ws.config) === undefined,
      builtinDir: catalogue.builtinScenarioDir(),
    })
    if (!flags['dry-run']) {
      const leaseSeconds = Math.max(1, (flags.lease ?? 15_000) / 1000)
      const [{ performRun, refuseMissingWorkloads }, { runEndLines }, { resultPushHook }] = await Promise.all(
        [
          import('../src/cli/perform-run.js'),
          import('../src/cli/run-end.js'),
          import('../src/cli/push-results.js'),
        ],
      )
      refuseMissingWorkloads(selected, flags, ws.config)
      // The plan in short and the expected time first, so a long run says how long it will be.
      if (!flags.quiet)
        for (const line of formatPlanSummary(result, this.out.color, this.out.columns)) this.out.line(line)
      const enabled = selected.map((s) => s.scenario)
      const onExperimentDone = resultPushHook(flags.pushgateway, ws.config, this.out)
      const reportFiles = await this.openReportFiles(flags)
      const { record, written } = await performRun(
        {
          workspace: ws,
          scenarios: enabled,
          selection: args.selection,
          options,
          flags,
          leaseSeconds,
          onExperimentDone,
          reportFiles,
        },
        this.out,
      )
      for (const line of runEndLines(record, written, this.out, { cwd, quiet: flags.quiet }))
        this.out.line(line)
      return this.finish(record, record.exit_code)
    }
    const lines = formatPlan(result, this.out.color)
    // --quiet keeps only the closing summary line (expected time).
    for (const line of flags.quiet ? lines.slice(-1) : lines) this.out.line(line)
    return result
  }
}
