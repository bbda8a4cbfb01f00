/**
 * Issue 13, the fan-out functions against 20 real agents (createChaosAgent on 20 loopback ports,
 * real HTTP): start, rollback and stop-all reach every instance at once, as each agent's own
 * receipt order shows, and the all-or-nothing pieces (a refusing instance, a rollback of the
 * others) are read back from each agent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createChaosAgent, type ChaosAgent } from '../src/agent/index.js'
import { systemClock } from '../src/clock.js'
import { createControlClient, type ControlClient } from '../src/engine/control-client.js'
import { startAll, stopAllOn } from '../src/engine/fan-out.js'
import { rollback } from '../src/engine/phases/rollback.js'
import type { StartExperimentRequest } from '../src/protocol/schemas.js'

const TOKEN = 'test-token-0123456789'

/**
 * What the agents saw, in order: `received <i>` when a gated request arrived, `answered <i>` when
 * it was let through. Gated requests (method + path prefix) are held until `release` of them are
 * held; a 2 s timer lets them through anyway, so a serial caller ends (and fails the assertion)
 * instead of hanging.
 */
class Gate {
  readonly log: string[] = []
  private held: Array<() => void> = []
  private inFlight = 0
  maxInFlight = 0
  private timer: NodeJS.Timeout | null = null

  constructor(
    readonly method: string,
    readonly path: string,
    readonly release: number,
  ) {}

  hold(i: number, go: () => void): void {
    this.log.push(`received ${i}`)
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    this.held.push(() => {
      this.inFlight--
      this.log.push(`answered ${i}`)
      go()
    })
    if (this.held.length >= this.release) this.open()
    else this.timer ??= setTimeout(() => this.open(), 2_000)
  }

  private open(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.held.splice(0).forEach((go) => go())
  }

  /** Index of the first answer in the log (how many were received before any was answered). */
  firstAnswer(): number {
    return this.log.findIndex((l) => l.startsWith('answered'))
  }
}

interface Fleet {
  agents: ChaosAgent[]
  clients: ControlClient[]
  gate: { current: Gate | null }
}

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

/** `n` agents, each on its own loopback port, wrapping pms_adapter; requests may be gated. */
async function fleet(n: number): Promise<Fleet> {
  const gate: Fleet['gate'] = { current: null }
  const agents: ChaosAgent[] = []
  const clients: ControlClient[] = []
  for (let i = 0; i < n; i++) {
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    agent.wrap('pms_adapter', () => Promise.resolve(1))
    const handle = (req: IncomingMessage, res: ServerResponse) => void agent.handle(req, res)
    const server = createServer((req, res) => {
      const g = gate.current
      if (g && req.method === g.method && req.url?.startsWith(g.path)) g.hold(i, () => handle(req, res))
      else handle(req, res)
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    agents.push(agent)
    clients.push(createControlClient({ target: `http://127.0.0.1:${port}`, token: TOKEN }))
  }
  return { agents, clients, gate }
}

const body = (id: string): StartExperimentRequest => ({
  id,
  target_service: 'pms_adapter',
  fault_config: {
    fault_type: 'EXCEPTION',
    probability: 1,
    exception_class: 'PMSError',
    blast_radius: 'SERVICE_CLUSTER',
  } as StartExperimentRequest['fault_config'],
  lease_seconds: 30,
})

/** The ids each agent says are active (its own read-back). */
const active = (f: Fleet) => f.agents.map((a) => a.info().active_experiments.map((e) => e.id))

describe('fan-out to 20 real agents', () => {
  it('startAll: every agent received its start before any was answered; rollback: the same for DELETE, each verified', async () => {
    const f = await fleet(20)
    f.gate.current = new Gate('POST', '/chaos/experiments', 20)
    const started = await startAll(f.clients, body('fleet.run1'))
    expect(started.map((s) => s.status)).toEqual(Array(20).fill('STARTED'))
    expect(f.gate.current.maxInFlight).toBe(20)
    expect(f.gate.current.firstAnswer()).toBe(20)
    expect(active(f)).toEqual(Array(20).fill(['fleet.run1']))

    f.gate.current = new Gate('DELETE', '/chaos/experiments/', 20)
    const result = await rollback(f.clients, 'fleet.run1', systemClock)
    expect(f.gate.current.firstAnswer()).toBe(20)
    expect(result.record).toMatchObject({ verified: true, method: 'DELETE', attempts: 20, error: null })
    expect(result.instances.every((i) => i.verified && i.faults === 0 && i.calls === 0)).toBe(true)
    expect(active(f)).toEqual(Array(20).fill([]))
  })

  it('startAll keeps at most max_parallel calls in flight', async () => {
    const f = await fleet(9)
    f.gate.current = new Gate('POST', '/chaos/experiments', 3)
    const started = await startAll(f.clients, body('fleet.bounded'), { maxParallel: 3 })
    expect(started.every((s) => s.status === 'STARTED')).toBe(true)
    // Nine starts in three waves of three.
    expect(f.gate.current.maxInFlight).toBe(3)
  })

  it('a refusing agent (409: another experiment runs there) is REFUSED; rolling back the others leaves its experiment alone', async () => {
    const f = await fleet(5)
    await startAll([f.clients[2]!], body('other.runner'))
    const started = await startAll(f.clients, body('fleet.run2'))
    expect(started.map((s) => s.status)).toEqual(['STARTED', 'STARTED', 'REFUSED', 'STARTED', 'STARTED'])
    const refused = started[2]!
    expect(refused.status === 'REFUSED' && refused.error.status).toBe(409)
    const rolledBack = started.filter((s) => s.status === 'STARTED').map((s) => s.client)
    const result = await rollback(rolledBack, 'fleet.run2', systemClock)
    expect(result.record.verified).toBe(true)
    expect(active(f)).toEqual([[], [], ['other.runner'], [], []])
  })

  it('stopAllOn ends everything on every agent at once', async () => {
    const f = await fleet(20)
    await startAll(f.clients, body('fleet.run3'))
    f.gate.current = new Gate('DELETE', '/chaos/experiments', 20)
    const stopped = await stopAllOn(f.clients)
    expect(f.gate.current.firstAnswer()).toBe(20)
    expect(stopped.every((s) => s.status === 'fulfilled' && s.value.length === 1)).toBe(true)
    expect(active(f)).toEqual(Array(20).fill([]))
  })
})
