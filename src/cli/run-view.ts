/**
 * How a run looks in a terminal: an ora spinner with a live line on a TTY, one plain line per
 * lifecycle event otherwise (logs, CI, cron). `--quiet` keeps only the verdict.
 */
import ora, { type Ora } from 'ora'
import { formatDuration } from '../duration.js'
import type { Progress } from '../engine/experiment.js'
import type { LogFields, LogLevel } from '../logger.js'
import type { ExperimentRecord } from '../record.js'
import type { Scenario } from '../scenario/schema.js'
import type { Output } from './output.js'

export interface RunView {
  onEvent(level: LogLevel, event: string, fields: LogFields): void
  onProgress(progress: Progress): void
  onExperimentStart(scenario: Scenario, index: number, total: number): void
  onExperimentDone(experiment: ExperimentRecord): void
  onPause(ms: number, next: Scenario): void
  /** Prints a line that must be seen even mid-spinner (e.g. the Ctrl-C notice). */
  notice(text: string): void
  close(): void
}

// chaos_preflight_passed is printed also under the spinner: it names the target's environment.
const QUIET_EVENTS = new Set(['chaos_recovered', 'chaos_experiment_finished'])

export function createRunView(out: Output, options: { quiet: boolean }): RunView {
  const c = out.color
  // discardStdin off: ora's default puts stdin in raw mode, where Ctrl-C no longer sends SIGINT,
  // so the brake (rollback, exit 130) would be ignored while the spinner runs.
  // A terminal that reports no width (a pty nobody sized) makes ora redraw in a busy loop: plain
  // lines there, as in a log.
  const width = (out.stdout as { columns?: number }).columns ?? 0
  const spinner: Ora | null =
    out.tty && width > 0 && !out.json && !options.quiet
      ? ora({ stream: out.stdout, discardStdin: false })
      : null
  let label = ''
  const print = (text: string) => {
    if (options.quiet) return
    if (spinner?.isSpinning) spinner.clear()
    out.line(text)
    if (spinner?.isSpinning) spinner.render()
  }
  const fields = (f: LogFields) =>
    Object.entries(f)
      .filter(([k, v]) => v !== null && v !== undefined && k !== 'injected_as' && k !== 'experiment_id')
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v as string)}`)
      .join(' ')
  return {
    onEvent(level, event, f) {
      if (QUIET_EVENTS.has(event) && spinner) return
      const tag = level === 'warn' || level === 'error' ? c.yellow(event) : c.cyan(event)
      print(`${label} ${tag} ${fields(f)}`.trim())
    },
    onProgress(p) {
      const parts = [
        `${label} ${p.phase}`,
        `${formatDuration(p.elapsed_ms)}${p.remaining_ms !== null ? ` (${formatDuration(Math.max(0, p.remaining_ms))} left)` : ''}`,
        `${p.rps.toFixed(1)} rps`,
        `err ${(p.error_rate * 100).toFixed(1)}%`,
        `p95 ${p.latency_p95_ms === null ? '-' : `${Math.round(p.latency_p95_ms)}ms`}`,
      ]
      if (p.breaker_state) parts.push(`breaker ${p.breaker_state}`)
      if (p.message) parts.push(c.yellow(p.message))
      if (spinner) spinner.text = parts.join(' · ')
      else if (p.message) print(parts.join(' · '))
    },
    onExperimentStart(scenario, index, total) {
      label = c.bold(`[${index + 1}/${total} ${scenario.id}]`)
      print(
        `${label} ${scenario.name}: ${scenario.fault_config.fault_type} on ${scenario.target_service}, p=${scenario.fault_config.probability}, ${scenario.fault_config.blast_radius}, ${scenario.duration_seconds}s`,
      )
      spinner?.start(`${label} preflight`)
    },
    onExperimentDone(e) {
      spinner?.stop()
      const verdict =
        e.state === 'COMPLETED'
          ? e.hypothesis_held === null
            ? c.yellow('INCONCLUSIVE')
            : e.hypothesis_held
              ? c.green('hypothesis held')
              : c.red('hypothesis FAILED')
          : c.yellow(e.state)
      const rollback = e.rollback.attempted
        ? e.rollback.verified
          ? 'rollback verified'
          : c.red('ROLLBACK NOT VERIFIED')
        : 'nothing injected'
      const why = e.abort_reason ?? e.error ?? e.inconclusive_reason
      print(
        `${label} ${verdict} · ${rollback}${e.metrics.mttr_seconds !== null ? ` · MTTR ${e.metrics.mttr_seconds}s` : ''}${why ? ` · ${why}` : ''}`,
      )
    },
    onPause(ms, next) {
      print(`pausing ${formatDuration(ms)} before ${next.id}`)
    },
    notice(text) {
      if (spinner?.isSpinning) spinner.clear()
      out.errorLine(c.yellow(text))
      if (spinner?.isSpinning) spinner.render()
    },
    close() {
      spinner?.stop()
    },
  }
}
