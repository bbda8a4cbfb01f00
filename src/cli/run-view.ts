/**
 * How a run looks in a terminal: live lines as timestamped sentences (`11:07:04 injecting EXCEPTION
 * into pms_adapter (20%, SINGLE_SERVICE) for 10s`), with an ora spinner showing progress below them
 * on a TTY; the same lines without the spinner otherwise (logs, CI, cron). The guide's event names
 * stay in `events.jsonl`, `--json` and beside each sentence in `--log-file`. `--quiet` keeps only
 * the verdict.
 */
import { stripVTControlCharacters } from 'node:util'
import ora, { type Ora } from 'ora'
import type { Clock } from '../clock.js'
import { formatDuration } from '../duration.js'
import type { Progress } from '../engine/experiment.js'
import type { LogFields, LogLevel } from '../logger.js'
import type { ExperimentRecord } from '../record.js'
import { clockTime, eventSentence } from '../render/live-lines.js'
import type { Scenario } from '../scenario/schema.js'
import { num } from '../wording.js'
import { DEFAULT_COLUMNS, type Output } from './output.js'

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

/** A terminal stream as ora reads it: a TTY that may report 0 columns when nobody sized it. */
type TerminalStream = NodeJS.WritableStream & {
  isTTY?: boolean
  columns?: number
  rows?: number
  cursorTo?(x: number, y?: number): boolean
  moveCursor?(dx: number, dy: number): boolean
  clearLine?(dir: -1 | 0 | 1): boolean
}

/**
 * `stream` as ora should see it: the same terminal, but {@link DEFAULT_COLUMNS} wide when it reports
 * no width. ora divides the text's width by the columns to count the lines it must clear: at 0
 * columns that count is infinite and it prints cursor-up sequences without end (a pty nobody sized,
 * as `script` and some CI runners give). Writes and cursor moves go to the real stream.
 */
export function sizedStream(stream: TerminalStream, fallback = DEFAULT_COLUMNS): TerminalStream {
  const real = stream
  const sized = {
    isTTY: real.isTTY,
    get columns() {
      return real.columns !== undefined && real.columns > 0 ? real.columns : fallback
    },
    get rows() {
      return real.rows !== undefined && real.rows > 0 ? real.rows : 24
    },
    write: (...args: Parameters<NodeJS.WritableStream['write']>) =>
      (real.write as (...a: unknown[]) => boolean)(...args),
    cursorTo: (x: number, y?: number) => real.cursorTo?.(x, y) ?? true,
    moveCursor: (dx: number, dy: number) => real.moveCursor?.(dx, dy) ?? true,
    clearLine: (dir: -1 | 0 | 1) => real.clearLine?.(dir) ?? true,
    on: (event: string, fn: () => void) => (real.on(event, fn), sized),
    once: (event: string, fn: () => void) => (real.once(event, fn), sized),
    removeListener: (event: string, fn: () => void) => (real.removeListener(event, fn), sized),
  }
  return sized as unknown as TerminalStream
}

/** `text` cut to `width` visible characters (colour codes dropped when it is cut). */
function fit(text: string, width: number): string {
  const plain = stripVTControlCharacters(text)
  return plain.length <= width ? text : `${plain.slice(0, Math.max(0, width - 1))}…`
}

/** Options of {@link createRunView}. */
export interface RunViewOptions {
  quiet: boolean
  /** The time each live line is stamped with (the run's injected clock). */
  clock: Clock
}

/**
 * The live view of a run on `out`: timestamped sentences for the lifecycle events, and on a TTY a
 * spinner (cut to one line of the terminal) with the phase, rates and p95.
 */
export function createRunView(out: Output, options: RunViewOptions): RunView {
  const c = out.color
  // discardStdin off: ora's default puts stdin in raw mode, where Ctrl-C no longer sends SIGINT,
  // so the brake (rollback, exit 130) would be ignored while the spinner runs.
  const spinner: Ora | null =
    out.tty && !out.json && !options.quiet
      ? ora({ stream: sizedStream(out.stdout, out.columns), discardStdin: false })
      : null
  // ora wraps a text wider than the terminal over several lines; one line redraws cleanly.
  const spinnerWidth = () => {
    const columns = (out.stdout as TerminalStream).columns
    return (columns !== undefined && columns > 0 ? columns : out.columns) - 3
  }
  let label = ''
  const stamp = (text: string) => `${c.dim(clockTime(options.clock.now()))} ${text}`
  const print = (text: string, event?: string) => {
    if (options.quiet) return
    if (spinner?.isSpinning) spinner.clear()
    if (event) out.eventLine(stamp(text), event)
    else out.line(stamp(text))
    if (spinner?.isSpinning) spinner.render()
  }
  return {
    onEvent(level, event, f) {
      const sentence = eventSentence(event, f)
      if (sentence === null) return
      print(level === 'warn' || level === 'error' ? c.yellow(sentence) : sentence, event)
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
      if (spinner) spinner.text = fit(parts.join(' · '), spinnerWidth())
      // Off a TTY only what a person must know now (e.g. "rolling back"), as a sentence.
      else if (p.message) print(c.yellow(p.message))
    },
    onExperimentStart(scenario, index, total) {
      label = c.bold(`[${index + 1}/${total} ${scenario.id}]`)
      print(`${c.bold(`experiment ${index + 1}/${total}: ${scenario.id}`)} (${scenario.name})`)
      spinner?.start(fit(`${label} preflight`, spinnerWidth()))
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
      const mttr = e.metrics.mttr_seconds !== null ? ` · MTTR ${num(e.metrics.mttr_seconds, 1)}s` : ''
      print(`${e.id}: ${verdict} · ${rollback}${mttr}${why ? ` · ${why}` : ''}`)
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
