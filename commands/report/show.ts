import { Args } from '@oclif/core'
import { BaseCommand } from '../../src/cli/base-command.js'
import { reportFlags } from '../../src/cli/report-flags.js'
import type { RunRecord } from '../../src/record.js'

/** `chaos report show <run_id|file>`: one past run's report. */
export default class ReportShow extends BaseCommand {
  static override summary = 'Show the report of one run'
  static override description =
    'Prints one run report, found by run id (see `chaos report list`), by its file name in the reports directory, or by the path of a report file. Exits 2 when there is no such report.'
  static override examples = [
    { command: '<%= config.bin %> report show 20261128T112233Z-3f9a1c', description: 'by run id' },
    {
      command: '<%= config.bin %> report show ./old/20261128T112233Z-pms.json --format json',
      description: 'a report file',
    },
  ]
  static override args = {
    run: Args.string({ description: 'run id, report file name, or path of a report file', required: true }),
  }
  static override flags = { ...reportFlags }

  async run(): Promise<RunRecord> {
    const { args, flags } = await this.parse(ReportShow)
    const [{ resolveReportsDir, warningPrinter }, { ReportStore }, { renderReport }, fs, path] =
      await Promise.all([
        import('../../src/cli/report-support.js'),
        import('../../src/store/report-store.js'),
        import('../../reports/formats.js'),
        import('node:fs'),
        import('node:path'),
      ])
    const cwd = process.cwd()
    const dir = await resolveReportsDir({
      flag: flags['reports-dir'],
      configPath: flags.config,
      cwd,
      env: process.env,
    })
    // A path that exists relative to the working directory wins over a run id of the same spelling.
    const asPath = path.resolve(cwd, args.run)
    const ref = fs.existsSync(asPath) && fs.statSync(asPath).isFile() ? asPath : args.run
    const store = new ReportStore({ dir, logger: warningPrinter((line) => this.out.errorLine(line)) })
    const { record } = await store.readRun(ref)
    this.out.line(renderReport(record, flags.format, { color: this.out.color.level > 0 }))
    return record
  }
}
