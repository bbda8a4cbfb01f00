/**
 * Terminal output: colour via chalk (off with NO_COLOR or when not a TTY), plain lines in logs,
 * nothing but the JSON document on stdout when --json is on.
 */
import { Chalk, type ChalkInstance } from 'chalk'

export interface OutputOptions {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  color: boolean
  tty: boolean
  json: boolean
  debug: boolean
  /** The terminal's width in columns; see {@link terminalColumns}. */
  columns?: number
}

export interface Output {
  readonly color: ChalkInstance
  readonly tty: boolean
  readonly json: boolean
  readonly debug: boolean
  /** Columns the output may use (tables are narrowed to fit): never 0, 80 when unknown. */
  readonly columns: number
  /** A line of human output on stdout (suppressed in --json mode). */
  line(text?: string): void
  /**
   * A live line telling a lifecycle event as a sentence: printed as {@link line}; a log file
   * (`--log-file`) also gets the guide's event name beside it, so logs stay greppable by event.
   */
  eventLine(text: string, event: string): void
  /** A line on stderr (always shown: errors and warnings). */
  errorLine(text: string): void
  /** Debug line on stderr, only with --debug. */
  debugLine(text: string): void
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
}

/** The fallback width when the terminal reports none (a pipe, or a pty nobody sized: 0 columns). */
export const DEFAULT_COLUMNS = 80

/**
 * The width to lay output out for: the terminal's own, else `COLUMNS` from the environment (a pipe
 * whose reader set it), else {@link DEFAULT_COLUMNS}. A reported 0 counts as unknown.
 */
export function terminalColumns(reported: number | undefined, env: string | undefined): number {
  if (reported !== undefined && reported > 0) return reported
  const fromEnv = Number(env)
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_COLUMNS
}

export function createOutput(options: OutputOptions): Output {
  const color = new Chalk({ level: options.color ? 1 : 0 })
  const line = (text = '') => {
    if (!options.json) options.stdout.write(text + '\n')
  }
  return {
    color,
    tty: options.tty,
    json: options.json,
    debug: options.debug,
    columns: options.columns !== undefined && options.columns > 0 ? options.columns : DEFAULT_COLUMNS,
    stdout: options.stdout,
    stderr: options.stderr,
    line,
    eventLine: (text) => line(text),
    errorLine(text) {
      options.stderr.write(text + '\n')
    },
    debugLine(text) {
      if (options.debug) options.stderr.write(color.dim(text) + '\n')
    },
  }
}
