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

  /** Terminal-aware printer (colour, spinners only on a TTY). */
  protected out!: Output

  private logFile?: LogFile

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

  protected override async finally(err: Error | undefined): Promise<unknown> {
    this.logFile?.close()
    return super.finally(err)
  }

  /** Prints a one-line error (no stack trace unless --debug) and exits with the error's code. */
  // eslint-disable-next-line @typescript-eslint/require-await -- oclif's catch is async by contract
  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err
    const out = this.out
    if (err instanceof ChaosError) {
      for (const line of err.details) out.errorLine(line)
      out.errorLine(`Error: ${unwrapFlagError(err.message)}`)
      if (err.hint) out.errorLine(`Hint: ${err.hint}`)
      if (out.debug && err.stack) out.errorLine(err.stack)
      this.exit(err.exitCode)
    }
    // oclif parse errors (unknown flag, missing arg) are usage errors: exit 2 with oclif's message.
    if (err instanceof Errors.CLIError || err.oclif) {
      out.errorLine(`Error: ${err.message.split('\n')[0]}`)
      const id = (this.id ?? '').replaceAll(':', this.config.topicSeparator)
      out.errorLine(`Hint: see ${[this.config.bin, id, '--help'].filter(Boolean).join(' ')}`)
      if (out?.debug && err.stack) out.errorLine(err.stack)
      this.exit(ExitCode.INVALID_INPUT)
    }
    out.errorLine(`Error: ${err.message}`)
    if (out.debug && err.stack) out.errorLine(err.stack)
    else out.errorLine('Hint: run again with --debug for details')
    this.exit(ExitCode.RUNTIME)
  }
}

/**
 * oclif wraps an error thrown by a flag's parse function as "Parsing --NAME \n\t<message>\nSee
 * more help with --help"; the shared flags' messages already name the flag, so keep just that line.
 */
export function unwrapFlagError(message: string): string {
  return /^Parsing --\S+ \n\t([^\n]*)\nSee more help with --help$/.exec(message)?.[1] ?? message
}
