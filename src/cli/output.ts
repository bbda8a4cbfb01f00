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
}

export interface Output {
  readonly color: ChalkInstance
  readonly tty: boolean
  readonly json: boolean
  readonly debug: boolean
  /** A line of human output on stdout (suppressed in --json mode). */
  line(text?: string): void
  /** A line on stderr (always shown: errors and warnings). */
  errorLine(text: string): void
  /** Debug line on stderr, only with --debug. */
  debugLine(text: string): void
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
}

export function createOutput(options: OutputOptions): Output {
  const color = new Chalk({ level: options.color ? 1 : 0 })
  return {
    color,
    tty: options.tty,
    json: options.json,
    debug: options.debug,
    stdout: options.stdout,
    stderr: options.stderr,
    line(text = '') {
      if (!options.json) options.stdout.write(text + '\n')
    },
    errorLine(text) {
      options.stderr.write(text + '\n')
    },
    debugLine(text) {
      if (options.debug) options.stderr.write(color.dim(text) + '\n')
    },
  }
}
