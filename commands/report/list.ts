import { BaseCommand } from '../../src/cli/base-command.js'
import { reportListFlags } from '../../src/cli/report-flags.js'
import type { RunSummary } from '../../reports/summary.js'

/** `chaos report list`: past runs, newest first. */
export default class ReportList extends BaseCommand {
  static override summary = 'List past runs'
  static override description =
    'A table of the runs recorded in the reports directory, newest first: run id, start time, selection, outcome, number of experiments and passed/failed. Damaged report files are skipped with a warning.'
  static override examples = [
    { command: '<%= config.bin %> report list', description: 'the table' },
    { command: '<%= config.bin %> report list --format json', description: 'one JSON object per run' },
  ]
  static override flags = { ...reportListFlags }

  async run(): Promise<{ dir: string; runs: RunSummary[] }> {
    const { flags } = await this.parse(ReportList)
    const [{ openReportStore }, summary] = await Promise.all([
      import('../../src/cli/report-support.js'),
      import('../../reports/summary.js'),
    ])
    const { dir, store } = await openReportStore({
      flag: flags['reports-dir'],
      configPath: flags.config,
      cwd: process.cwd(),
      env: process.env,
      warn: (line) => this.out.errorLine(line),
    })
    const runs = summary.summarizeRuns(await store.listRuns())
    if (flags.format === 'json') this.out.line(JSON.stringify(runs, null, 2))
    else if (runs.length === 0) this.out.line(`No run reports in ${dir} yet - run \`chaos run\` first.`)
    else {
      this.out.line(summary.runListTable(runs, this.out.color, this.out.columns))
      this.out.line(`${runs.length} run${runs.length === 1 ? '' : 's'} in ${dir}`)
    }
    return { dir, runs }
  }
}
