import { Args } from '@oclif/core'
import { BaseCommand } from '../../src/cli/base-command.js'
import { reportFlags } from '../../src/cli/report-flags.js'
import type { RunRecord } from '../../src/record.js'

/** `chaos report show <run_id|prefix|file>`: one past run's report. */
export default class ReportShow extends BaseCommand {
  static override summary = 'Show the report of one run'
  static override description =
    'Prints one run report, opened by its three-line digest (verdict, failed checks, what to do). The run is found by what `chaos run` prints or `chaos report list` shows: the path of its .txt or .json report, a run id, a unique prefix of a run id or file name, a file name in the reports directory, or `latest`. Exits 2 when there is no such report, when a prefix matches several runs (they are listed), or when the file is not a report.'
  static override examples = [
    { command: '<%= config.bin %> report show 20261128T112233Z-3f9a1c', description: 'by run id' },
    { command: '<%= config.bin %> report show 20261128T1122', description: 'by a unique prefix' },
    {
      command: '<%= config.bin %> report show .playbook/chaos_reports/20261128T112233Z-pms.txt',
      description: 'the report file a run printed',
    },
    {
      command: '<%= config.bin %> report show ./old/20261128T112233Z-pms.json --format json',
      description: 'a report file',
    },
  ]
  static override args = {
    run: Args.string({
      description: 'run id or unique prefix, report file name, or path of a .txt/.json report',
      required: true,
    }),
  }
  static override flags = { ...reportFlags }

  async run(): Promise<RunRecord> {
    const { args, flags } = await this.parse(ReportShow)
    const [{ openReportStore, reportRef }, { renderReport }] = await Promise.all([
      import('../../src/cli/report-support.js'),
      import('../../reports/formats.js'),
    ])
    const cwd = process.cwd()
    const { store } = await openReportStore({
      flag: flags['reports-dir'],
      configPath: flags.config,
      cwd,
      env: process.env,
      warn: (line) => this.out.errorLine(line),
    })
    const { record } = await store.readRun(reportRef(args.run, cwd))
    this.out.line(renderReport(record, flags.format, { color: this.out.color.level > 0 }))
    return record
  }
}
