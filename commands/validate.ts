import { Args } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { catalogueFlags } from '../src/cli/flags.js'
import type { LoadResult, Problem } from '../src/scenario/loader.js'

/** `chaos validate [PATH...]`: every problem of every scenario file, at once. */
export default class Validate extends BaseCommand {
  static override summary = 'Validate scenario files'
  static override description =
    'Checks scenario files against the scenario schema and the check grammar and reports every problem at once, one line each: file:line:col field: message (hint: ...). Without PATH it validates every loaded scenario (built-in, config scenario_dirs, --scenarios). Exits 2 when anything is invalid, and when there is nothing to validate (a directory without scenario files).'
  static override examples = [
    { command: '<%= config.bin %> validate', description: 'the whole catalogue' },
    {
      command: '<%= config.bin %> validate my-scenarios/ extra.yaml',
      description: 'your own files and directories',
    },
    {
      command: '<%= config.bin %> validate --json',
      description: 'machine-readable: {valid, scenarios, problems[]}',
    },
  ]
  static override args = {
    paths: Args.string({ description: 'scenario files or directories', multiple: true, ignoreStdin: true }),
  }
  static override flags = { ...catalogueFlags }

  async run(): Promise<{ valid: boolean; scenarios: number; problems: Problem[] }> {
    const { args, flags } = await this.parse(Validate)
    const [{ openWorkspace }, catalogue, loader, { InvalidInputError }, { ExitCode }] = await Promise.all([
      import('../src/workspace.js'),
      import('../src/scenario/catalogue.js'),
      import('../src/scenario/loader.js'),
      import('../src/errors.js'),
      import('../src/exit-codes.js'),
    ])
    const cwd = process.cwd()
    let result: LoadResult
    let configWorkload: unknown
    if (args.paths?.length) {
      const files = await catalogue.scenarioFilesIn(args.paths, { cwd })
      result = await loader.loadScenarioFiles(files, { cwd })
      // Only for the advisory warning below: a config that does not load is validate's concern elsewhere.
      configWorkload = await import('../src/config.js')
        .then(({ loadConfig }) => loadConfig({ cwd, env: process.env, path: flags.config }))
        .then((config) => config.workload)
        .catch(() => undefined)
    } else {
      const ws = await openWorkspace({
        cwd,
        env: process.env,
        configPath: flags.config,
        scenarioDirs: flags.scenarios,
        builtin: flags.builtin,
      })
      result = ws.catalogue
      configWorkload = 'workload' in ws.config ? ws.config.workload : undefined
    }
    const { scenarios, problems } = result
    // Validating nothing (an empty catalogue with --no-builtin) is not a pass.
    if (scenarios.length === 0 && problems.length === 0) {
      throw new InvalidInputError(
        'no scenario files found',
        'name scenario files or directories, add --scenarios DIR, or load the built-ins (drop --no-builtin, or catalogue: builtin in the config)',
      )
    }
    const summary = { valid: problems.length === 0, scenarios: scenarios.length, problems }
    if (problems.length > 0) {
      if (this.jsonEnabled()) {
        this.logJson(summary)
        this.exit(ExitCode.INVALID_INPUT)
      }
      const files = new Set(problems.map((p) => p.file)).size
      throw new InvalidInputError(
        `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'} (${scenarios.length} valid scenario${scenarios.length === 1 ? '' : 's'})`,
        'fix the lines above (format: docs/scenario-format.md, checks: docs/checks.md)',
        loader.formatProblems(problems),
      )
    }
    this.out.line(
      this.out.color.green(`${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'} valid`),
    )
    // validate does not know the target: a scenario of the user's without workload is fine against
    // the sandbox, but run/gameday/monkey/schedule refuse it against any other target. Say so now.
    if (configWorkload === undefined) {
      const { scenariosWithoutWorkload, WORKLOAD_EXAMPLE } =
        await import('../src/scenario/workload-source.js')
      const missing = scenariosWithoutWorkload(scenarios, {}, catalogue.builtinScenarioDir())
      for (const s of missing) {
        this.out.errorLine(
          `warning: ${s.display}: no workload: fine against the built-in sandbox, refused against your own service (add ${WORKLOAD_EXAMPLE})`,
        )
      }
    }
    return summary
  }
}
