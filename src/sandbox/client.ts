/**
 * The sandbox's client for one dependency: the raw remote call (wrapped by the chaos agent when it
 * is mounted), behind that dependency's resilience stack, and for the database behind a real pool.
 */
import type { CallContext, DependencyName, RemoteSend } from './dependencies.js'
import type { ConnectionPool } from './pool.js'
import type { BreakerState, ResilientDependency } from './resilience.js'

export class DependencyClient<S> {
  constructor(
    private readonly send: RemoteSend<S>,
    private readonly resilience: ResilientDependency,
    private readonly pool?: ConnectionPool,
  ) {}

  get name(): DependencyName {
    return this.resilience.name
  }

  get state(): BreakerState {
    return this.resilience.state
  }

  /** Runs `op` on the remote system; throws DependencyFailure once the policies give up. */
  call<T>(op: (state: S) => T | Promise<T>, signal: AbortSignal): Promise<T> {
    const pool = this.pool
    const attempt = pool
      ? (ctx: CallContext) => pool.with(ctx.signal, () => this.send(ctx, op) as Promise<T>)
      : (ctx: CallContext) => this.send(ctx, op) as Promise<T>
    return this.resilience.call(attempt, signal)
  }
}
