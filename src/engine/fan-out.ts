/**
 * Fan-out across a fleet: the same control call to many instances at once, bounded by
 * `max_parallel` (p-limit), each instance's outcome kept on its own. Pure functions of their
 * clients: the engine's phases and the fleet benchmark use the same ones.
 */
import pLimit from 'p-limit'
import { DEFAULT_MAX_PARALLEL } from '../discovery/spec.js'
import type { DiscoveredInstance } from '../record.js'
import type { StartExperimentRequest, ExperimentView } from '../protocol/schemas.js'
import { ControlError, type ControlClient } from './control-client.js'

/** Default bound on concurrent control calls per fan-out (`--max-parallel`, config `max_parallel`). */
export { DEFAULT_MAX_PARALLEL }

/** Options of one fan-out. */
export interface FanOutOptions {
  /** At most this many calls in flight (default {@link DEFAULT_MAX_PARALLEL}). */
  maxParallel?: number
  /** Passed to every call; a call not yet begun when it aborts is not sent (it rejects with its reason). */
  signal?: AbortSignal
}

/** The bound actually used: a positive integer (anything else falls back to the default). */
export function parallelism(maxParallel: number | undefined): number {
  return maxParallel !== undefined && Number.isInteger(maxParallel) && maxParallel >= 1
    ? maxParallel
    : DEFAULT_MAX_PARALLEL
}

/**
 * How many abort listeners a signal shared by one fan-out's calls may have: one per call in flight
 * (and a few for the phase itself), so that Node does not warn of a leak that is not one.
 */
export function listenerBound(maxParallel: number | undefined): number {
  return parallelism(maxParallel) * 2 + 10
}

/**
 * Runs `fn` on every item with at most `maxParallel` in flight; settles them all (one failing
 * never hides the others). Results are in the order of `items`.
 */
export function fanOut<T, R>(
  items: readonly T[],
  fn: (item: T, index: number) => Promise<R>,
  options: { maxParallel?: number } = {},
): Promise<Array<PromiseSettledResult<R>>> {
  const limit = pLimit(parallelism(options.maxParallel))
  return Promise.allSettled(items.map((item, i) => limit(() => fn(item, i))))
}

/**
 * How one instance took a start call. `REFUSED`: it answered 4xx (it did not take the fault);
 * `FAILED`: no answer or a 5xx (whether it took the fault is unknown, so it needs a rollback);
 * `NOT_SENT`: the signal aborted before its turn came.
 */
export type StartOutcome =
  | { client: ControlClient; status: 'STARTED'; view: ExperimentView }
  | { client: ControlClient; status: 'REFUSED'; error: ControlError }
  | { client: ControlClient; status: 'FAILED'; error: Error }
  | { client: ControlClient; status: 'NOT_SENT'; error: Error }

/** Whether an error is a 4xx answer: the target did not take the call. */
export function isRefusal(err: unknown): err is ControlError {
  return err instanceof ControlError && err.status >= 400 && err.status < 500
}

/** Starts `body` on every client concurrently (bounded); one outcome per client, in their order. */
export async function startAll(
  clients: readonly ControlClient[],
  body: StartExperimentRequest,
  options: FanOutOptions = {},
): Promise<StartOutcome[]> {
  const sent = new Set<number>()
  const settled = await fanOut(
    clients,
    (client, i) => {
      options.signal?.throwIfAborted()
      sent.add(i)
      return client.start(body, options.signal)
    },
    options,
  )
  return settled.map((s, i): StartOutcome => {
    const client = clients[i]!
    if (s.status === 'fulfilled') return { client, status: 'STARTED', view: s.value }
    const error = s.reason instanceof Error ? s.reason : new Error(String(s.reason))
    if (!sent.has(i)) return { client, status: 'NOT_SENT', error }
    return isRefusal(error) ? { client, status: 'REFUSED', error } : { client, status: 'FAILED', error }
  })
}

/** Renews the lease of experiment `id` on every client concurrently (bounded); settled per client. */
export function renewAll(
  clients: readonly ControlClient[],
  id: string,
  leaseSeconds: number,
  options: FanOutOptions = {},
): Promise<Array<PromiseSettledResult<ExperimentView>>> {
  return fanOut(
    clients,
    (client) => {
      options.signal?.throwIfAborted()
      return client.renew(id, leaseSeconds, options.signal)
    },
    options,
  )
}

/** The emergency stop (`DELETE /chaos/experiments`) on every client concurrently (bounded). */
export function stopAllOn(
  clients: readonly ControlClient[],
  options: FanOutOptions = {},
): Promise<Array<PromiseSettledResult<ExperimentView[]>>> {
  return fanOut(
    clients,
    (client) => {
      options.signal?.throwIfAborted()
      return client.stopAll(options.signal)
    },
    options,
  )
}

/** A base URL as control clients name it (no trailing slash). */
export function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, '')
}

/**
 * The instances of one experiment: the static targets first (in their order, source "static",
 * UP), then the discovered ones sorted by url; de-duplicated by url (a static target wins, then
 * the first discovered entry).
 */
export function mergeInstances(
  staticTargets: readonly string[],
  discovered: readonly DiscoveredInstance[],
): DiscoveredInstance[] {
  const seen = new Set<string>()
  const found: DiscoveredInstance[] = []
  for (const target of staticTargets) {
    const url = normalizeUrl(target)
    if (seen.has(url)) continue
    seen.add(url)
    found.push({ url, source: 'static', state: 'UP', reason: null })
  }
  const rest = discovered
    .map((d) => ({ ...d, url: normalizeUrl(d.url) }))
    .sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))
  for (const d of rest) {
    if (seen.has(d.url)) continue
    seen.add(d.url)
    found.push(d)
  }
  return found
}
