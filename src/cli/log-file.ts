/**
 * `--log-file PATH` for unattended runs (cron GameDays, guide section 11): every line the command
 * prints is also appended to the file, plain (no colour), so `>> /var/log/chaos-gameday.log` is not
 * needed. Lines are written synchronously (O_APPEND, one write per line): a run that exits right
 * after an error still has that error in its log, and lines of concurrent writers never interleave.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { stripVTControlCharacters } from 'node:util'
import { InvalidInputError } from '../errors.js'
import type { Output } from './output.js'

/** An append-only log file open for writing. */
export interface LogFile {
  readonly path: string
  /** Appends one line (colour codes removed). */
  write(line: string): void
  /** Closes the file; later writes are dropped. Safe to call more than once. */
  close(): void
}

/** Opens (creating it if needed) `path` for appending. Throws InvalidInputError (exit 2) if it cannot. */
export function openLogFile(path: string, flag = '--log-file'): LogFile {
  let fd: number | null
  try {
    fd = openSync(path, 'a', 0o644)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new InvalidInputError(
      `${flag} ${path}: cannot open for appending (${e.code ?? e.message})`,
      'give a file in an existing, writable directory',
    )
  }
  return {
    path,
    write(line) {
      if (fd === null) return
      try {
        writeSync(fd, stripVTControlCharacters(line) + '\n')
      } catch {
        // a full disk must not stop a run that is rolling back; the terminal still has the line
      }
    },
    close() {
      if (fd === null) return
      closeSync(fd)
      fd = null
    },
  }
}

/**
 * An Output that prints like `out` and also appends every line to `log`: human lines (also with
 * --json, where the terminal only gets the JSON document), warnings and errors, and debug lines
 * when --debug is on. A live event line carries its event name in the log: `<sentence> [chaos_…]`.
 */
export function teeOutput(out: Output, log: LogFile): Output {
  return {
    color: out.color,
    tty: out.tty,
    json: out.json,
    debug: out.debug,
    columns: out.columns,
    stdout: out.stdout,
    stderr: out.stderr,
    line(text = '') {
      out.line(text)
      log.write(text)
    },
    eventLine(text, event) {
      out.eventLine(text, event)
      // The sentence for people, the guide's event name for grep (docs/reports.md, "Live lines").
      log.write(`${text} [${event}]`)
    },
    errorLine(text) {
      out.errorLine(text)
      log.write(text)
    },
    debugLine(text) {
      out.debugLine(text)
      if (out.debug) log.write(text)
    },
  }
}
