import { ExitCode } from './exit-codes.js'

/**
 * An expected failure with a user-facing one-line message and the exit code it maps to.
 * The command layer prints `message` (and `hint`) without a stack trace.
 */
export class ChaosError extends Error {
  override readonly name: string = 'ChaosError'
  /** Fields added to the `--json` error line, e.g. the record of a run whose report was not written. */
  readonly jsonFields?: Readonly<Record<string, unknown>>
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
    /** Extra lines (e.g. every validation problem) printed before the message. */
    readonly details: readonly string[] = [],
  ) {
    super(message)
  }
}

/** Invalid usage, scenario or config (exit 2). */
export class InvalidInputError extends ChaosError {
  override readonly name = 'InvalidInputError'
  constructor(message: string, hint?: string, details: readonly string[] = []) {
    super(message, ExitCode.INVALID_INPUT, hint, details)
  }
}

/** Refused or aborted for safety (exit 3). */
export class SafetyError extends ChaosError {
  override readonly name = 'SafetyError'
  constructor(message: string, hint?: string) {
    super(message, ExitCode.SAFETY, hint)
  }
}

/** Target unreachable, protocol mismatch or another runtime failure (exit 4). */
export class RuntimeFailure extends ChaosError {
  override readonly name = 'RuntimeFailure'
  constructor(message: string, hint?: string) {
    super(message, ExitCode.RUNTIME, hint)
  }
}
