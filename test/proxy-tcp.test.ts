/**
 * The TCP data plane of `chaos proxy` (src/proxy/tcp.ts) with real sockets on loopback: an echo
 * upstream, a route in front of it, and a fault source the test sets and rolls back the way the
 * proxy core does (the fault's signal aborts at rollback).
 */
import { randomBytes } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startTcpRoute, type TcpRoute } from '../src/proxy/tcp.js'
import { pollUntil } from './support/poll.js'
import { TestFaults } from './support/tcp-faults.js'

/** An upstream that echoes every byte back, counting the connections it saw. */
interface Echo {
  server: Server
  port: number
  accepted: number
  sockets: Set<Socket>
}

async function startEcho(): Promise<Echo> {
  const echo: Echo = { server: createServer(), port: 0, accepted: 0, sockets: new Set() }
  echo.server.on('connection', (socket) => {
    echo.accepted++
    echo.sockets.add(socket)
    socket.on('close', () => echo.sockets.delete(socket))
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => echo.server.listen(0, '127.0.0.1', resolve))
  echo.port = (echo.server.address() as { port: number }).port
  return echo
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setup(options: { squeezeBytesPerSecond?: number } = {}) {
  const echo = await startEcho()
  const faults = new TestFaults()
  const route = await startTcpRoute({
    name: 'echo',
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: echo.port },
    faults,
    ...options,
  })
  cleanups.push(async () => {
    faults.rollback()
    await route.close()
    for (const socket of echo.sockets) socket.destroy()
    await new Promise<void>((resolve) => echo.server.close(() => resolve()))
  })
  return { echo, faults, route }
}

/** A client connection through the route, collecting what it receives and how it ended. */
interface Client {
  socket: Socket
  received: Buffer[]
  bytes(): number
  closed: Promise<{ error?: NodeJS.ErrnoException }>
}

async function open(route: TcpRoute): Promise<Client> {
  const socket = connect(route.address.port, '127.0.0.1')
  const received: Buffer[] = []
  let error: NodeJS.ErrnoException | undefined
  socket.on('data', (chunk: Buffer) => received.push(chunk))
  socket.on('error', (e) => (error = e))
  const closed = new Promise<{ error?: NodeJS.ErrnoException }>((resolve) =>
    socket.on('close', () => resolve(error ? { error } : {})),
  )
  cleanups.push(() => void socket.destroy())
  // A reset can come before the connect callback runs: that client is returned closed, with its error.
  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed])
  return { socket, received, bytes: () => received.reduce((n, b) => n + b.length, 0), closed }
}

/** Resolves when the client has received `n` bytes in all. */
function receive(client: Client, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (client.bytes() >= n) {
        client.socket.off('data', check)
        resolve()
      }
    }
    client.socket.on('data', check)
    client.socket.once('close', () =>
      client.bytes() >= n ? resolve() : reject(new Error(`closed after ${client.bytes()} of ${n} bytes`)),
    )
    check()
  })
}

/** Milliseconds a write takes to come back through the echo. */
async function roundTrip(client: Client, message = 'ping'): Promise<number> {
  const start = performance.now()
  const target = client.bytes() + message.length
  client.socket.write(message)
  await receive(client, target)
  return performance.now() - start
}

const LATENCY = { fault_type: 'LATENCY', probability: 1, latency_ms: 150 } as const

describe('TCP route without a fault', () => {
  it('passes a large payload through byte-exact both ways, with backpressure', async () => {
    const { echo, route } = await setup()
    const client = await open(route)
    const payload = randomBytes(32 * 1024 * 1024)
    // The client reads slowly for a while: the echo's writes back fill up, so the proxy must stop
    // reading from it (and the echo from the client) rather than buffer the payload.
    client.socket.pause()
    client.socket.write(payload)
    await pollUntil(() => client.socket.writableLength > 0 || client.socket.writableNeedDrain || undefined, {
      what: 'the client write to back up',
    })
    client.socket.resume()
    await receive(client, payload.length)
    expect(Buffer.concat(client.received).equals(payload)).toBe(true)
    expect(echo.accepted).toBe(1)
    expect(route.connections()).toBe(1)
    client.socket.end()
    await client.closed
    await pollUntil(() => route.connections() === 0, { what: 'the route to forget the closed connection' })
  })

  it('passes FIN on: a half-closed client still gets the rest of the answer', async () => {
    const { route } = await setup()
    const client = await open(route)
    client.socket.end('last words')
    await receive(client, 'last words'.length)
    expect(Buffer.concat(client.received).toString()).toBe('last words')
    expect(await client.closed).toEqual({})
  })

  it('resets the client when the upstream refuses', async () => {
    const free = createServer()
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve))
    const port = (free.address() as { port: number }).port
    await new Promise<void>((resolve) => free.close(() => resolve()))
    const route = await startTcpRoute({
      name: 'nothing',
      listen: { host: '127.0.0.1', port: 0 },
      upstream: { host: '127.0.0.1', port },
      faults: new TestFaults(),
    })
    cleanups.push(() => route.close())
    const client = await open(route)
    expect((await client.closed).error?.code).toBe('ECONNRESET')
  })
})

describe('backpressure', () => {
  /** An upstream that does not read until told to, counting what it reads then. */
  async function startStalledSink() {
    const sink = { server: createServer(), port: 0, received: 0, sockets: [] as Socket[] }
    sink.server.on('connection', (socket) => {
      socket.pause()
      socket.on('data', (chunk: Buffer) => (sink.received += chunk.length))
      socket.on('error', () => {})
      sink.sockets.push(socket)
    })
    await new Promise<void>((resolve) => sink.server.listen(0, '127.0.0.1', resolve))
    sink.port = (sink.server.address() as { port: number }).port
    cleanups.push(async () => {
      for (const socket of sink.sockets) socket.destroy()
      await new Promise<void>((resolve) => sink.server.close(() => resolve()))
    })
    return sink
  }

  /** Bytes that have left the client's stream once it stops moving (polled, not slept). */
  async function settledSent(client: Socket, total: number): Promise<number> {
    let last = -1
    let same = 0
    return pollUntil(
      () => {
        const sent = total - client.writableLength
        same = sent === last ? same + 1 : 0
        last = sent
        return same >= 5 && sent
      },
      { what: 'the client write to stall', everyMs: 50 },
    )
  }

  it.each([
    ['no fault', null],
    ['a LATENCY fault', { ...LATENCY, latency_ms: 60_000 }],
  ] as const)(
    'with %s, a stalled upstream stops the client instead of filling the proxy',
    async (_, fault) => {
      const sink = await startStalledSink()
      const faults = new TestFaults()
      const route = await startTcpRoute({
        name: 'sink',
        listen: { host: '127.0.0.1', port: 0 },
        upstream: { host: '127.0.0.1', port: sink.port },
        faults,
      })
      cleanups.push(() => route.close())
      if (fault) faults.set(fault)
      const client = await open(route)
      const total = 64 * 1024 * 1024
      client.socket.write(Buffer.alloc(total, 1))
      const sent = await settledSent(client.socket, total)
      // What left the client sits in kernel socket buffers and at most a few hundred KiB in the proxy.
      expect(sent).toBeLessThan(total / 2)
      faults.rollback()
      for (const socket of sink.sockets) socket.resume()
      await pollUntil(() => sink.received === total, { what: 'the whole payload at the upstream' })
    },
  )
})

describe('LATENCY', () => {
  it('delays data both ways by default, and rollback flushes delayed data at once', async () => {
    const { faults, route } = await setup()
    const client = await open(route)
    expect(await roundTrip(client)).toBeLessThan(LATENCY.latency_ms)
    faults.set(LATENCY)
    expect(await roundTrip(client)).toBeGreaterThanOrEqual(2 * LATENCY.latency_ms - 2)
    expect(faults.injected).toBe(1)

    faults.set({ ...LATENCY, latency_ms: 60_000 })
    const before = client.bytes()
    client.socket.write('held')
    await pollUntil(() => faults.injected === 2, { what: 'the proxy to delay the message' })
    const start = performance.now()
    faults.rollback()
    await receive(client, before + 4)
    // Far below the fault's 60 s: the queue was run at rollback, not at its due time.
    expect(performance.now() - start).toBeLessThan(5_000)
    expect(await roundTrip(client)).toBeLessThan(LATENCY.latency_ms)
    // The next fault delays by its own latency, not what is left of the one rolled back.
    faults.set(LATENCY)
    const next = await roundTrip(client)
    expect(next).toBeGreaterThanOrEqual(2 * LATENCY.latency_ms - 2)
    expect(next).toBeLessThan(30_000)
    expect(route.connections()).toBe(1)
  })

  it('delays only the direction asked for', async () => {
    const { faults, route } = await setup()
    const client = await open(route)
    faults.set({ ...LATENCY, latency_direction: 'DOWNSTREAM' })
    const oneWay = await roundTrip(client)
    expect(oneWay).toBeGreaterThanOrEqual(LATENCY.latency_ms - 2)
    expect(oneWay).toBeLessThan(2 * LATENCY.latency_ms)
  })

  it('keeps the order of the bytes under jitter', async () => {
    const { faults, route } = await setup()
    const client = await open(route)
    faults.set({ ...LATENCY, latency_ms: 20, latency_jitter_ms: 19 })
    const parts = Array.from({ length: 50 }, (_, i) => `<${i}>`)
    for (const part of parts) client.socket.write(part)
    const text = parts.join('')
    await receive(client, text.length)
    expect(Buffer.concat(client.received).toString()).toBe(text)
  })
})

describe('TIMEOUT', () => {
  it('black-holes a new connection and closes it after timeout_ms, never reaching upstream', async () => {
    const { echo, faults, route } = await setup()
    faults.set({ fault_type: 'TIMEOUT', probability: 1, timeout_ms: 300 })
    const start = performance.now()
    const client = await open(route)
    client.socket.write('anyone there?')
    await client.closed
    expect(performance.now() - start).toBeGreaterThanOrEqual(299)
    expect(client.bytes()).toBe(0)
    expect(echo.accepted).toBe(0)
    expect(faults.injected).toBe(1)
  })

  it('releases held connections at rollback: new ones connect, open ones resume', async () => {
    const { echo, faults, route } = await setup()
    const established = await open(route)
    await roundTrip(established)
    faults.set({ fault_type: 'TIMEOUT', probability: 1, timeout_ms: 60_000 })
    const fresh = await open(route)
    fresh.socket.write('first')
    established.socket.write('second')
    // Counted when held: the fresh connection at connect, the established one on its data.
    await pollUntil(() => faults.injected === 2, { what: 'both connections to be held' })
    expect(echo.accepted).toBe(1)
    faults.rollback()
    await receive(fresh, 'first'.length)
    await receive(established, 'ping'.length + 'second'.length)
    expect(Buffer.concat(fresh.received).toString()).toBe('first')
    expect(Buffer.concat(established.received).toString()).toBe('pingsecond')
    expect(route.connections()).toBe(2)
  })
})

describe.each(['EXCEPTION', 'CIRCUIT_BREAK'] as const)('%s', (fault_type) => {
  const config =
    fault_type === 'EXCEPTION'
      ? { fault_type, probability: 1, exception_class: 'ConnectionError' }
      : { fault_type, probability: 1 }

  it('resets new connections without reaching upstream', async () => {
    const { echo, faults, route } = await setup()
    faults.set(config)
    const client = await open(route)
    expect((await client.closed).error?.code).toBe('ECONNRESET')
    expect(echo.accepted).toBe(0)
    expect(faults.injected).toBe(1)
  })

  it('resets an open connection on its next data, and leaves it alone after rollback', async () => {
    const { faults, route } = await setup()
    const victim = await open(route)
    const survivor = await open(route)
    await roundTrip(victim)
    faults.set(config)
    faults.rollback()
    // A fault that came and went without traffic drops nothing.
    await roundTrip(survivor)
    faults.set(config)
    victim.socket.write('boom')
    expect((await victim.closed).error?.code).toBe('ECONNRESET')
    faults.rollback()
    await roundTrip(survivor)
    expect(Buffer.concat(survivor.received).toString()).toBe('pingping')
  })
})

describe('RATE_LIMIT', () => {
  it('lets rate_limit_requests connections through per window and resets the rest', async () => {
    const { echo, faults, route } = await setup()
    faults.set({
      fault_type: 'RATE_LIMIT',
      probability: 1,
      rate_limit_requests: 2,
      rate_limit_window_seconds: 60,
    })
    const first = await open(route)
    const second = await open(route)
    const third = await open(route)
    expect((await third.closed).error?.code).toBe('ECONNRESET')
    await roundTrip(first)
    await roundTrip(second)
    expect(echo.accepted).toBe(2)
    expect(faults.injected).toBe(1)
    faults.rollback()
    await roundTrip(await open(route))
  })
})

describe('RESOURCE_EXHAUSTION', () => {
  it('squeezes bandwidth, keeps bytes exact, and rollback flushes the rest at once', async () => {
    const { faults, route } = await setup({ squeezeBytesPerSecond: 20_000 })
    const client = await open(route)
    faults.set({ fault_type: 'RESOURCE_EXHAUSTION', probability: 1 })
    const small = randomBytes(6_000)
    const start = performance.now()
    client.socket.write(small)
    await receive(client, small.length)
    // 6 kB each way at 20 kB/s: at least 0.3 s one way plus the first slice back.
    expect(performance.now() - start).toBeGreaterThanOrEqual(300)
    expect(Buffer.concat(client.received).equals(small)).toBe(true)

    const big = randomBytes(200_000) // ten seconds at the squeeze
    client.socket.write(big)
    await pollUntil(() => client.bytes() > small.length || undefined, { what: 'the first squeezed bytes' })
    faults.rollback()
    const flushStart = performance.now()
    await receive(client, small.length + big.length)
    expect(performance.now() - flushStart).toBeLessThan(5_000)
    expect(Buffer.concat(client.received).equals(Buffer.concat([small, big]))).toBe(true)

    // A new squeeze starts afresh, not ten seconds behind the one rolled back.
    faults.set({ fault_type: 'RESOURCE_EXHAUSTION', probability: 1 })
    expect(await roundTrip(client)).toBeLessThan(5_000)
  })
})

describe('many connections', () => {
  it('releases the delayed data of 1,000 open connections at rollback, and keeps them open', async () => {
    const { echo, faults, route } = await setup()
    const clients: Client[] = []
    for (let i = 0; i < 1000; i += 100) {
      clients.push(...(await Promise.all(Array.from({ length: 100 }, () => open(route)))))
    }
    await pollUntil(() => echo.accepted === 1000 || undefined, { what: '1,000 upstream connections' })
    faults.set({ ...LATENCY, latency_ms: 60_000 })
    for (const [i, client] of clients.entries()) client.socket.write(`hello ${i}`)
    // Every message has reached the proxy's queue once the fault has been counted on every connection.
    await pollUntil(() => faults.injected === 1000 || undefined, { what: 'every connection to be delayed' })
    const start = performance.now()
    faults.rollback()
    await Promise.all(clients.map((client, i) => receive(client, `hello ${i}`.length)))
    const elapsed = performance.now() - start
    // Loose on purpose (a shared test machine): bench/proxy-tcp.bench.ts measures it against 50 ms.
    expect(elapsed).toBeLessThan(5_000)
    for (const [i, client] of clients.entries()) {
      expect(Buffer.concat(client.received).toString()).toBe(`hello ${i}`)
    }
    expect(route.connections()).toBe(1000)
  })
})
