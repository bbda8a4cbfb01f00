/**
 * Base class of every `chaos` command: shared flags, one-line errors with documented exit codes,
 * and `--json` output of the typed result a command returns. Only this layer (and bin/) touches
 * `process`; services below get a logger, a clock and an AbortSignal instead.
 */
import { resolve } from 'node:path'
import { Command, Flags, Errors, type Interfaces } from '@oclif/core'
import { ChaosError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import type { LogFile } from './log-file.js'
import { createOutput, terminalColumns, type Output } from './output.js'
import type { ReportFiles } from './report-files.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    config: Flags.string({
      description: 'config file (default: chaos.config.yaml found from the working directory upwards)',
      env: 'CHAOS_CONFIG',
      helpGroup: 'GLOBAL',
    }),
    debug: Flags.boolean({
      description: 'show stack traces and debug logs',
      default: false,
      helpGroup: 'GLOBAL',
    }),
  }

  /**
   * What to suggest when the command's required argument is missing (e.g. run: where the
   * scenario ids are listed, and examples); undefined: the pointer to --help.
   */
  static argumentHint?: string

  /** Terminal-aware printer (colour, spinners only on a TTY). */
  protected out!: Output

  private logFile?: LogFile

  /** The `--junit` / `--markdown` files of a command that runs experiments, closed in finally(). */
  private reportFiles?: ReportFiles

  /** The error that ended the command, for the report files of a command that made no run. */
  private failure?: Error

  override async init(): Promise<void> {
    await super.init()
    const debugEnv = process.env.DEBUG ?? ''
    const debug = this.argv.includes('--debug') || /(^|,)chaos/.test(debugEnv)
    this.out = createOutput({
      stdout: process.stdout,
      stderr: process.stderr,
      color: !process.env.NO_COLOR && process.stdout.isTTY === true,
      tty: process.stdout.isTTY === true && !process.env.CI,
      json: this.jsonEnabled(),
      debug,
      columns: terminalColumns(process.stdout.columns, process.env.COLUMNS),
    })
  }

  /**
   * Returns `result` as the command's typed result; with a non-zero exit code, prints it first
   * when --json is on (oclif would not, since exiting skips its JSON output) and exits.
   */
  protected finish<T>(result: T, exitCode: number): T {
    if (exitCode !== 0) {
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(exitCode)
    }
    return result
  }

  /**
   * `--log-file PATH`: from now on every line the command prints is also appended to PATH (plain).
   * Closed in finally(), which runs after catch(), so an error that ends the command is logged too.
   */
  protected async teeToLogFile(path: string | undefined): Promise<void> {
    if (path === undefined) return
    const { openLogFile, teeOutput } = await import('./log-file.js')
    this.logFile = openLogFile(resolve(process.cwd(), path))
    this.out = teeOutput(this.out, this.logFile)
  }

  /**
   * `--junit FILE` / `--markdown FILE` and `$GITHUB_STEP_SUMMARY`: checked now (exit 2 before
   * anything is injected), given to performRun, and closed when the command ends however it ends
   * (a verdict's exit, an error, Ctrl-C), so CI gets the results of every run that was made.
   */
  protected async openReportFiles(flags: {
    junit?: string
    markdown?: string
  }): Promise<ReportFiles | undefined> {
    const { openReportFiles, reportFileTargets } = await import('./report-files.js')
    const targets = reportFileTargets(flags, process.env.GITHUB_STEP_SUMMARY, process.cwd())
    this.reportFiles = await openReportFiles(targets, this.out)
    return this.reportFiles
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    await this.reportFiles?.close(this.failure ?? err)
    this.logFile?.close()
    return super.finally(err)
  }

  /**
   * Prints a one-line error (no stack trace unless --debug) and exits with the error's code. With
   * --json the error is one JSON line on stdout instead ({@link ErrorJson}), and nothing on stderr
   * but the --debug stack, so a script reads every outcome from stdout.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- oclif's catch is async by contract
  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err
    this.failure = err
    const failure = describeError(err, this.usageHint())
    // init() may have failed before the printer existed: fall back to the process streams.
    const json = this.out?.json ?? this.jsonEnabled()
    const stdout = this.out?.stdout ?? process.stdout
    // errorLine also goes to the --log-file, so an error that ends the command is logged too.
    const errorLine = (text: string): void => {
      if (this.out) this.out.errorLine(text)
      else process.stderr.write(text + '\n')
    }
    const debug = this.out?.debug ?? this.argv.includes('--debug')
    if (json) {
      stdout.write(JSON.stringify(errorJson(failure)) + '\n')
    } else {
      for (const line of failure.details) errorLine(line)
      errorLine(`Error: ${failure.message}`)
      if (failure.hint) errorLine(`Hint: ${failure.hint}`)
    }
    if (debug && err.stack) errorLine(err.stack)
    else if (!json && failure.exitCode === ExitCode.RUNTIME && !(err instanceof ChaosError))
      errorLine('Hint: run again with --debug for details')
    this.exit(failure.exitCode)
  }

  /**
   * The hint of a usage error: the command's own {@link BaseCommand.argumentHint} when a required
   * argument is missing and it has one, else where its help is.
   */
  private usageHint(): { help: string; argument?: string } {
    const id = (this.id ?? '').replaceAll(':', this.config.topicSeparator)
    const help = `see ${[this.config.bin, id, '--help'].filter(Boolean).join(' ')}`
    const argument = (this.constructor as typeof BaseCommand).argumentHint
    return { help, ...(argument !== undefined && { argument }) }
  }
}

/** An error as the user sees it: the message, the hint, extra lines, the exit code. */
export interface Failure {
  message: string
  hint: string | null
  details: readonly string[]
  exitCode: ExitCode
  /** Extra fields of the --json line ({@link ChaosError.jsonFields}). */
  jsonFields?: Readonly<Record<string, unknown>>
}

/**
 * What `--json` prints for an error, on one stdout line: snake_case, `hint` null when there is
 * none, `details` only when the error has extra lines (e.g. every validation problem).
 */
export interface ErrorJson {
  error: string
  hint: string | null
  exit_code: number
  details?: string[]
  /** e.g. `record`: the run's record when its report could not be written. */
  [field: string]: unknown
}

/** The {@link ErrorJson} of a failure. */
export function errorJson(failure: Failure): ErrorJson {
  return {
    error: failure.message,
    hint: failure.hint,
    exit_code: failure.exitCode,
    ...(failure.details.length > 0 && { details: [...failure.details] }),
    ...failure.jsonFields,
  }
}

/**
 * Maps an error to what the user is told: a {@link ChaosError} as it is; an oclif parse error
 * (unknown flag, missing argument, bad option) is a usage error, exit 2, with its first line (a
 * missing argument named by its name); anything else is a runtime error, exit 4.
 */
export function describeError(
  err: Error & { oclif?: { exit?: number } },
  usage: { help: string; argument?: string },
): Failure {
  if (err instanceof ChaosError)
    return {
      message: unwrapFlagError(err.message),
      hint: err.hint ?? null,
      details: err.details,
      exitCode: err.exitCode,
      ...(err.jsonFields !== undefined && { jsonFields: err.jsonFields }),
    }
  if (err instanceof Errors.CLIError || err.oclif) {
    const missing = missingArguments(err)
    if (missing)
      return {
        message: `missing argument ${missing}`,
        hint: usage.argument ?? usage.help,
        details: [],
        exitCode: ExitCode.INVALID_INPUT,
      }
    return {
      message: unwrapFlagError(err.message).split('\n')[0]!,
      hint: usage.help,
      details: [],
      exitCode: ExitCode.INVALID_INPUT,
    }
  }
  return { message: err.message, hint: null, details: [], exitCode: ExitCode.RUNTIME }
}

/**
 * The names (and descriptions) of the arguments an oclif RequiredArgsError says are missing, e.g.
 * `SELECTION (CATEGORY, SCENARIO_ID, FILE or DIR, or all)`; undefined for any other error. oclif
 * does not export the class, so it is recognised by its `args` list.
 */
function missingArguments(err: Error): string | undefined {
  const args = (err as { args?: unknown }).args
  if (!Array.isArray(args) || !err.message.startsWith('Missing')) return undefined
  const named = (args as Array<{ name?: unknown; description?: unknown }>).filter(
    (a) => typeof a.name === 'string',
  )
  if (named.length === 0) return undefined
  return named
    .map((a) =>
      typeof a.description === 'string'
        ? `${String(a.name).toUpperCase()} (${a.description})`
        : String(a.name).toUpperCase(),
    )
    .join(', ')
}

/**
 * oclif wraps an error thrown by a flag's parse function as "Parsing --NAME \n\t<message>\nSee
 * more help with --help". The shared flags' messages already name the flag, so keep just that
 * line; oclif's own (e.g. "Expected an integer but received: abc") get the flag put in front.
 */
export function unwrapFlagError(message: string): string {
  const m = /^Parsing (--\S+) \n\t([^\n]*)\nSee more help with --help$/.exec(message)
  if (!m) return message
  const [, flag, inner] = m as unknown as [string, string, string]
  return inner.includes(flag) ? inner : `${flag}: ${inner}`
}
