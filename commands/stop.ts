import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { discoveryFlags, targetFlags } from '../src/cli/flags.js'
import type { StopResult } from '../src/engine/operator.js'

/** One instance in `chaos stop --json`: the stop's result, where it was found and what its source says. */
export type FleetStopResult = StopResult & { source: string; state: 'UP' | 'DOWN'; reason: string | null }

/** `chaos stop [ID] [--all]`: emergency stop, verified. */
export default class Stop extends BaseCommand {
  static override summary = 'Emergency stop: roll back experiments on every target instance, verified'
  static override description =
    'Calls the stop-all route (DELETE /chaos/experiments) on every instance with --all; or, given a scenario id (or the generated experiment id chaos status shows), rolls back every active experiment of that scenario on every instance. Then reads GET /chaos back to verify none is left active. Instances are the static --target ones and those --discover finds (docs/discovery.md), called concurrently (--max-parallel), each call bounded by a timeout so a dead instance cannot hold the stop. An instance its discovery source reports DOWN is still tried; when it cannot be reached it is listed as skipped, with why. Exit 4 if an instance could not be stopped or verified, or a discovery source could not be asked.'
  static override examples = [
    {
      command: '<%= config.bin %> stop --all --target http://127.0.0.1:8080',
      description: 'stop everything',
    },
    {
      command: '<%= config.bin %> stop network_latency',
      description: "stop the scenario's running experiment",
    },
    {
      command: '<%= config.bin %> stop network_latency.20261128t112233z-3f9a1c',
      description: 'stop one experiment by the id chaos status shows',
    },
  ]
  static override args = {
    id: Args.string({
      description: 'scenario id, or experiment id (see chaos status), whose active experiments to roll back',
    }),
  }
  static override flags = {
    ...targetFlags,
    ...discoveryFlags,
    all: Flags.boolean({ description: 'stop every experiment on every instance', default: false }),
  }

  async run(): Promise<{ instances: FleetStopResult[]; source_errors: string[] }> {
    const { args, flags } = await this.parse(Stop)
    const [
      { loadConfig },
      { resolveFleet, withSource },
      { emergencyStop },
      { RuntimeFailure, InvalidInputError },
    ] = await Promise.all([
      import('../src/config.js'),
      import('../src/cli/fleet.js'),
      import('../src/engine/operator.js'),
      import('../src/errors.js'),
    ])
    if (!flags.all && !args.id)
      throw new InvalidInputError(
        'say what to stop',
        'chaos stop --all, or chaos stop <scenario id> (or the experiment id chaos status shows)',
      )
    const config = await loadConfig({ cwd: process.cwd(), env: process.env, path: flags.config })
    const fleet = await resolveFleet(flags, config)
    const selector = flags.all || !args.id ? { all: true as const } : { match: args.id }
    const results = await emergencyStop(
      fleet.instances.map((i) => i.url),
      fleet.token,
      selector,
      { prefix: fleet.controlPrefix, maxParallel: fleet.maxParallel },
    )
    const instances: FleetStopResult[] = withSource(fleet, results)
    // A DOWN instance that cannot be reached is skipped, not a failed stop: its source already says
    // it is gone. One that answers is stopped and verified like any other.
    const skipped = (r: FleetStopResult) => r.state === 'DOWN' && r.problem === 'UNREACHABLE'
    const c = this.out.color
    const what = 'match' in selector ? `"${selector.match}"` : undefined
    for (const e of fleet.sourceErrors) this.out.line(`${c.red('✗')} ${e}`)
    if (fleet.instances.length === 0) this.out.line('no instance configured or found: nothing to stop')
    for (const r of instances) {
      const from = r.source === 'static' ? '' : `  [${r.source}]`
      if (skipped(r))
        this.out.line(`${c.yellow('-')} ${r.target}: skipped: DOWN (${r.reason}); ${r.error}${from}`)
      else if (r.error) this.out.line(`${c.red('✗')} ${r.error}${from}`)
      else {
        const ids = r.stopped.map((e) => e.id).join(', ')
        const stopped = ids ? `stopped ${ids}` : `nothing ${what ? `matching ${what} ` : ''}was active`
        const check = r.verified
          ? `verified: ${what ? `none matching ${what}` : 'nothing'} active`
          : 'NOT verified: still active'
        this.out.line(`${r.verified ? c.green('✓') : c.red('✗')} ${r.target}: ${stopped}; ${check}${from}`)
      }
    }
    const distinct = new Set(instances.flatMap((r) => r.stopped.map((e) => e.id)))
    if (what && distinct.size > 1)
      this.out.line(`${distinct.size} experiments matched ${what}: stopped all of them`)
    const others = [...new Set(instances.flatMap((r) => r.still_active))]
    // Nothing matched while other experiments run: most likely a mistyped name, and the fault the
    // operator meant is still live, so this is not a success.
    const counted = instances.filter((r) => !skipped(r))
    if (what && distinct.size === 0 && others.length > 0 && counted.every((r) => r.verified))
      throw new InvalidInputError(
        `no active experiment matches ${what}; still active: ${others.join(', ')}`,
        'chaos stop <scenario id or experiment id> of one of those, or chaos stop --all',
      )
    if (counted.some((r) => !r.verified)) {
      const refused = counted.some((r) => r.problem === 'TOKEN_REFUSED')
      throw new RuntimeFailure(
        refused
          ? 'emergency stop not done: the agent refused the token'
          : 'emergency stop could not be verified on every instance',
        refused ? "set CHAOS_TOKEN (or --token, or token: in the config) to the agent's token" : undefined,
      )
    }
    if (fleet.sourceErrors.length > 0)
      throw new RuntimeFailure(
        `emergency stop incomplete: ${fleet.sourceErrors.length} discovery source${fleet.sourceErrors.length === 1 ? '' : 's'} could not be asked, so their instances were not stopped`,
        'see the ✗ lines above; stop those instances with --target URL',
      )
    return { instances, source_errors: fleet.sourceErrors }
  }
}
