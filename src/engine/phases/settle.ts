/** Waiting for a phase's requests still in flight when it ends, so its totals include them. */
import { sleep, type Clock } from '../../clock.js'
import type { Workload } from '../workload.js'

/** Longest wait for a phase's requests still in flight when it ends (each is bounded by its own timeout too). */
export const SETTLE_MAX_MS = 2000

/**
 * Sends what is already due, then waits until every request sent so far has finished (at most
 * {@link SETTLE_MAX_MS}): the target served and counted those requests, and a summary taken
 * earlier would leave them out.
 */
export async function settle(workload: Workload, clock: Clock): Promise<void> {
  workload.catchUp()
  const timer = new AbortController()
  await Promise.race([
    workload.whenSettled(),
    sleep(SETTLE_MAX_MS, timer.signal, clock).catch(() => undefined),
  ])
  timer.abort()
}
