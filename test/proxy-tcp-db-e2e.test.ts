/**
 * The TCP data plane of `chaos proxy` in front of real databases: Redis and PostgreSQL 15 from
 * Debian (installed by .ci/run), started here on loopback ports and stopped after, driven by their own
 * clients (`redis-cli`, `psql`). A latency fault shows on query times, a reset fault surfaces as the
 * client's connection error, and rollback restores normal times, also for an open session.
 *
 * Nothing is skipped: without the servers the tests fail, saying what to install.
 */
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTcpRoute, type TcpRoute } from '../src/proxy/tcp.js'
import { assertBuilt, request, tempCwd } from './support/index.js'
import { pollUntil } from './support/poll.js'
import { startProxyCli } from './support/proxy.js'
import { PG_BIN, psql, psqlArgs, startPostgres, type PostgresServer } from './support/postgres.js'
import { redisCli, startRedis, type RedisServer } from './support/redis.js'
import { TestFaults } from './support/tcp-faults.js'

/** Added per direction: a request/response round trip gains twice this. */
const LATENCY_MS = 300

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now()
  const value = await fn()
  return { value, ms: performance.now() - start }
}

function routeTo(port: number, faults: TestFaults): Promise<TcpRoute> {
  return startTcpRoute({
    name: 'db',
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port },
    faults,
  })
}

describe('Redis through a TCP route', () => {
  let redis: RedisServer | undefined
  let route: TcpRoute
  const faults = new TestFaults()

  beforeAll(async () => {
    redis = await startRedis()
    route = await routeTo(redis.port, faults)
  })
  afterAll(async () => {
    faults.rollback()
    await route?.close()
    await redis?.stop()
  })

  it('LATENCY shows on redis-cli times; rollback restores them', async () => {
    const port = route.address.port
    const before = await timed(() => redisCli(port, ['PING']))
    expect(before.value.stdout.trim()).toBe('PONG')

    faults.set({ fault_type: 'LATENCY', probability: 1, latency_ms: LATENCY_MS })
    // Three PINGs on one connection: each round trip is delayed both ways.
    const slow = await timed(() => redisCli(port, ['-r', '3', 'PING']))
    expect(slow.value.stdout.trim().split('\n')).toEqual(['PONG', 'PONG', 'PONG'])
    expect(slow.ms).toBeGreaterThanOrEqual(3 * 2 * LATENCY_MS)

    faults.rollback()
    const after = await timed(() => redisCli(port, ['-r', '3', 'PING']))
    expect(after.value.stdout.trim().split('\n')).toEqual(['PONG', 'PONG', 'PONG'])
    // Less than a single delayed round trip for all three.
    expect(after.ms).toBeLessThan(2 * LATENCY_MS)
  })

  it.each([
    ['EXCEPTION', { fault_type: 'EXCEPTION', probability: 1, exception_class: 'ConnectionError' }],
    ['CIRCUIT_BREAK', { fault_type: 'CIRCUIT_BREAK', probability: 1 }],
  ] as const)('%s surfaces as redis-cli connection reset; rollback restores service', async (_, config) => {
    const port = route.address.port
    faults.set(config)
    const failed = await redisCli(port, ['PING'])
    expect(failed.exitCode).not.toBe(0)
    expect(failed.all).toMatch(/Connection reset by peer/)
    faults.rollback()
    const ok = await redisCli(port, ['PING'])
    expect(ok.stdout.trim()).toBe('PONG')
  })
})

/** An open psql session fed on stdin, whose `\timing` lines are read as they come. */
function psqlSession(port: number) {
  const child = execa(join(PG_BIN, 'psql'), psqlArgs(port, []), {
    reject: false,
    all: true,
    stdin: 'pipe',
    env: { PGCONNECT_TIMEOUT: '10' },
  })
  let output = ''
  child.all.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  const times = () => [...output.matchAll(/^Time: ([\d.]+) ms/gm)].map((m) => Number(m[1]))
  return {
    child,
    output: () => output,
    /** Sends one query; resolves with its time as psql measured it. */
    async query(sql: string): Promise<number> {
      const seen = times().length
      child.stdin.write(`${sql}\n`)
      return pollUntil(() => times()[seen], { what: `psql to answer ${sql}`, everyMs: 5 })
    },
    send(sql: string): void {
      child.stdin.write(`${sql}\n`)
    },
    times,
  }
}

describe('PostgreSQL through a TCP route', () => {
  let postgres: PostgresServer | undefined
  let route: TcpRoute
  const faults = new TestFaults()

  beforeAll(async () => {
    postgres = await startPostgres()
    route = await routeTo(postgres.port, faults)
  })
  afterAll(async () => {
    faults.rollback()
    await route?.close()
    await postgres?.stop()
  })

  it('LATENCY shows on psql query times; rollback restores them', async () => {
    const port = route.address.port
    const select = ['-c', '\\timing on', '-c', 'SELECT 1']
    const time = (out: string) => Number(/^Time: ([\d.]+) ms/m.exec(out)?.[1])

    const before = await psql(port, select)
    expect(before.exitCode, before.all).toBe(0)
    expect(time(before.stdout)).toBeLessThan(LATENCY_MS)

    faults.set({ fault_type: 'LATENCY', probability: 1, latency_ms: LATENCY_MS })
    const slow = await psql(port, select)
    expect(slow.exitCode, slow.all).toBe(0)
    expect(time(slow.stdout)).toBeGreaterThanOrEqual(2 * LATENCY_MS)

    faults.rollback()
    const after = await psql(port, select)
    expect(after.exitCode, after.all).toBe(0)
    expect(time(after.stdout)).toBeLessThan(LATENCY_MS)
  })

  it('an open session: a delayed query completes at rollback, then a reset drops it with the client error', async () => {
    const session = psqlSession(route.address.port)
    try {
      session.send('\\timing on')
      expect(await session.query('SELECT 1;')).toBeLessThan(LATENCY_MS)

      // A query held by a long latency: rollback must deliver it at once, not after a minute.
      faults.set({ fault_type: 'LATENCY', probability: 1, latency_ms: 60_000 })
      const injected = faults.injected
      const pending = session.query('SELECT 2;')
      await pollUntil(() => faults.injected > injected, { what: 'the query to reach the proxy' })
      faults.rollback()
      expect(await pending).toBeLessThan(30_000)
      expect(await session.query('SELECT 3;')).toBeLessThan(LATENCY_MS)
      expect(route.connections()).toBe(1)

      faults.set({ fault_type: 'EXCEPTION', probability: 1, exception_class: 'ConnectionError' })
      session.send('SELECT 4;')
      session.child.stdin.end()
      const result = await session.child
      expect(result.exitCode).not.toBe(0)
      expect(session.output()).toMatch(/server closed the connection unexpectedly|Connection reset by peer/)
      faults.rollback()
    } finally {
      session.child.kill()
    }
  })

  it('CIRCUIT_BREAK refuses new psql connections; rollback restores them', async () => {
    const port = route.address.port
    faults.set({ fault_type: 'CIRCUIT_BREAK', probability: 1 })
    const refused = await psql(port, ['-c', 'SELECT 1'])
    expect(refused.exitCode).not.toBe(0)
    expect(refused.all).toMatch(/server closed the connection unexpectedly|Connection reset by peer/)
    faults.rollback()
    const ok = await psql(port, ['-c', 'SELECT 1'])
    expect(ok.exitCode, ok.all).toBe(0)
    expect(ok.stdout.trim()).toBe('1')
  })
})

describe('Redis behind the compiled `chaos proxy`, faults through the control API', () => {
  const token = 'proxy-tcp-e2e-token-0123456789'
  let redis: RedisServer | undefined
  let proxy: Awaited<ReturnType<typeof startProxyCli>> | undefined
  let home: Awaited<ReturnType<typeof tempCwd>> | undefined

  beforeAll(async () => {
    assertBuilt()
    redis = await startRedis()
    home = await tempCwd()
    proxy = await startProxyCli(
      ['--route', `session_store=127.0.0.1:0->tcp://127.0.0.1:${redis.port}`],
      home.dir,
      token,
    )
  })
  afterAll(async () => {
    proxy?.cli.child.kill('SIGTERM')
    await proxy?.cli.child
    await redis?.stop()
    await home?.cleanup()
  })

  it('lists the TCP route; LATENCY shows on redis-cli and is counted; DELETE restores times; EXCEPTION resets', async () => {
    const { ready } = proxy!
    expect(ready.routes).toEqual([
      expect.objectContaining({
        name: 'session_store',
        protocol: 'TCP',
        upstream: `tcp://127.0.0.1:${redis!.port}`,
      }),
    ])
    const port = Number(ready.routes[0]!.listen.split(':').pop())
    const info = await request<{ services: string[] }>(ready.control_url, 'GET', '/chaos', { token })
    expect(info.body.services).toContain('session_store')

    const start = (id: string, fault_config: Record<string, unknown>) =>
      request(ready.control_url, 'POST', '/chaos/experiments', {
        token,
        body: { id, target_service: 'session_store', fault_config, lease_seconds: 30 },
      })
    const latency = await start('tcp-e2e.latency', {
      fault_type: 'LATENCY',
      latency_ms: LATENCY_MS,
      probability: 1,
      blast_radius: 'SINGLE_SERVICE',
    })
    expect(latency.status, JSON.stringify(latency.body)).toBe(201)
    const slow = await timed(() => redisCli(port, ['PING']))
    expect(slow.value.stdout.trim()).toBe('PONG')
    expect(slow.ms).toBeGreaterThanOrEqual(2 * LATENCY_MS)
    const view = await request<{ experiment: { faults_injected: number } }>(
      ready.control_url,
      'GET',
      '/chaos/experiments/tcp-e2e.latency',
      { token },
    )
    expect(view.body.experiment.faults_injected).toBeGreaterThan(0)

    expect(
      (await request(ready.control_url, 'DELETE', '/chaos/experiments/tcp-e2e.latency', { token })).status,
    ).toBe(200)
    const fast = await timed(() => redisCli(port, ['-r', '3', 'PING']))
    expect(fast.value.stdout.trim().split('\n')).toEqual(['PONG', 'PONG', 'PONG'])
    expect(fast.ms).toBeLessThan(2 * LATENCY_MS)

    const reset = await start('tcp-e2e.reset', {
      fault_type: 'EXCEPTION',
      exception_class: 'ConnectionError',
      probability: 1,
      blast_radius: 'SINGLE_SERVICE',
    })
    expect(reset.status, JSON.stringify(reset.body)).toBe(201)
    const failed = await redisCli(port, ['PING'])
    expect(failed.exitCode).not.toBe(0)
    expect(failed.all).toMatch(/Connection reset by peer/)
    await request(ready.control_url, 'DELETE', '/chaos/experiments/tcp-e2e.reset', { token })
    expect((await redisCli(port, ['PING'])).stdout.trim()).toBe('PONG')
  })
})
