import { BaseCommand } from '../src/cli/base-command.js'
import { targetFlags } from '../src/cli/flags.js'
import type { InstanceStatus } from '../src/engine/operator.js'

/** `chaos status`: agent info and active experiments per target instance. */
export default class Status extends BaseCommand {
  static override summary = 'Show the chaos agent and active experiments of each target instance'
  static override description =
    'Reads GET /chaos of every configured target instance: agent, protocol, environment, wrapped services and active experiments with their live counters and lease. Exit 4 when an instance cannot be read: unreachable, or it refused the token (HTTP 401/403), or it has no control endpoint.'
  static override examples = [
    {
      command: '<%= config.bin %> status --target http://127.0.0.1:8080 --token "$CHAOS_TOKEN"',
      description: 'one instance',
    },
    { command: '<%= config.bin %> status --json', description: 'the configured target, as JSON' },
  ]
  static override flags = { ...targetFlags }

  async run(): Promise<{ instances: InstanceStatus[] }> {
    const { flags } = await this.parse(Status)
    const [{ loadConfig }, { requireTarget }, { readStatus, statusFailureSummary }, { RuntimeFailure }] =
      await Promise.all([
        import('../src/config.js'),
        import('../src/cli/target.js'),
        import('../src/engine/operator.js'),
        import('../src/errors.js'),
      ])
    const config = await loadConfig({ cwd: process.cwd(), env: process.env, path: flags.config })
    const { targets, token, controlPrefix } = requireTarget(flags, config)
    const instances = await readStatus(targets, token, undefined, { prefix: controlPrefix })
    const c = this.out.color
    for (const s of instances) {
      if (!s.agent) {
        this.out.line(`${c.red('✗')} ${s.error ?? `${s.target}: unreachable`}`)
        continue
      }
      const a = s.agent
      this.out.line(
        `${c.green('●')} ${s.target}  ${a.service} (${a.instance}) protocol ${a.protocol}${a.environment ? `, ${a.environment}` : ''}`,
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
    const failure = statusFailureSummary(instances)
    if (failure !== null) {
      const refused = instances.some((s) => s.problem === 'TOKEN_REFUSED')
      throw new RuntimeFailure(
        failure,
        refused ? "set CHAOS_TOKEN (or --token, or token: in the config) to the agent's token" : undefined,
      )
    }
    return { instances }
  }
}
