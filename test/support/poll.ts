/** Waiting for a condition: the one polling helper of the suite. */

/** Default deadline of {@link pollUntil}: a guard against a hang, far beyond any normal wait. */
export const POLL_TIMEOUT_MS = 30_000

/**
 * Calls `probe` every `everyMs` until it returns something other than `undefined` or `false`, and
 * returns that. Throws after `timeoutMs`, naming `what` and the last value seen.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: { what: string; timeoutMs?: number; everyMs?: number },
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? POLL_TIMEOUT_MS
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}`)
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 50))
  }
}
