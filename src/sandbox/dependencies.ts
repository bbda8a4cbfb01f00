/**
 * The sandbox's five remote dependencies (the agent's target services) and their defaults.
 * Each one is simulated by a {@link SimulatedRemote}: a network round trip (a small base latency)
 * followed by an operation on the remote system's in-memory state. The agent wraps the round trip,
 * so an injected fault behaves like a real network or server fault of that dependency.
 */
import { sleep, type Clock } from '../clock.js'

export const DEPENDENCIES = [
  'pms_adapter',
  'whatsapp_client',
  'gmail_client',
  'database',
  'session_store',
] as const
export type DependencyName = (typeof DEPENDENCIES)[number]

/** Per-call (per-attempt) timeouts from the sandbox design. */
export const DEFAULT_CALL_TIMEOUT_MS: Readonly<Record<DependencyName, number>> = {
  pms_adapter: 2000,
  whatsapp_client: 3000,
  gmail_client: 3000,
  database: 1000,
  session_store: 500,
}

/** Base round-trip latency of each simulated remote call: small, like a healthy LAN or cloud API. */
export const DEFAULT_BASE_LATENCY_MS: Readonly<Record<DependencyName, number>> = {
  pms_adapter: 12,
  whatsapp_client: 8,
  gmail_client: 10,
  database: 2,
  session_store: 1,
}

/** The context every remote call receives; the agent and the timeout policy find the signal in it. */
export interface CallContext {
  signal: AbortSignal
}

/** The raw remote call of a dependency: what the agent wraps. */
export type RemoteSend<S> = (ctx: CallContext, op: (state: S) => unknown) => Promise<unknown>

/** A remote system reached over a (simulated) network with a base latency of ±25 %. */
export class SimulatedRemote<S> {
  /** The raw call: wait one round trip (abortable), then run `op` against the remote state. */
  readonly send: RemoteSend<S>

  constructor(
    readonly name: DependencyName,
    readonly state: S,
    latencyMs: number,
    random: () => number,
    clock: Clock,
  ) {
    this.send = async (ctx, op) => {
      if (latencyMs > 0) await sleep(latencyMs * (0.75 + random() * 0.5), ctx.signal, clock)
      else if (ctx.signal.aborted) throw ctx.signal.reason
      return op(this.state)
    }
  }
}

/** Resolves per-dependency settings given as one number for all, or a partial per-name record. */
export function perDependency(
  value: number | Partial<Record<DependencyName, number>> | undefined,
  defaults: Readonly<Record<DependencyName, number>>,
): Record<DependencyName, number> {
  const out = { ...defaults }
  if (typeof value === 'number') for (const name of DEPENDENCIES) out[name] = value
  else if (value) for (const name of DEPENDENCIES) out[name] = value[name] ?? defaults[name]
  return out
}
