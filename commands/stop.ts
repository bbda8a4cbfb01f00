import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { targetFlags } from '../src/cli/flags.js'
import type { StopResult } from '../src/engine/operator.js'

/** `chaos stop [ID] [--all]`: emergency stop, verified. */
export default class Stop extends BaseCommand {
  static override summary = 'Emergency stop: roll back experiments on every target instance, verified'
  static override description =
    'Calls the stop-all route (DELETE /chaos/experiments) on every instance with --all, or rolls back one experiment by id, then reads GET /chaos back to verify nothing is left active. Exit 4 if an instance could not be stopped or verified.'
  static override examples = [
    {
      command: '<%= config.bin %> stop --all --target http://127.0.0.1:8080',
      description: 'stop everything',
    },
    {
      command: '<%= config.bin %> stop network_latency.20261128t112233z-3f9a1c',
      description: 'stop one experiment',
    },
  ]
  static override args = { id: Args.string({ description: 'experiment id to roll back (see chaos status)' }) }
  static override flags = {
    ...targetFlags,
    all: Flags.boolean({ description: 'stop every experiment on every instance', default: false }),
  }

  async run(): Promise<{ instances: StopResult[] }> {
    const { args, flags } = await this.parse(Stop)
    const [{ loadConfig }, { requireTarget }, { emergencyStop }, { RuntimeFailure, InvalidInputError }] =
      await Promise.all([
        import('../src/config.js'),
        import('../src/cli/target.js'),
        import('../src/engine/operator.js'),
        import('../src/errors.js'),
      ])
    if (!flags.all && !args.id)
      throw new InvalidInputError('say what to stop', 'chaos stop --all, or chaos stop <experiment id>')
    const config = await loadConfig({ cwd: process.cwd(), env: process.env, path: flags.config })
    const { targets, token, controlPrefix } = requireTarget(flags, config)
    const instances = await emergencyStop(targets, token, flags.all ? undefined : args.id, {
      prefix: controlPrefix,
    })
    const c = this.out.color
    for (const r of instances) {
      if (r.error) this.out.line(`${c.red('✗')} ${r.target}: ${r.error}`)
      else {
        const ids = r.stopped.map((e) => e.id).join(', ') || 'nothing was active'
        this.out.line(
          `${r.verified ? c.green('✓') : c.red('✗')} ${r.target}: stopped ${ids}; ${r.verified ? 'verified: nothing active' : 'NOT verified'}`,
        )
      }
    }
    if (instances.some((r) => !r.verified))
      throw new RuntimeFailure('emergency stop could not be verified on every instance')
    return { instances }
  }
}
