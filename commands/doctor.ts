import { Args } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { catalogueFlags, discoveryFlags, metricsUrlFlag, targetFlags } from '../src/cli/flags.js'
import { ExitCode } from '../src/exit-codes.js'
import type { DoctorResult } from '../src/onboarding/doctor.js'

/** `chaos doctor [SELECTION...]`: is the target ready for `chaos run`? One line per check, with the fix. */
export default class Doctor extends BaseCommand {
  static override summary = 'Check that your service is ready for chaos run, one line per check with the fix'
  static override description =
    "Checks the configured target: it answers, the token is accepted, the agent speaks control protocol 1, the scenarios' services are wrapped, no experiment is running, the environment (a production warning), the clocks agree, /metrics has what the checks need, and every workload route answers 2xx (one request each). Without a selection it checks the scenarios of scenario_dirs; with one, the scenarios chaos run would select. Injects nothing. Exit 0 when no check failed (warnings allowed), 1 when one failed, 2 on bad input."
  static override examples = [
    { command: '<%= config.bin %> doctor', description: 'the target and scenarios of chaos.config.yaml' },
    {
      command:
        '<%= config.bin %> doctor ./chaos-scenarios/payments_api_exception.yaml --target http://localhost:3000',
      description: 'one scenario file against a given target (token from CHAOS_TOKEN)',
    },
    { command: '<%= config.bin %> doctor --json', description: 'the typed result' },
  ]
  static override args = {
    selection: Args.string({
      description: 'CATEGORY, SCENARIO_ID, FILE or DIR, or all (default: the scenarios of scenario_dirs)',
      multiple: true,
    }),
  }
  static override flags = { ...targetFlags, ...discoveryFlags, ...metricsUrlFlag, ...catalogueFlags }

  async run(): Promise<
    DoctorResult & { skipped?: Array<{ url: string; reason: string }>; source_errors?: string[] }
  > {
    const { args, flags } = await this.parse(Doctor)
    const [
      { openWorkspace },
      catalogue,
      { resolveTarget },
      { runDoctor },
      { InvalidInputError },
      { abortOnSignals },
    ] = await Promise.all([
      import('../src/workspace.js'),
      import('../src/scenario/catalogue.js'),
      import('../src/cli/target.js'),
      import('../src/onboarding/doctor.js'),
      import('../src/errors.js'),
      import('../src/cli/signals.js'),
    ])
    const cwd = process.cwd()
    const selection = args.selection ?? []
    // Without a selection: only the user's own scenarios (the built-in ones target the sandbox).
    const ws = await openWorkspace({
      cwd,
      env: process.env,
      configPath: flags.config,
      scenarioDirs: flags.scenarios,
      builtin: selection.length > 0 ? flags.builtin : false,
    })
    catalogue.assertNoProblems(ws.catalogue.problems)
    const scenarios =
      selection.length > 0
        ? (await catalogue.resolveSelection(ws.catalogue, selection, { cwd })).map((s) => s.scenario)
        : ws.catalogue.scenarios.map((s) => s.scenario)
    // A missing token is one of the doctor's failed lines, not a usage error: resolve the rest first.
    const token = flags.token ?? ws.config.token
    const target = resolveTarget({ ...flags, token: token ?? 'none' }, ws.config)
    if (!target) {
      throw new InvalidInputError(
        'no target configured: the doctor checks your service, not the built-in sandbox',
        'pass --target URL, set CHAOS_TARGET, or run chaos init to write chaos.config.yaml',
      )
    }
    const c = this.out.color
    const mark = { OK: c.green('✓'), WARN: c.yellow('!'), FAIL: c.red('✗') }
    // With discovery, the instances its sources report now (docs/discovery.md); DOWN ones are listed, not checked.
    const { upInstances } = await import('../src/cli/fleet.js')
    const { targets, skipped, sourceErrors } = await upInstances(
      { ...flags, token: token ?? 'none' },
      ws.config,
    )
    for (const e of sourceErrors) this.out.line(`${mark.FAIL} ${e}`)
    for (const s of skipped) this.out.line(`- ${s.url}: skipped: DOWN (${s.reason})`)
    this.out.line(
      `checking ${targets.join(', ')} for ${scenarios.length === 0 ? 'no scenario' : scenarios.map((s) => s.id).join(', ')}`,
    )
    const signals = abortOnSignals((text) => this.out.errorLine(text))
    let result: DoctorResult
    try {
      result = await runDoctor({
        targets,
        token,
        controlPrefix: target.controlPrefix,
        // Paired by position with the static targets only: discovered instances use <url>/metrics.
        ...(!target.discovery && { metricsUrls: target.metricsUrls }),
        workloadUrl: ws.config.workloadUrl,
        scenarios,
        workload: ws.config.workload?.requests,
        now: () => Date.now(),
        signal: signals.signal,
      })
    } catch (err) {
      if (signals.signal.aborted) this.exit(130)
      throw err
    } finally {
      signals.dispose()
    }
    for (const instance of result.instances) {
      if (result.instances.length > 1) this.out.line(instance.target)
      for (const check of instance.checks) {
        this.out.line(`${mark[check.status]} ${check.what}${check.fix ? ` — fix: ${check.fix}` : ''}`)
      }
    }
    const ok = result.ok && sourceErrors.length === 0
    const failed = result.failed + sourceErrors.length
    this.out.line(
      ok
        ? c.green(
            `ready: no check failed${result.warnings > 0 ? ` (${result.warnings} warning${result.warnings === 1 ? '' : 's'})` : ''}`,
          )
        : c.red(
            `${failed} check${failed === 1 ? '' : 's'} failed: fix ${failed === 1 ? 'it' : 'them'}, then run chaos doctor again`,
          ),
    )
    const json = target.discovery ? { ...result, ok, failed, skipped, source_errors: sourceErrors } : result
    return this.finish(json, ok ? ExitCode.OK : ExitCode.CHECK_FAILED)
  }
}
