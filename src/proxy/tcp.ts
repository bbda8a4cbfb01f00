/**
 * The TCP data plane of `chaos proxy`: one listening socket per route, each accepted connection
 * spliced to a fresh connection to the upstream, with the fault of the moment applied to it.
 *
 * What each fault type means on a TCP route (the fault source decides *whether* a connection is
 * selected; this module decides *what happens* to it):
 *
 * | fault               | new connection                        | data on an open connection            |
 * | ------------------- | ------------------------------------- | ------------------------------------- |
 * | LATENCY             | connected                             | delayed `latency_ms` ± jitter, in the |
 * |                     |                                       | `latency_direction` (default BOTH)    |
 * | TIMEOUT             | black hole: accepted, not connected   | black hole from that chunk on         |
 * | EXCEPTION           | reset at once (RST)                   | both sides reset (RST)                |
 * | CIRCUIT_BREAK       | reset at once (RST)                   | both sides reset (RST)                |
 * | RATE_LIMIT          | the first `rate_limit_requests` per   | untouched                             |
 * |                     | window connect, the rest are reset    |                                       |
 * | RESOURCE_EXHAUSTION | connected                             | squeezed to a trickle of bandwidth    |
 *
 * A black hole ends when the fault ends (the connection then connects / resumes as if nothing
 * happened) or after `timeout_ms` (the proxy closes it).
 *
 * Rollback is immediate: delayed and held data lives in one queue per fault (a binary heap with one
 * entry per connection direction that has data waiting and one per black hole, and one timer for
 * the whole heap: never a timer per connection or chunk). When the fault's signal aborts, the whole
 * queue runs at once, in order: every connection's delayed data goes out in one write and every
 * black hole is released in the same tick. Open connections survive rollback.
 *
 * Backpressure: a direction stops reading from its source while its destination needs `drain` or
 * while more than {@link MAX_DELAYED_BYTES} of its data waits in a delay queue, so memory per
 * connection is bounded whatever the fault.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { systemClock, type Clock } from '../clock.js'
import type { FaultConfig } from '../protocol/schemas.js'

/** The fault applied to one connection, as the proxy core hands it over. */
export interface TcpFault {
  config: FaultConfig
  /** Aborted at rollback or lease expiry: the fault's queued effects end at once. */
  signal: AbortSignal
  /** Counts one injected fault. Called once per connection affected by this fault. */
  injected(): void
}

/** Where a route learns the fault of the moment. */
export interface TcpFaultSource {
  /** The fault for this connection now, or null. Called at connect and per data chunk, so it must be cheap. */
  forConnection(connectionId: number): TcpFault | null
}

/** A running TCP route. */
export interface TcpRoute {
  /** Where the route listens (the real port when 0 was asked for). */
  readonly address: { host: string; port: number }
  /** Open client connections. */
  connections(): number
  /** Stops listening and closes every open connection. */
  close(): Promise<void>
}

/** Options of {@link startTcpRoute}. */
export interface TcpRouteOptions {
  /** The route's (dependency's) name, for error messages. */
  name: string
  listen: { host: string; port: number }
  upstream: { host: string; port: number }
  faults: TcpFaultSource
  /** Aborting it closes the route. */
  signal?: AbortSignal
  /** Time for delays, black holes and rate-limit windows (default: the real clock). */
  clock?: Clock
  /** Bandwidth left per connection and direction under RESOURCE_EXHAUSTION (default {@link SQUEEZE_BYTES_PER_SECOND}). */
  squeezeBytesPerSecond?: number
}

/** Bandwidth per connection and direction under RESOURCE_EXHAUSTION: a trickle, as from a starved host. */
export const SQUEEZE_BYTES_PER_SECOND = 1024

/** Data one direction of a connection may have waiting in a delay queue before it stops reading. */
export const MAX_DELAYED_BYTES = 256 * 1024

/** Direction of data: UPSTREAM is client to upstream (requests), DOWNSTREAM upstream to client (responses). */
type Direction = 'UPSTREAM' | 'DOWNSTREAM'

/** Which directions a LATENCY fault delays (optional `latency_direction`, BOTH when absent). */
function delays(config: FaultConfig, direction: Direction): boolean {
  if (config.fault_type !== 'LATENCY') return false
  const wanted = config.latency_direction ?? 'BOTH'
  return wanted === 'BOTH' || wanted === direction
}

/** One queued effect: at `due` it fires; at rollback it is flushed (fired early, `flushed` true). */
interface Entry {
  due: number
  seq: number
  fire(flushed: boolean): void
}

/**
 * The queue of one fault on one route: a binary min-heap on (due, seq) with a single timer armed for
 * its head. Aborting the fault's signal fires every entry at once, in order.
 */
class FaultQueue {
  private readonly heap: Entry[] = []
  private seq = 0
  private timer: unknown
  private timerDue = Infinity

  constructor(
    readonly signal: AbortSignal,
    private readonly clock: Clock,
    private readonly onEnd: () => void,
  ) {
    signal.addEventListener('abort', () => this.flush(), { once: true })
  }

  /** Adds an effect due at `due` (the clock's monotonic milliseconds); fires it at once if the fault already ended. */
  add(due: number, fire: (flushed: boolean) => void): void {
    if (this.signal.aborted) return fire(true)
    const entry = { due, seq: this.seq++, fire }
    this.push(entry)
    if (due < this.timerDue) this.arm(due)
  }

  private arm(due: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timerDue = due
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, due - this.clock.monotonic()))
  }

  private tick(): void {
    this.timer = undefined
    this.timerDue = Infinity
    // Entries due within a millisecond fire together: timers are no finer than that.
    const now = this.clock.monotonic() + 1
    while (this.heap.length > 0 && this.heap[0]!.due <= now) this.pop().fire(false)
    if (this.heap.length > 0) this.arm(this.heap[0]!.due)
  }

  private flush(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    this.timerDue = Infinity
    while (this.heap.length > 0) this.pop().fire(true)
    this.onEnd()
  }

  private less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq)
  }

  private push(entry: Entry): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(heap[i]!, heap[parent]!)) break
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
      i = parent
    }
  }

  private pop(): Entry {
    const heap = this.heap
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && this.less(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && this.less(heap[r]!, heap[m]!)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    return top
  }
}

/** Shared by the connections of one route. */
interface RouteContext {
  readonly faults: TcpFaultSource
  readonly clock: Clock
  readonly squeeze: number
  queueFor(signal: AbortSignal): FaultQueue
  /** RATE_LIMIT: true when one more connection fits in the fault's current window. */
  admit(fault: TcpFault): boolean
}

/** One direction of a connection: reads `from`, writes `to`, possibly through a fault queue. */
class Pipe {
  to: Socket | undefined
  /** Data of this direction waiting in a fault queue, oldest first from `head` (order is kept behind it). */
  private pending: { chunk: Buffer; due: number }[] = []
  private head = 0
  /** This direction has its entry in {@link queue}. */
  private scheduled = false
  private queuedBytes = 0
  /** Due time of the last queued chunk: data queued behind it is never due before it. */
  private lastDue = 0
  private queue: FaultQueue | undefined
  /** Earliest time the next squeezed byte may leave (RESOURCE_EXHAUSTION). */
  private squeezeFree = 0
  private waitingDrain = false
  /** The source sent FIN: pass it on once queued data is out. */
  private ended = false

  constructor(
    private readonly conn: Connection,
    readonly direction: Direction,
    readonly from: Socket,
  ) {}

  /** A chunk read from the source. */
  onData(chunk: Buffer): void {
    const conn = this.conn
    if (conn.closed) return
    if (conn.held) return conn.holdChunk(this, chunk)
    const fault = conn.route.faults.forConnection(conn.id)
    // A fault whose signal has aborted is over, even if the source has not caught up yet.
    if (fault === null || fault.signal.aborted) return this.forward(chunk)
    const config = fault.config
    switch (config.fault_type) {
      case 'LATENCY': {
        if (!delays(config, this.direction)) return this.forward(chunk)
        conn.count(fault)
        const jitter = config.latency_jitter_ms ? (Math.random() * 2 - 1) * config.latency_jitter_ms : 0
        return this.delay(
          chunk,
          fault,
          conn.route.clock.monotonic() + Math.max(0, config.latency_ms + jitter),
        )
      }
      case 'RESOURCE_EXHAUSTION': {
        conn.count(fault)
        const rate = conn.route.squeeze
        // Slices of a tenth of a second each, so the trickle is steady rather than bursts.
        const slice = Math.max(1, Math.floor(rate / 10))
        for (let at = 0; at < chunk.length; at += slice) {
          const part = chunk.subarray(at, at + slice)
          const start = Math.max(conn.route.clock.monotonic(), this.squeezeFree)
          this.squeezeFree = start + (part.length / rate) * 1000
          this.delay(part, fault, this.squeezeFree)
        }
        return
      }
      case 'TIMEOUT':
        conn.count(fault)
        conn.hold(fault)
        return conn.holdChunk(this, chunk)
      case 'EXCEPTION':
      case 'CIRCUIT_BREAK':
        conn.count(fault)
        return conn.reset()
      case 'RATE_LIMIT':
        // A limit on connections: an admitted connection's data flows.
        return this.forward(chunk)
    }
  }

  /** Writes now, or behind data already queued (order is kept). */
  forward(chunk: Buffer): void {
    if (this.head < this.pending.length) return this.delay(chunk, undefined, this.lastDue)
    this.write(chunk)
  }

  private delay(chunk: Buffer, fault: TcpFault | undefined, due: number): void {
    // Data behind queued data waits in the same queue, never before it.
    const behind = this.head < this.pending.length
    const queue = behind ? this.queue! : this.conn.route.queueFor(fault!.signal)
    if (behind) due = Math.max(due, this.lastDue)
    this.queue = queue
    this.lastDue = due
    this.pending.push({ chunk, due })
    this.queuedBytes += chunk.length
    if (this.queuedBytes > MAX_DELAYED_BYTES) this.from.pause()
    if (!this.scheduled) this.schedule(due)
  }

  /** One queue entry per direction, due with its oldest chunk: the queue stays as small as the connections. */
  private schedule(due: number): void {
    this.scheduled = true
    this.queue!.add(due, (flushed) => this.release(flushed))
  }

  /** Writes the chunks that are due (all of them when the fault has ended), in one write. */
  private release(flushed: boolean): void {
    this.scheduled = false
    if (this.conn.closed) {
      this.pending = []
      this.head = 0
      this.queuedBytes = 0
      return
    }
    // The fault is over: a later squeeze starts afresh.
    if (flushed) this.squeezeFree = 0
    const now = this.conn.route.clock.monotonic() + 1
    const due: Buffer[] = []
    while (this.head < this.pending.length && (flushed || this.pending[this.head]!.due <= now)) {
      const { chunk } = this.pending[this.head++]!
      this.queuedBytes -= chunk.length
      due.push(chunk)
    }
    // One write for all of them: at rollback that is one syscall per connection, and no per-chunk
    // stream bookkeeping (copying a few queued chunks costs less than writing them one by one).
    if (due.length > 0) this.write(due.length === 1 ? due[0]! : Buffer.concat(due))
    if (this.head === this.pending.length) {
      this.pending = []
      this.head = 0
      if (this.ended) return this.endTo()
    } else {
      // Under a steady stream the array never empties: drop the written part now and then.
      if (this.head > 1024) {
        this.pending = this.pending.slice(this.head)
        this.head = 0
      }
      this.schedule(this.pending[this.head]!.due)
    }
    this.maybeResume()
  }

  private write(chunk: Buffer): void {
    const to = this.to!
    if (to.destroyed || to.writableEnded) return
    if (!to.write(chunk) && !this.waitingDrain) {
      this.waitingDrain = true
      this.from.pause()
      to.once('drain', () => {
        this.waitingDrain = false
        this.maybeResume()
      })
    }
  }

  /** Reads again when nothing holds this direction back. */
  maybeResume(): void {
    if (this.waitingDrain || this.conn.held || this.conn.closed) return
    if (this.queuedBytes > MAX_DELAYED_BYTES / 2) return
    if (this.from.isPaused()) this.from.resume()
  }

  /** The source sent FIN. */
  onEnd(): void {
    this.ended = true
    if (this.head === this.pending.length && !this.conn.held) this.endTo()
  }

  private endTo(): void {
    if (this.to !== undefined && !this.to.writableEnded) this.to.end()
  }

  /** After a black hole: FIN held back by it goes out now. */
  releaseEnd(): void {
    if (this.ended && this.head === this.pending.length) this.endTo()
  }
}

/** One client connection and its upstream connection. */
class Connection {
  upstream: Socket | undefined
  readonly up: Pipe
  down: Pipe | undefined
  closed = false
  /** A TIMEOUT black hole is on: nothing is read or forwarded. */
  held = false
  private heldChunks: { pipe: Pipe; chunk: Buffer }[] = []
  /** Signals of faults already counted on this connection (one count per connection and fault). */
  private counted: AbortSignal | undefined

  constructor(
    readonly route: RouteContext,
    readonly id: number,
    readonly client: Socket,
    private readonly upstreamAddress: { host: string; port: number },
    private readonly onClose: () => void,
  ) {
    this.up = new Pipe(this, 'UPSTREAM', client)
    client.on('error', () => this.abort(true))
    client.on('close', () => this.sideClosed())
  }

  start(): void {
    this.client.pause()
    const fault = this.route.faults.forConnection(this.id)
    if (fault !== null && !fault.signal.aborted) {
      const type = fault.config.fault_type
      if (type === 'EXCEPTION' || type === 'CIRCUIT_BREAK') {
        fault.injected()
        return this.reset()
      }
      if (type === 'RATE_LIMIT' && !this.route.admit(fault)) {
        fault.injected()
        return this.reset()
      }
      if (type === 'TIMEOUT') {
        this.count(fault)
        return this.hold(fault)
      }
    }
    this.connectUpstream()
  }

  private connectUpstream(): void {
    const upstream = connect({ ...this.upstreamAddress, allowHalfOpen: true, noDelay: true })
    this.upstream = upstream
    upstream.pause()
    upstream.on('error', () => this.abort(true))
    upstream.on('close', () => this.sideClosed())
    upstream.once('connect', () => {
      if (this.closed) return
      this.up.to = upstream
      const down = new Pipe(this, 'DOWNSTREAM', upstream)
      down.to = this.client
      this.down = down
      upstream.on('data', (chunk: Buffer) => down.onData(chunk))
      upstream.on('end', () => down.onEnd())
      this.client.on('data', (chunk: Buffer) => this.up.onData(chunk))
      this.client.on('end', () => this.up.onEnd())
      if (this.held) return
      upstream.resume()
      this.client.resume()
      this.flushHeld()
    })
  }

  count(fault: TcpFault): void {
    if (this.counted === fault.signal) return
    this.counted = fault.signal
    fault.injected()
  }

  /** Starts a black hole: nothing read or forwarded until the fault ends or its timeout closes the connection. */
  hold(fault: TcpFault): void {
    if (fault.config.fault_type !== 'TIMEOUT') return
    this.held = true
    this.client.pause()
    this.upstream?.pause()
    this.route
      .queueFor(fault.signal)
      .add(this.route.clock.monotonic() + fault.config.timeout_ms, (flushed) => {
        if (this.closed || !this.held) return
        if (!flushed) return this.close()
        this.held = false
        if (this.upstream === undefined) return this.connectUpstream()
        if (this.upstream.connecting) return // its connect handler resumes and flushes
        this.flushHeld()
        this.up.maybeResume()
        this.down?.maybeResume()
      })
  }

  holdChunk(pipe: Pipe, chunk: Buffer): void {
    this.heldChunks.push({ pipe, chunk })
  }

  private flushHeld(): void {
    const chunks = this.heldChunks
    this.heldChunks = []
    for (const { pipe, chunk } of chunks) pipe.forward(chunk)
    this.up.releaseEnd()
    this.down?.releaseEnd()
  }

  /** Resets both sides (RST), as a failing dependency or network does. */
  reset(): void {
    this.abort(true)
  }

  /** Closes both sides gracefully (FIN). */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.client.destroy()
    this.upstream?.destroy()
    this.onClose()
  }

  private abort(reset: boolean): void {
    if (this.closed) return
    this.closed = true
    for (const socket of [this.client, this.upstream]) {
      if (socket === undefined || socket.destroyed) continue
      if (reset && !socket.connecting) socket.resetAndDestroy()
      else socket.destroy()
    }
    this.onClose()
  }

  /** One side is gone. If the other still waits for data from it, it is closed too. */
  private sideClosed(): void {
    if (this.closed) return
    const clientGone = this.client.destroyed
    const upstreamGone = this.upstream === undefined || this.upstream.destroyed
    if (clientGone && upstreamGone) {
      this.closed = true
      return this.onClose()
    }
    if (this.upstream === undefined || this.upstream.connecting) return this.abort(false)
    // The survivor gets a FIN after its queued data, like the end of a stream; if it goes on
    // sending to a side that is gone, its 'data' finds the connection closed.
    const survivor = clientGone ? this.upstream : this.client
    if (clientGone) this.up.onEnd()
    else this.down?.onEnd()
    survivor.once('data', () => this.abort(false))
  }
}

/**
 * Starts a TCP route: listens on `listen`, and splices every accepted connection to a new
 * connection to `upstream`, applying the fault `faults` gives for it (see the table above).
 */
export async function startTcpRoute(options: TcpRouteOptions): Promise<TcpRoute> {
  const open = new Set<Connection>()
  const queues = new WeakMap<AbortSignal, FaultQueue>()
  const windows = new WeakMap<AbortSignal, { start: number; count: number }>()
  let nextId = 1
  const clock = options.clock ?? systemClock
  const route: RouteContext = {
    faults: options.faults,
    clock,
    squeeze: options.squeezeBytesPerSecond ?? SQUEEZE_BYTES_PER_SECOND,
    queueFor(signal) {
      let queue = queues.get(signal)
      if (queue === undefined) {
        queue = new FaultQueue(signal, clock, () => queues.delete(signal))
        queues.set(signal, queue)
      }
      return queue
    },
    admit(fault) {
      if (fault.config.fault_type !== 'RATE_LIMIT') return true
      const { rate_limit_requests: limit, rate_limit_window_seconds: seconds } = fault.config
      const now = clock.monotonic()
      let window = windows.get(fault.signal)
      // Fixed window opened by the first connection, as the agent's RATE_LIMIT.
      if (window === undefined || now - window.start >= seconds * 1000) {
        window = { start: now, count: 0 }
        windows.set(fault.signal, window)
      }
      window.count++
      return window.count <= limit
    },
  }

  const server: Server = createServer(
    { allowHalfOpen: true, noDelay: true, pauseOnConnect: true },
    (client) => {
      const conn = new Connection(route, nextId++, client, options.upstream, () => open.delete(conn))
      open.add(conn)
      conn.start()
    },
  )

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: Error) =>
      reject(
        new Error(
          `proxy route ${options.name}: cannot listen on ${options.listen.host}:${options.listen.port}: ${error.message}`,
        ),
      ),
    )
    server.listen(options.listen.port, options.listen.host, () => resolve())
  })
  const bound = server.address() as { address: string; port: number }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const conn of [...open]) conn.close()
    })
    return closing
  }
  if (options.signal?.aborted) await close()
  options.signal?.addEventListener('abort', () => void close(), { once: true })

  return {
    address: { host: bound.address, port: bound.port },
    connections: () => open.size,
    close,
  }
}
