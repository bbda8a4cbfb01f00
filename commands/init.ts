import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import type { InitResult } from '../src/onboarding/init.js'

/** `chaos init`: a commented chaos.config.yaml and one example scenario for your own service. */
export default class Init extends BaseCommand {
  static override summary = 'Write chaos.config.yaml and an example scenario for your own service'
  static override description =
    'Writes a commented chaos.config.yaml (target, token from CHAOS_TOKEN, scenario folder, reports folder, catalogue choice) and chaos-scenarios/<service>_exception.yaml: an EXCEPTION fault on the dependency your service wraps, with a workload of your own routes and checks a service with a fallback holds. Asks nothing: what it does not get from the flags takes the default shown. Refuses to overwrite existing files without --force (exit 2). Then: chaos doctor, chaos run <the scenario>.'
  static override examples = [
    {
      command:
        '<%= config.bin %> init --target http://localhost:3000 --service payments_api --route /api/quote',
      description: 'a service on port 3000 that wraps payments_api and serves /api/quote',
    },
    { command: '<%= config.bin %> init --force', description: 'start over with the defaults' },
  ]
  static override flags = {
    target: Flags.string({
      description:
        'base URL of your service (the one that embeds the agent) [default: http://localhost:3000]',
      helpValue: 'URL',
    }),
    service: Flags.string({
      description:
        "the wrapped dependency to fail: the name in agent.wrap('<name>', fn) [default: my_dependency]",
      helpValue: 'NAME',
    }),
    route: Flags.string({
      description:
        'a route of your service that calls that dependency, for the workload (repeatable) [default: /]',
      helpValue: 'PATH',
      multiple: true,
    }),
    force: Flags.boolean({ description: 'overwrite existing files', default: false }),
  }

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(Init)
    const { buildInitFiles, writeInitFiles } = await import('../src/onboarding/init.js')
    const { files, result } = buildInitFiles({
      cwd: process.cwd(),
      target: flags.target,
      service: flags.service,
      routes: flags.route,
    })
    await writeInitFiles(files, flags.force)
    const c = this.out.color
    this.out.line(`${c.green('wrote')} ${files[0]!.display} (target ${result.target})`)
    this.out.line(
      `${c.green('wrote')} ${files[1]!.display} (EXCEPTION on ${result.service} for 30 % of calls; workload ${result.routes.map((r) => `GET ${r}`).join(', ')})`,
    )
    this.out.line('next:')
    for (const step of result.next) this.out.line(`  ${step}`)
    return result
  }
}
