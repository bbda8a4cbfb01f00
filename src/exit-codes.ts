/**
 * Exit codes of every `chaos` command. One code per kind of outcome, so that a pipeline can
 * tell "the hypothesis failed" from "the input was wrong" from "the run was refused for safety".
 */
export const ExitCode = {
  /** Everything held. */
  OK: 0,
  /** A steady-state check failed: the system did not behave as hypothesised. */
  CHECK_FAILED: 1,
  /** Invalid input: usage, scenario file or config file. */
  INVALID_INPUT: 2,
  /** Refused or aborted for safety: preflight, safety limit, steady state not holding before injection. */
  SAFETY: 3,
  /** Runtime error: target unreachable, protocol mismatch, unexpected failure. */
  RUNTIME: 4,
  /**
   * Inconclusive: nothing failed, but a check could not be evaluated (the target does not export a
   * metric it needs) or no fault was injected, so the hypothesis was not tested.
   */
  INCONCLUSIVE: 5,
  /** Interrupted by SIGINT/SIGTERM (after rollback). */
  INTERRUPTED: 130,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]
