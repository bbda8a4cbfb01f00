import { Flags } from '@oclif/core'
import { BaseCommand } from '../../src/cli/base-command.js'
import { metricsUrlFlag, targetFlags } from '../../src/cli/flags.js'
import type { AgentCheckResult } from '../../src/conformance/suite.js'

/** `chaos agent check`: the control-protocol-v1 conformance suite against any agent. */
export default class AgentCheck extends BaseCommand {
  static override summary = 'Check that an agent speaks control protocol v1 and the metrics contract'
  static override description =
    'Drives the agent at --target through every documented case of control protocol v1 (docs/control-protocol.md): authentication, agent info, 400/404/409/410/413, start, lease renewal and expiry, rollback, emergency stop, SINGLE_REQUEST isolation and the metrics contract. It injects only 1 ms of latency, only into its own requests tagged x-chaos-experiment, and stops everything it started. One line per case; exit 0 when every case passes, 1 when one fails, 2 on bad input, 3 when an experiment is already running there, 4 when the target does not answer.'
  static override examples = [
    {
      command: '<%= config.bin %> agent check --target http://127.0.0.1:8080 --token "$CHAOS_TOKEN"',
      description: 'check a service that embeds an agent',
    },
    {
      command:
        '<%= config.bin %> agent check --target http://127.0.0.1:8080 --metrics-url http://127.0.0.1:9464/metrics --probe-path /health/deps',
      description: 'metrics served on another port; a route that calls a wrapped service',
    },
  ]
  static override flags = {
    ...targetFlags,
    ...metricsUrlFlag,
    'probe-path': Flags.string({
      description:
        'a route of the target whose handling calls --probe-service; {{today+N}} becomes a date [default: /api/availability?check_in={{today+3}}&check_out={{today+5}}]',
      helpValue: 'PATH',
    }),
    'probe-url': Flags.string({
      description:
        'a full URL to probe instead of --target + --probe-path, e.g. a chaos proxy route (http://127.0.0.1:18080/health)',
      helpValue: 'URL',
      exclusive: ['probe-path'],
    }),
    'probe-service': Flags.string({
      description:
        'the wrapped service --probe-path calls [default: pms_adapter if wrapped, else the first one]',
      helpValue: 'NAME',
    }),
  }

  async run(): Promise<AgentCheckResult> {
    const { flags } = await this.parse(AgentCheck)
    const [{ loadConfig }, { requireTarget }, { runAgentCheck }, { InvalidInputError }, { abortOnSignals }] =
      await Promise.all([
        import('../../src/config.js'),
        import('../../src/cli/target.js'),
        import('../../src/conformance/suite.js'),
        import('../../src/errors.js'),
        import('../../src/cli/signals.js'),
      ])
    const config = await loadConfig({ cwd: process.cwd(), env: process.env, path: flags.config })
    const { targets, token, metricsUrls, controlPrefix } = requireTarget(flags, config)
    if (targets.length !== 1) {
      throw new InvalidInputError(
        `chaos agent check checks one instance at a time, got ${targets.length} targets`,
        'pass one --target URL',
      )
    }
    const probePath = flags['probe-path']
    if (probePath !== undefined && !probePath.startsWith('/')) {
      throw new InvalidInputError(
        `--probe-path: "${probePath}" must start with /`,
        'e.g. --probe-path /api/rooms',
      )
    }
    const probeUrl = flags['probe-url']
    if (probeUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(probeUrl)) {
      throw new InvalidInputError(
        `--probe-url: "${probeUrl}" is not an http(s) URL`,
        'e.g. --probe-url http://127.0.0.1:18080/health',
      )
    }
    const c = this.out.color
    this.out.line(`checking ${targets[0]} against control protocol v1`)
    const signals = abortOnSignals((text) => this.out.errorLine(text))
    let result: AgentCheckResult
    try {
      result = await runAgentCheck(
        {
          target: targets[0]!,
          token,
          prefix: controlPrefix,
          metricsUrl: metricsUrls?.[0],
          probePath,
          probeUrl,
          probeService: flags['probe-service'],
        },
        {
          signal: signals.signal,
          onCase: (r) => {
            this.out.line(r.passed ? `${c.green('✔')} ${r.name}` : `${c.red('✘')} ${r.name} — ${r.detail}`)
            for (const note of r.notes) this.out.line(`  ${c.dim(note)}`)
          },
        },
      )
    } catch (err) {
      // Interrupted: the suite has already stopped everything it started (emergency stop).
      if (signals.signal.aborted) this.exit(130)
      throw err
    } finally {
      signals.dispose()
    }
    const total = result.cases.length
    this.out.line(
      result.ok
        ? c.green(`${total} of ${total} cases passed: ${result.control_url} speaks control protocol v1`)
        : c.red(
            `${result.failed} of ${total} cases failed: ${result.cases
              .filter((r) => !r.passed)
              .map((r) => r.id)
              .join(', ')}`,
          ),
    )
    return this.finish(result, result.ok ? 0 : 1)
  }
}
