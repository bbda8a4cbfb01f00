/**
 * The process-facing half of `chaos run` (and later monkey/schedule/gameday): picks the target
 * (configured, or the built-in sandbox as a child process), wires signals and the terminal view
 * to the run service, and always stops what it started.
 */
import { systemClock } from '../clock.js'
import { executeRun, type RunResult } from '../engine/run-service.js'
import type { Workspace } from '../workspace.js'
import type { RunOptions } from '../plan.js'
import type { Scenario } from '../scenario/schema.js'
import type { Output } from './output.js'
import { createRunView } from './run-view.js'
import { startSandboxProcess, type SandboxProcess } from './sandbox-process.js'
import { abortOnSignals } from './signals.js'
import { resolveTarget } from './target.js'

export interface PerformRunInput {
  workspace: Workspace
  scenarios: readonly Scenario[]
  selection: string[]
  options: RunOptions
  flags: { target?: string[]; token?: string; prometheus?: string; 'keep-going'?: boolean; quiet?: boolean }
  leaseSeconds: number
}

/** Whether a pid is alive (for the run lock's stale-owner check). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function performRun(input: PerformRunInput, out: Output): Promise<RunResult> {
  const { config } = input.workspace
  const view = createRunView(out, { quiet: input.flags.quiet ?? false })
  const signals = abortOnSignals((text) => view.notice(text))
  let sandbox: SandboxProcess | undefined
  try {
    let target = resolveTarget(input.flags, config)
    if (!target) {
      sandbox = await startSandboxProcess()
      if (!input.flags.quiet)
        out.line(
          `no target configured: started the built-in sandbox at ${sandbox.url} (stopped after the run)`,
        )
      target = { targets: [sandbox.url], token: sandbox.token }
    }
    return await executeRun(
      {
        scenarios: input.scenarios,
        selection: input.selection,
        targets: target.targets,
        token: target.token,
        sandbox: sandbox !== undefined,
        options: input.options,
        keepGoing: input.flags['keep-going'] ?? false,
        leaseSeconds: input.leaseSeconds,
        reportsDir: config.reportsDir,
        workload: config.workload?.requests,
        prometheus: input.flags.prometheus ?? config.prometheus,
      },
      {
        clock: systemClock,
        signal: signals.signal,
        pid: process.pid,
        isAlive,
        onEvent: (level, event, fields) => view.onEvent(level, event, fields),
        onProgress: (p) => view.onProgress(p),
        onExperimentStart: (s, i, n) => view.onExperimentStart(s, i, n),
        onExperimentDone: (e) => view.onExperimentDone(e),
        onPause: (ms, next) => view.onPause(ms, next),
      },
    )
  } finally {
    view.close()
    await sandbox?.stop()
    signals.dispose()
  }
}
