import { BaseCommand } from '../../src/cli/base-command.js'
import { reportFlags } from '../../src/cli/report-flags.js'
import type { RunRecord } from '../../src/record.js'

/** `chaos report latest`: the last run's report. */
export default class ReportLatest extends BaseCommand {
  static override summary = 'Show the report of the last run'
  static override description =
    "Prints latest.json of the reports directory as the text report (like the guide's Example Analysis) or as JSON. Exits 2 when no run has been recorded yet."
  static override examples = [
    { command: '<%= config.bin %> report latest', description: 'the text report' },
    {
      command: '<%= config.bin %> report latest --format json',
      description: 'the JSON report (docs/reports.md)',
    },
  ]
  static override flags = { ...reportFlags }

  async run(): Promise<RunRecord> {
    const { flags } = await this.parse(ReportLatest)
    const [{ resolveReportsDir }, { ReportStore }, { renderReport }] = await Promise.all([
      import('../../src/cli/report-support.js'),
      import('../../src/store/report-store.js'),
      import('../../reports/formats.js'),
    ])
    const dir = await resolveReportsDir({
      flag: flags['reports-dir'],
      configPath: flags.config,
      cwd: process.cwd(),
      env: process.env,
    })
    const { record } = await new ReportStore({ dir }).readLatest()
    this.out.line(renderReport(record, flags.format, { color: this.out.color.level > 0 }))
    return record
  }
}
