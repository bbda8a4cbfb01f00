import { Args } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { catalogueFlags } from '../src/cli/flags.js'
import type { CatalogueEntry } from '../src/render/catalogue.js'

/** `chaos list [CATEGORY]`: the scenario catalogue as a table. */
export default class List extends BaseCommand {
  static override summary = 'List the scenario catalogue'
  static override description =
    'Shows every loaded scenario (built-in, config scenario_dirs and --scenarios directories) in suite order: id, category, fault, probability, blast radius, target service and duration. Invalid scenario files are reported and exit 2.'
  static override examples = [
    { command: '<%= config.bin %> list', description: 'the whole catalogue' },
    { command: '<%= config.bin %> list pms', description: 'only the PMS scenarios' },
    {
      command: '<%= config.bin %> list --scenarios ./my-scenarios --json',
      description: 'with your own scenarios, as JSON',
    },
  ]
  static override args = {
    category: Args.string({
      description: 'only this category (network, service, database, pms, resource, or one of your own)',
      ignoreStdin: true,
    }),
  }
  static override flags = { ...catalogueFlags }

  async run(): Promise<{ scenarios: CatalogueEntry[]; count: number; categories: string[] }> {
    const { args, flags } = await this.parse(List)
    // Only light modules here: with an unchanged catalogue, list never loads the YAML parser or zod.
    const [{ openWorkspace }, { assertNoProblems }, { knownCategories }, render, { InvalidInputError }] =
      await Promise.all([
        import('../src/workspace.js'),
        import('../src/scenario/catalogue.js'),
        import('../src/scenario/categories.js'),
        import('../src/render/catalogue.js'),
        import('../src/errors.js'),
      ])
    const { catalogue } = await openWorkspace({
      cwd: process.cwd(),
      env: process.env,
      configPath: flags.config,
      scenarioDirs: flags.scenarios,
      builtin: flags.builtin,
    })
    assertNoProblems(catalogue.problems)
    // Categories are open: the guide's five plus whatever the loaded scenarios use.
    const known = knownCategories(catalogue.scenarios)
    if (args.category !== undefined && !known.includes(args.category)) {
      const { closest } = await import('../src/scenario/document.js')
      const guess = closest(args.category, known)
      throw new InvalidInputError(
        `unknown category "${args.category}"`,
        `${guess ? `did you mean ${guess}? ` : ''}categories: ${known.join(', ')}`,
      )
    }
    const shown = catalogue.scenarios.filter((s) => !args.category || s.scenario.category === args.category)
    const entries = render.catalogueEntries(shown)
    const categories = [...new Set(entries.map((e) => e.category))]
    this.out.line(render.catalogueTable(entries, this.out.color, this.out.columns))
    this.out.line(
      `${entries.length} scenario${entries.length === 1 ? '' : 's'} in ${categories.length} categor${categories.length === 1 ? 'y' : 'ies'}`,
    )
    return { scenarios: entries, count: entries.length, categories }
  }
}
