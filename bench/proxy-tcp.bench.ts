/**
 * TCP data plane of `chaos proxy` (src/proxy/tcp.ts):
 *
 * 1. Pass-through bytes/s through a route with no fault vs straight to the upstream (goal ≥ 0.8),
 *    with a bare `socket.pipe` proxy measured alongside as the floor of any Node proxy.
 * 2. Rollback under load: 1,000 open connections writing through a LATENCY fault (2 s); time from
 *    the abort of the fault's signal to the last delayed chunk delivered to the upstream (goal ≤ 50 ms).
 *
 * Method: the route runs in this process, as the proxy would in its own; the traffic (clients and
 * upstream sink) runs in a child process, so both sides of the ratio share the child's costs and the
 * proxy's own work is what the ratio measures. Throughput rounds run direct, route and bare pipe in ABC/CBA
 * order, and the median of the per-pair ratios is printed (wall clock: the proxy's cost is real time
 * on another core). The rollback time runs from just before the abort (here) to the arrival at the
 * sink (in the child) of the last byte written before the child heard of it, on the shared absolute
 * clock (performance.timeOrigin + now); each connection's arrival is taken as its last data event
 * when first seen complete, an upper bound.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer, type Socket } from 'node:net'
import { FaultConfig } from '../src/protocol/schemas.js'
import { startTcpRoute, type TcpFault } from '../src/proxy/tcp.js'

const PAIRS = 8
const ROUND_MS = 700
const STREAMS = 4
const OPEN_CONNECTIONS = 1000
const ROLLBACKS = 5

/** The child: an upstream sink that counts bytes per connection, and clients that write. */
const CHILD = String.raw`
const net = require('node:net')
const send = (m) => process.send(m)
let received = 0
const perConn = new Map() // client index -> bytes received by the sink
const lastDataAt = [] // client index -> when the sink last received its data (absolute ms)
const sink = net.createServer({ noDelay: true }, (socket) => {
  let index = -1
  let header = Buffer.alloc(0)
  socket.on('data', (chunk) => {
    received += chunk.length
    if (index < 0) {
      // The first 4 bytes name the client, so the sink can count per connection.
      header = Buffer.concat([header, chunk])
      if (header.length < 4) return
      index = header.readUInt32BE(0)
      perConn.set(index, (perConn.get(index) ?? 0) + header.length)
      return
    }
    perConn.set(index, perConn.get(index) + chunk.length)
    lastDataAt[index] = performance.timeOrigin + performance.now()
  })
  socket.on('error', () => {})
})
sink.listen(0, '127.0.0.1', () => send({ ready: sink.address().port }))

const block = Buffer.alloc(64 * 1024, 7)
async function stream(port, ms, streams) {
  const start = received
  const t0 = performance.now()
  const sockets = []
  let stop = false
  await Promise.all(Array.from({ length: streams }, () => new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => {
      const header = Buffer.alloc(4); header.writeUInt32BE(1e9 + sockets.length); s.write(header)
      const pump = () => { while (!stop && s.write(block)); }
      s.on('drain', pump); pump(); resolve()
    })
    s.on('error', () => {})
    sockets.push(s)
  })))
  await new Promise((r) => setTimeout(r, ms))
  const bytes = received - start
  const seconds = (performance.now() - t0) / 1000
  stop = true
  for (const s of sockets) s.destroy()
  return bytes / seconds
}

let clients = []
let written = []
let loadTimer
function openMany(port, n) {
  return Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => {
      const header = Buffer.alloc(4); header.writeUInt32BE(i); s.write(header); written[i] = 4; resolve()
    })
    s.on('error', () => {})
    clients[i] = s
  })))
}
const message = Buffer.alloc(256, 1)
function load(on) {
  clearInterval(loadTimer)
  if (!on) return
  // One timer: every 10 ms a tenth of the connections write a 256-byte message (each every 100 ms).
  let next = 0
  loadTimer = setInterval(() => {
    for (let k = 0; k < clients.length / 10; k++) {
      const i = next++ % clients.length
      clients[i].write(message); written[i] += message.length
    }
  }, 10)
}
// When the sink had everything written before now: the latest of the connections' arrival times
// (each taken as its last data event when first seen complete, an upper bound).
function whenDelivered() {
  const target = written.slice()
  const doneAt = new Array(target.length)
  let left = target.length
  return new Promise((resolve) => {
    const check = () => {
      for (let i = 0; i < target.length; i++) {
        if (doneAt[i] === undefined && (perConn.get(i) ?? 0) >= target[i]) { doneAt[i] = lastDataAt[i]; left-- }
      }
      if (left > 0) return setImmediate(check)
      resolve(Math.max(...doneAt))
    }
    check()
  })
}
process.on('message', async (m) => {
  if (m.stream) send({ rate: await stream(m.stream.port, m.stream.ms, m.stream.streams) })
  if (m.open) { await openMany(m.open.port, m.open.n); send({ opened: true }) }
  if (m.load !== undefined) { load(m.load); send({ load: m.load }) }
  if (m.rolledBack) send({ delivered: await whenDelivered() })
  if (m.exit) { for (const s of clients) s.destroy(); sink.close(); process.exit(0) }
})
`

type Reply = Record<string, unknown>

function ask(child: ChildProcess, message: Reply, key: string): Promise<Reply> {
  return new Promise((resolve) => {
    const on = (reply: Reply) => {
      if (!(key in reply)) return
      child.off('message', on)
      resolve(reply)
    }
    child.on('message', on)
    child.send(message)
  })
}

/** The reference: a TCP proxy that is nothing but `socket.pipe` both ways. */
async function startBarePipe(upstreamPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const mbps = (bytesPerSecond: number) => `${(bytesPerSecond / 1e6).toFixed(0)} MB/s`

export default async function proxyTcpBench(log: (line: string) => void): Promise<void> {
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ready = await new Promise<Reply>((resolve) => child.once('message', resolve))
  const upstreamPort = ready.ready as number

  let fault: TcpFault | null = null
  const route = await startTcpRoute({
    name: 'bench',
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: upstreamPort },
    faults: { forConnection: () => fault },
  })
  const bare = await startBarePipe(upstreamPort)
  try {
    // 1. Throughput: direct, through the route, and through a bare Node pipe (the floor any Node
    // proxy starts from), in ABC/CBA order.
    const stream = async (port: number) =>
      (await ask(child, { stream: { port, ms: ROUND_MS, streams: STREAMS } }, 'rate')).rate as number
    const ports = [upstreamPort, route.address.port, bare.port]
    for (const port of ports) await stream(port)
    const rates: number[][] = [[], [], []]
    const ratios: number[] = []
    const bareRatios: number[] = []
    for (let i = 0; i < PAIRS; i++) {
      const round = [0, 0, 0]
      for (const k of i % 2 === 0 ? [0, 1, 2] : [2, 1, 0]) round[k] = await stream(ports[k]!)
      round.forEach((rate, k) => rates[k]!.push(rate))
      ratios.push(round[1]! / round[0]!)
      bareRatios.push(round[2]! / round[0]!)
    }
    log(
      `pass-through (${STREAMS} streams): direct ${mbps(median(rates[0]!))}, route ${mbps(median(rates[1]!))}, ` +
        `bare Node pipe ${mbps(median(rates[2]!))}`,
    )
    log(`  ratio route/direct:        ${median(ratios).toFixed(3)} (goal >= 0.8)`)
    log(
      `  ratio bare pipe/direct:    ${median(bareRatios).toFixed(3)} (reference: socket.pipe both ways, no faults)`,
    )

    // 2. Rollback with 1,000 open connections under load.
    await ask(child, { open: { port: route.address.port, n: OPEN_CONNECTIONS } }, 'opened')
    const times: number[] = []
    const syncTimes: number[] = []
    for (let i = 0; i < ROLLBACKS; i++) {
      const controller = new AbortController()
      fault = {
        config: FaultConfig.parse({ fault_type: 'LATENCY', probability: 1, latency_ms: 2000 }),
        signal: controller.signal,
        injected: () => {},
      }
      await ask(child, { load: true }, 'load')
      // Let the delay queue fill: about a second of messages on every connection.
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const start = performance.now()
      fault = null
      controller.abort()
      syncTimes.push(performance.now() - start)
      const { delivered } = await ask(child, { rolledBack: true }, 'delivered')
      times.push((delivered as number) - (performance.timeOrigin + start))
      await ask(child, { load: false }, 'load')
    }
    log(
      `rollback, ${OPEN_CONNECTIONS} connections under load: median ${median(times).toFixed(1)} ms, ` +
        `max ${Math.max(...times).toFixed(1)} ms from abort to the last delayed chunk delivered (goal <= 50 ms)`,
    )
    log(`  of which the flush in the proxy: median ${median(syncTimes).toFixed(1)} ms`)
    log(`  open connections after rollback: ${route.connections()} (none dropped)`)
  } finally {
    child.send({ exit: true })
    await route.close()
    await bare.close()
  }
}
