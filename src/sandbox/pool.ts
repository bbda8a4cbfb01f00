/**
 * A bounded database connection pool: at most `size` connections are checked out at once; further
 * acquirers wait in FIFO order (abortable). Exhaustion is real: a slow query holds its connection.
 */

/** One pooled connection. */
export interface Connection {
  readonly id: number
  queries: number
}

interface Waiter {
  resolve: (conn: Connection) => void
  reject: (reason: unknown) => void
  signal: AbortSignal
  onAbort: () => void
}

export class ConnectionPool {
  private readonly idle: Connection[] = []
  private readonly waiters: Waiter[] = []
  private checkedOut = 0

  constructor(readonly size: number) {
    for (let id = 1; id <= size; id++) this.idle.push({ id, queries: 0 })
  }

  /** Connections currently checked out. */
  get inUse(): number {
    return this.checkedOut
  }

  /** Acquirers waiting for a connection. */
  get waiting(): number {
    return this.waiters.length
  }

  acquire(signal: AbortSignal): Promise<Connection> {
    if (signal.aborted) return Promise.reject(signal.reason as Error)
    const conn = this.idle.pop()
    if (conn) {
      this.checkedOut++
      return Promise.resolve(conn)
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(waiter)
          if (i >= 0) this.waiters.splice(i, 1)
          reject(signal.reason as Error)
        },
      }
      signal.addEventListener('abort', waiter.onAbort, { once: true })
      this.waiters.push(waiter)
    })
  }

  release(conn: Connection): void {
    const waiter = this.waiters.shift()
    if (waiter) {
      // Hand the connection over directly: it stays checked out.
      waiter.signal.removeEventListener('abort', waiter.onAbort)
      waiter.resolve(conn)
      return
    }
    this.checkedOut--
    this.idle.push(conn)
  }

  /** Runs `fn` on a pooled connection and always gives the connection back. */
  async with<T>(signal: AbortSignal, fn: (conn: Connection) => Promise<T>): Promise<T> {
    const conn = await this.acquire(signal)
    try {
      conn.queries++
      return await fn(conn)
    } finally {
      this.release(conn)
    }
  }
}
