import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../src/cli/base-command.js'
import { reportsDirFlag } from '../../src/cli/report-flags.js'
import type { RunDiff } from '../../reports/run-diff.js'

/** `chaos report diff [A] [B]`: two runs compared, experiment by experiment. */
export default class ReportDiff extends BaseCommand {
  static override summary = 'Compare two runs, experiment by experiment'
  static override description =
    'For each experiment (matched by scenario id): availability, error rate, p95, MTTR and the hypothesis, then vs now, with regressions marked (worse beyond a tolerance: docs/reports.md); experiments in one run only are listed as added or removed. With no run named: the newest run against the previous run of the same selection. With one: that run against the newest run of its selection. With two: A (then) against B (now). A run is named as in `chaos report show`: a run id or unique prefix, a report file name, or the path of its .txt or .json report. Exits 0 with or without regressions (1 with --fail-on-regression when there is one), 2 when there are not two runs to compare.'
  static override examples = [
    {
      command: '<%= config.bin %> report diff',
      description: 'the last run against the previous run of the same selection',
    },
    {
      command: '<%= config.bin %> report diff 20261128T1122 20261129T0800',
      description: 'two runs by id prefix',
    },
    {
      command: '<%= config.bin %> report diff --json',
      description: 'the comparison as JSON (docs/reports.md)',
    },
    {
      command: '<%= config.bin %> report diff --fail-on-regression',
      description: 'exit 1 when something got worse (CI)',
    },
  ]
  static override args = {
    a: Args.string({
      description: 'the earlier run (then): run id or unique prefix, file name or report path',
    }),
    b: Args.string({ description: 'the later run (now): run id or unique prefix, file name or report path' }),
  }
  static override flags = {
    'fail-on-regression': Flags.boolean({
      description: 'exit 1 when a measure regressed (default: exit 0 either way)',
      default: false,
    }),
    ...reportsDirFlag,
  }

  async run(): Promise<RunDiff> {
    const { args, flags } = await this.parse(ReportDiff)
    const [
      { ExitCode },
      { openReportStore, reportRef },
      { pickRunsToDiff },
      { diffRuns },
      { renderRunDiff },
    ] = await Promise.all([
      import('../../src/exit-codes.js'),
      import('../../src/cli/report-support.js'),
      import('../../src/store/run-pair.js'),
      import('../../reports/run-diff.js'),
      import('../../reports/diff.js'),
    ])
    const cwd = process.cwd()
    const { store } = await openReportStore({
      flag: flags['reports-dir'],
      configPath: flags.config,
      cwd,
      env: process.env,
      warn: (line) => this.out.errorLine(line),
    })
    const refs = [args.a, args.b].filter((r): r is string => r !== undefined).map((r) => reportRef(r, cwd))
    const diff = diffRuns(...(await pickRunsToDiff(store, refs)))
    this.out.line(renderRunDiff(diff, { color: this.out.color.level > 0 }))
    return this.finish(
      diff,
      flags['fail-on-regression'] && diff.regressions > 0 ? ExitCode.CHECK_FAILED : ExitCode.OK,
    )
  }
}
