import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { overrideFlags, rawRunOptions, targetFlags } from '../src/cli/run-flags.js'
import type { Plan } from '../src/plan.js'

/** `chaos run <CATEGORY|SCENARIO_ID|FILE|all>...`: run experiments (for now: plan them with --dry-run). */
export default class Run extends BaseCommand {
  static override summary = 'Run chaos experiments (a category, scenario ids, files, or all)'
  static override description =
    'Resolves the selection (categories, scenario ids, scenario files or directories, or all) in the order given, validates it, and runs each experiment: baseline, injection, observation under safety limits, rollback, recovery. With --dry-run it prints the plan (faults, blast radius, targets, durations, checks, safety limits, expected time) and injects nothing.'
  static override examples = [
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
  static override args = {
    selection: Args.string({
      description: 'CATEGORY, SCENARIO_ID, FILE or DIR, or all',
      required: true,
      multiple: true,
    }),
  }
  static override flags = {
    'dry-run': Flags.boolean({ description: 'print the plan and inject nothing', default: false }),
    ...targetFlags,
    ...overrideFlags,
    'keep-going': Flags.boolean({ description: 'continue a suite after a safety abort', default: false }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the verdict', default: false }),
  }

  async run(): Promise<Plan> {
    const { args, flags } = await this.parse(Run)
    const [{ openWorkspace }, catalogue, plan, { formatPlan }, { InvalidInputError }] = await Promise.all([
      import('../src/workspace.js'),
      import('../src/scenario/catalogue.js'),
      import('../src/plan.js'),
      import('../src/render/plan.js'),
      import('../src/errors.js'),
    ])
    const cwd = process.cwd()
    const ws = await openWorkspace({
      cwd,
      env: process.env,
      configPath: flags.config,
      scenarioDirs: flags.scenarios,
    })
    const options = plan.resolveRunOptions(rawRunOptions(flags), ws.config.run)
    catalogue.assertNoProblems(ws.catalogue.problems)
    const selected = await catalogue.resolveSelection(ws.catalogue, args.selection, { cwd })
    const result = plan.buildPlan(selected, args.selection, options)
    if (!flags['dry-run']) {
      throw new InvalidInputError(
        'real runs need a target; use --dry-run',
        'chaos run <selection> --dry-run prints the plan',
      )
    }
    const lines = formatPlan(result, this.out.color)
    // --quiet keeps only the closing summary line (expected time).
    for (const line of flags.quiet ? lines.slice(-1) : lines) this.out.line(line)
    return result
  }
}
