/**
 * An HTTP route in-process, against upstreams that misbehave in ways a real one does: a kept-alive
 * connection closed by the upstream while idle (the proxy sends a body-less request again, once).
 */
import { createServer, type Socket } from 'node:net'
import { request } from 'undici'
import { afterEach, expect, test } from 'vitest'
import { createChaosAgent } from '../src/agent/agent.js'
import { silentLogger } from '../src/logger.js'
import { startHttpRoute, type RunningRoute } from '../src/proxy/http-route.js'
import { parseRouteSpec } from '../src/proxy/routes.js'

const cleanups: (() => Promise<unknown> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Answers the first request of each connection (keep-alive), resets the connection on the second. */
async function oneRequestPerConnection(): Promise<{ port: number; connections: () => number }> {
  let connections = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    connections++
    sockets.add(socket)
    let requests = 0
    socket.on('data', (chunk) => {
      if (!chunk.toString('latin1').includes('\r\n\r\n')) return
      requests++
      if (requests === 1) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok')
      } else {
        socket.resetAndDestroy()
      }
    })
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(resolve)
      }),
  )
  return { port: (server.address() as { port: number }).port, connections: () => connections }
}

test('a kept-alive upstream connection reset on reuse: a GET is sent again on a fresh connection', async () => {
  const upstream = await oneRequestPerConnection()
  const agent = createChaosAgent({
    service: 'chaos_proxy',
    enabled: true,
    token: 'route-token-0123456789',
    env: {},
  })
  cleanups.push(() => agent.close())
  const route: RunningRoute = await startHttpRoute(
    parseRouteSpec(`flaky=127.0.0.1:0->http://127.0.0.1:${upstream.port}`),
    agent,
    silentLogger,
  )
  cleanups.push(() => route.close())
  for (let i = 0; i < 3; i++) {
    const reply = await request(`http://${route.listen}/x`)
    expect(reply.statusCode).toBe(200)
    expect(await reply.body.text()).toBe('ok')
  }
  // Each reuse was reset and retried: three requests, three upstream connections.
  expect(upstream.connections()).toBe(3)
})
