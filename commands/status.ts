import { BaseCommand } from '../src/cli/base-command.js'
import { discoveryFlags, targetFlags } from '../src/cli/flags.js'
import type { InstanceStatus } from '../src/engine/operator.js'

/** One instance in `chaos status --json`: its status, where it was found and what its source says. */
export type FleetInstanceStatus = InstanceStatus & {
  /** `static` (--target) or the discovery spec that found it. */
  source: string
  /** DOWN: the source reports it down (then an unreadable instance is not a failure). */
  state: 'UP' | 'DOWN'
  reason: string | null
}

/** `chaos status`: agent info and active experiments per target instance. */
export default class Status extends BaseCommand {
  static override summary = 'Show the chaos agent and active experiments of each target instance'
  static override description =
    'Reads GET /chaos of every configured target instance (static --target ones and those --discover finds, docs/discovery.md), concurrently (--max-parallel): agent, protocol, environment, wrapped services and active experiments with their live counters and lease. An instance its discovery source reports DOWN is listed with why. Exit 4 when an instance that is not DOWN cannot be read (unreachable, the token refused with HTTP 401/403, no control endpoint) or a discovery source cannot be asked.'
  static override examples = [
    {
      command: '<%= config.bin %> status --target http://127.0.0.1:8080 --token "$CHAOS_TOKEN"',
      description: 'one instance',
    },
    { command: '<%= config.bin %> status --json', description: 'the configured target, as JSON' },
    {
      command:
        "<%= config.bin %> status --discover 'prometheus:up{job=\"hotel\"}' --prometheus http://127.0.0.1:9090 --instance-url 'http://{host}:8080'",
      description: 'every instance of a Prometheus job',
    },
  ]
  static override flags = { ...targetFlags, ...discoveryFlags }

  async run(): Promise<{ instances: FleetInstanceStatus[]; source_errors: string[] }> {
    const { flags } = await this.parse(Status)
    const [
      { loadConfig },
      { resolveFleet, withSource },
      { readStatus, statusFailureSummary },
      { RuntimeFailure },
    ] = await Promise.all([
      import('../src/config.js'),
      import('../src/cli/fleet.js'),
      import('../src/engine/operator.js'),
      import('../src/errors.js'),
    ])
    const config = await loadConfig({ cwd: process.cwd(), env: process.env, path: flags.config })
    const fleet = await resolveFleet(flags, config)
    const read = await readStatus(
      fleet.instances.map((i) => i.url),
      fleet.token,
      undefined,
      { prefix: fleet.controlPrefix, maxParallel: fleet.maxParallel },
    )
    const instances: FleetInstanceStatus[] = withSource(fleet, read)
    const c = this.out.color
    for (const e of fleet.sourceErrors) this.out.line(`${c.red('✗')} ${e}`)
    if (fleet.instances.length === 0) this.out.line('no instance configured or found')
    for (const s of instances) {
      const from = s.source === 'static' ? '' : `  [${s.source}]`
      if (!s.agent) {
        if (s.state === 'DOWN')
          this.out.line(
            `${c.yellow('-')} ${s.target}: skipped: DOWN (${s.reason}); ${s.error ?? 'unreachable'}${from}`,
          )
        else this.out.line(`${c.red('✗')} ${s.error ?? `${s.target}: unreachable`}${from}`)
        continue
      }
      const a = s.agent
      const down = s.state === 'DOWN' ? ` (its source says DOWN: ${s.reason})` : ''
      this.out.line(
        `${c.green('●')} ${s.target}  ${a.service} (${a.instance}) protocol ${a.protocol}${a.environment ? `, ${a.environment}` : ''}${down}${from}`,
      )
      this.out.line(`  services: ${a.services.join(', ') || 'none wrapped'}`)
      if (a.active_experiments.length === 0) this.out.line('  no active experiment')
      for (const e of a.active_experiments) {
        this.out.line(
          `  ${c.yellow('⚡')} ${e.id}: ${e.fault_config.fault_type} on ${e.target_service} (p=${e.fault_config.probability}, ${e.fault_config.blast_radius}) ` +
            `calls ${e.calls_seen}, faults ${e.faults_injected}, lease until ${e.lease_expires_at}`,
        )
      }
    }
    // An instance its source already reports DOWN is expected to be unreadable: listed, not a failure.
    const failure = statusFailureSummary(instances.filter((s) => s.state === 'UP'))
    if (failure !== null) {
      const refused = instances.some((s) => s.problem === 'TOKEN_REFUSED')
      throw new RuntimeFailure(
        failure,
        refused ? "set CHAOS_TOKEN (or --token, or token: in the config) to the agent's token" : undefined,
      )
    }
    if (fleet.sourceErrors.length > 0)
      throw new RuntimeFailure(
        `${fleet.sourceErrors.length} discovery source${fleet.sourceErrors.length === 1 ? '' : 's'} could not be asked`,
        'see the ✗ lines above',
      )
    return { instances, source_errors: fleet.sourceErrors }
  }
}
