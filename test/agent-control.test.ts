/**
 * Control protocol v1 over real HTTP: routes, status codes, auth, limits, leases (one real expiry),
 * history, logging, adapters and the production guard.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryLogger } from '../src/logger.js'
import { AgentInfo, ErrorBody, ExperimentView } from '../src/protocol/schemas.js'
import {
  createChaosAgent,
  HISTORY_LIMIT,
  MAX_BODY_BYTES,
  type FastifyLikeInstance,
  type FastifyLikeReply,
  type FastifyLikeRequest,
} from '../src/agent/index.js'
import { closeServer, experiment, request, startHost, TOKEN, type Host } from './agent-helpers.js'
import { pollUntil } from './support/index.js'

type ExperimentReply = { experiment: ExperimentView & Record<string, unknown> }

let host: Host | undefined
afterEach(async () => {
  await host?.close()
  host = undefined
})

const cb = { fault_type: 'CIRCUIT_BREAK', probability: 1 }

describe('routes', () => {
  it('GET /chaos describes the agent: protocol 1, service, instance, environment, wrapped services', async () => {
    host = await startHost({ instance: 'hotel-1', environment: 'staging' })
    const reply = await request(host.url, 'GET', '/chaos')
    expect(reply.status).toBe(200)
    const info = AgentInfo.parse(reply.body)
    expect(info).toEqual({
      agent: 'chaos-playbook',
      protocol: 1,
      service: 'hotel',
      instance: 'hotel-1',
      environment: 'staging',
      services: ['pms_adapter', 'whatsapp_client', 'database'],
      active_experiments: [],
    })
  })

  it('environment defaults to env.NODE_ENV, then development', () => {
    const a = createChaosAgent({ service: 'h', enabled: false, env: { NODE_ENV: 'test' } })
    const b = createChaosAgent({ service: 'h', enabled: false, env: {} })
    expect(a.info().environment).toBe('test')
    expect(b.info().environment).toBe('development')
  })

  it('POST starts an experiment (201), GET shows live counters, DELETE rolls back with COMPLETED', async () => {
    host = await startHost()
    const created = await request<ExperimentReply>(host.url, 'POST', '/chaos/experiments', {
      body: experiment('pms_down', cb, 'pms_adapter', 30),
    })
    expect(created.status).toBe(201)
    expect(created.headers.get('location')).toBe('/chaos/experiments/pms_down')
    const view = ExperimentView.parse(created.body.experiment)
    expect(view).toMatchObject({
      id: 'pms_down',
      target_service: 'pms_adapter',
      state: 'RUNNING',
      calls_seen: 0,
      faults_injected: 0,
      ended_at: null,
    })
    // Defaults from the shared schema are filled in.
    expect(view.fault_config).toEqual({
      fault_type: 'CIRCUIT_BREAK',
      probability: 1,
      blast_radius: 'SINGLE_SERVICE',
      enabled: true,
      exception_message: 'Chaos: connection refused',
    })
    const lease = Date.parse(view.lease_expires_at) - Date.parse(view.started_at)
    expect(lease).toBe(30_000)

    await request(host.url, 'GET', '/batch/pms_adapter?n=3', { token: null })
    const info = AgentInfo.parse((await request(host.url, 'GET', '/chaos')).body)
    expect(info.active_experiments).toHaveLength(1)
    expect(info.active_experiments[0]).toMatchObject({ id: 'pms_down', calls_seen: 3, faults_injected: 3 })
    const live = await request<ExperimentReply>(host.url, 'GET', '/chaos/experiments/pms_down')
    expect(live.body.experiment).toMatchObject({ calls_seen: 3, faults_injected: 3, state: 'RUNNING' })

    const deleted = await request<ExperimentReply>(host.url, 'DELETE', '/chaos/experiments/pms_down')
    expect(deleted.status).toBe(200)
    expect(deleted.body.experiment).toMatchObject({
      state: 'COMPLETED',
      faults_injected: 3,
      end_reason: 'stopped',
    })
    expect(deleted.body.experiment.ended_at).toEqual(expect.any(String))
    expect(AgentInfo.parse((await request(host.url, 'GET', '/chaos')).body).active_experiments).toEqual([])
  })

  it('DELETE /chaos/experiments is the emergency stop: stops everything and says what', async () => {
    const logger = createMemoryLogger()
    host = await startHost({ logger })
    await request(host.url, 'POST', '/chaos/experiments', { body: experiment('e1', cb) })
    const reply = await request<{ stopped: ExperimentView[] }>(host.url, 'DELETE', '/chaos/experiments')
    expect(reply.status).toBe(200)
    expect(reply.body.stopped.map((e) => [e.id, e.state])).toEqual([['e1', 'COMPLETED']])
    expect(logger.entries.find((e) => e.event === 'chaos_agent_emergency_stop')?.fields).toMatchObject({
      stopped: ['e1'],
    })
    // Nothing running: still 200, nothing stopped.
    const again = await request<{ stopped: ExperimentView[] }>(host.url, 'DELETE', '/chaos/experiments')
    expect(again).toMatchObject({ status: 200, body: { stopped: [] } })
    expect((await request(host.url, 'GET', '/call/pms_adapter', { token: null })).status).toBe(200)
  })

  it('stopAll() and close() roll back like the emergency route', async () => {
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    const fn = agent.wrap('pms_adapter', () => Promise.resolve('ok'))
    agent.startExperiment(experiment('s1', cb))
    expect(agent.stopAll('operator').map((e) => e.state)).toEqual(['COMPLETED'])
    expect(await fn()).toBe('ok')
    agent.startExperiment(experiment('s2', cb))
    await agent.close()
    expect(agent.getExperiment('s2')).toMatchObject({ state: 'COMPLETED', end_reason: 'agent_closed' })
    expect(await fn()).toBe('ok')
    expect(() => agent.startExperiment(experiment('s3', cb))).toThrow(/closed/)
  })

  it('the host keeps every URL outside the prefix; a custom prefix works', async () => {
    host = await startHost({ prefix: '/ops/chaos/' })
    expect((await request(host.url, 'GET', '/chaos')).status).toBe(404)
    expect((await request(host.url, 'GET', '/chaos')).body).toEqual({ error: 'host route not found' })
    expect((await request(host.url, 'GET', '/ops/chaosx')).body).toEqual({ error: 'host route not found' })
    expect((await request(host.url, 'GET', '/ops/chaos')).status).toBe(200)
    expect((await request(host.url, 'GET', '/ops/chaos/?q=1')).status).toBe(200)
    const created = await request(host.url, 'POST', '/ops/chaos/experiments', { body: experiment('p1', cb) })
    expect(created.headers.get('location')).toBe('/ops/chaos/experiments/p1')
  })

  it('GET /chaos/experiments lists the running and recently ended experiments, newest first', async () => {
    host = await startHost()
    await request(host.url, 'POST', '/chaos/experiments', { body: experiment('old', cb) })
    await request(host.url, 'DELETE', '/chaos/experiments/old')
    await request(host.url, 'POST', '/chaos/experiments', { body: experiment('new', cb) })
    const reply = await request<{ experiments: ExperimentView[] }>(host.url, 'GET', '/chaos/experiments')
    expect(reply.body.experiments.map((e) => [e.id, e.state])).toEqual([
      ['new', 'RUNNING'],
      ['old', 'COMPLETED'],
    ])
  })
})

describe('status codes', () => {
  it('401 without a token, with a wrong one, or with another scheme', async () => {
    host = await startHost()
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${TOKEN}` },
      { authorization: 'Bearer' },
    ]
    for (const headers of attempts) {
      const reply = await request(host.url, 'GET', '/chaos', { token: null, headers })
      expect(reply.status).toBe(401)
      expect(ErrorBody.parse(reply.body).error).toMatch(/token/)
      expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
    // Unauthenticated requests change nothing.
    const post = await request(host.url, 'POST', '/chaos/experiments', {
      token: 'nope',
      body: experiment('x', cb),
    })
    expect(post.status).toBe(401)
    expect(host.agent.activeExperiments()).toEqual([])
    expect((await request(host.url, 'GET', '/chaos', { token: ` ${TOKEN}` })).status).toBe(200)
  })

  it('404 on every route when the agent is not enabled (and wrap is a pass-through)', async () => {
    host = await startHost({ enabled: false, token: undefined })
    for (const [method, path] of [
      ['GET', '/chaos'],
      ['GET', '/chaos/experiments'],
      ['POST', '/chaos/experiments'],
      ['DELETE', '/chaos/experiments'],
      ['PUT', '/chaos/experiments/x/lease'],
    ] as const) {
      const reply = await request(host.url, method, path, {
        body: method === 'POST' ? experiment('x', cb) : undefined,
      })
      expect(reply.status, `${method} ${path}`).toBe(404)
    }
    expect(() => host!.agent.startExperiment(experiment('x', cb))).toThrow(/not enabled/)
  })

  it('404 for unknown experiments and unknown routes, 405 for a wrong method', async () => {
    host = await startHost()
    expect((await request(host.url, 'GET', '/chaos/experiments/nope')).status).toBe(404)
    expect((await request(host.url, 'DELETE', '/chaos/experiments/nope')).status).toBe(404)
    expect(
      (await request(host.url, 'PUT', '/chaos/experiments/nope/lease', { body: { lease_seconds: 5 } }))
        .status,
    ).toBe(404)
    expect((await request(host.url, 'GET', '/chaos/experiments/%E0%A4%A')).status).toBe(404)
    expect((await request(host.url, 'GET', '/chaos/whatever')).status).toBe(404)
    expect((await request(host.url, 'GET', '/chaos/experiments/a/b/c')).status).toBe(404)
    const wrong = await request(host.url, 'PATCH', '/chaos/experiments')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toContain('POST')
    expect((await request(host.url, 'POST', '/chaos')).status).toBe(405)
    expect((await request(host.url, 'GET', '/chaos/experiments/x/lease')).status).toBe(405)
  })

  it('409 when another experiment is running on this instance (one at a time)', async () => {
    host = await startHost()
    expect(
      (await request(host.url, 'POST', '/chaos/experiments', { body: experiment('first', cb) })).status,
    ).toBe(201)
    const second = await request<{ error: string; experiment: ExperimentView }>(
      host.url,
      'POST',
      '/chaos/experiments',
      {
        body: experiment('second', cb, 'database'),
      },
    )
    expect(second.status).toBe(409)
    expect(second.body.error).toMatch(/"first" is already running/)
    expect(second.body.experiment.id).toBe('first')
    // The same id again is a conflict too.
    expect(
      (await request(host.url, 'POST', '/chaos/experiments', { body: experiment('first', cb) })).status,
    ).toBe(409)
  })

  it('400 with the list of problems for invalid bodies, invalid JSON and unknown services', async () => {
    host = await startHost()
    const invalid = await request<{ error: string; problems: string[] }>(
      host.url,
      'POST',
      '/chaos/experiments',
      {
        body: {
          id: 'Bad Id',
          target_service: 'pms_adapter',
          fault_config: { fault_type: 'LATENCY', probability: 2 },
        },
      },
    )
    expect(invalid.status).toBe(400)
    expect(ErrorBody.parse(invalid.body).problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^id: /),
        expect.stringMatching(/^fault_config\.probability: /),
        expect.stringMatching(/^fault_config\.latency_ms: /),
        expect.stringMatching(/^lease_seconds: /),
      ]),
    )
    const extraField = await request<{ problems: string[] }>(host.url, 'POST', '/chaos/experiments', {
      body: { ...experiment('x', cb), duration: 5 },
    })
    expect(extraField.status).toBe(400)
    expect(extraField.body.problems.join('\n')).toMatch(/duration/)

    const badJson = await request(host.url, 'POST', '/chaos/experiments', { raw: '{"id": ' })
    expect(badJson.status).toBe(400)
    expect(badJson.body.error).toBe('invalid JSON body')
    const empty = await request(host.url, 'POST', '/chaos/experiments', { raw: '' })
    expect(empty.status).toBe(400)

    const unknown = await request<{ problems: string[] }>(host.url, 'POST', '/chaos/experiments', {
      body: experiment('x', cb, 'gmail_client'),
    })
    expect(unknown.status).toBe(400)
    expect(unknown.body.problems[0]).toMatch(/^target_service: "gmail_client" is not a wrapped service/)
    // The host service name only addresses ENTIRE_SYSTEM experiments.
    expect(
      (await request(host.url, 'POST', '/chaos/experiments', { body: experiment('x', cb, 'hotel') })).status,
    ).toBe(400)
    expect(host.agent.activeExperiments()).toEqual([])

    const badLease = await request(host.url, 'POST', '/chaos/experiments', { body: experiment('ok', cb) })
    expect(badLease.status).toBe(201)
    const renew = await request(host.url, 'PUT', '/chaos/experiments/ok/lease', {
      body: { lease_seconds: -1 },
    })
    expect(renew.status).toBe(400)
  })

  it('413 for bodies over 64 KiB, whether declared or streamed', async () => {
    host = await startHost()
    const big = JSON.stringify({ ...experiment('big', cb), pad: 'x'.repeat(MAX_BODY_BYTES) })
    const declared = await request(host.url, 'POST', '/chaos/experiments', { raw: big })
    expect(declared.status).toBe(413)
    // Chunked transfer: no content-length, the limit applies while reading.
    const { port } = new URL(host.url)
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/chaos/experiments',
          headers: { authorization: `Bearer ${TOKEN}` },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      for (let i = 0; i < 5; i++) req.write('x'.repeat(16 * 1024))
      req.end()
    })
    expect(streamed).toBe(413)
    expect(host.agent.activeExperiments()).toEqual([])
    // Exactly at the limit is fine (and then invalid JSON here, so 400).
    expect(
      (await request(host.url, 'POST', '/chaos/experiments', { raw: ' '.repeat(MAX_BODY_BYTES - 1) + '{' }))
        .status,
    ).toBe(400)
  })

  it('410 for lease renewal or DELETE of an experiment that already ended; its final state stays readable', async () => {
    host = await startHost()
    await request(host.url, 'POST', '/chaos/experiments', { body: experiment('done', cb) })
    await request(host.url, 'DELETE', '/chaos/experiments/done')
    const renew = await request<{ error: string; experiment: ExperimentView }>(
      host.url,
      'PUT',
      '/chaos/experiments/done/lease',
      {
        body: { lease_seconds: 10 },
      },
    )
    expect(renew.status).toBe(410)
    expect(renew.body.experiment.state).toBe('COMPLETED')
    expect((await request(host.url, 'DELETE', '/chaos/experiments/done')).status).toBe(410)
    const final = await request<ExperimentReply>(host.url, 'GET', '/chaos/experiments/done')
    expect(final.status).toBe(200)
    expect(final.body.experiment.state).toBe('COMPLETED')
  })

  it('keeps a bounded history of ended experiments', async () => {
    host = await startHost()
    for (let i = 0; i <= HISTORY_LIMIT; i++) {
      host.agent.startExperiment(experiment(`h${i}`, cb))
      host.agent.stopExperiment(`h${i}`)
    }
    expect((await request(host.url, 'GET', '/chaos/experiments/h0')).status).toBe(404)
    expect((await request(host.url, 'GET', '/chaos/experiments/h1')).status).toBe(200)
    expect(
      (await request<{ experiments: unknown[] }>(host.url, 'GET', '/chaos/experiments')).body.experiments,
    ).toHaveLength(HISTORY_LIMIT)
    // Metric series of evicted experiments go too.
    expect(await host.agent.registry.getSingleMetricAsString('chaos_agent_experiment_active')).not.toContain(
      '"h0"',
    )
    // An ended id may be reused.
    expect(
      (await request(host.url, 'POST', '/chaos/experiments', { body: experiment('h5', cb) })).status,
    ).toBe(201)
  })
})

describe('lease (dead man’s switch)', () => {
  it(
    'an unrenewed 1-second lease expires for real: state EXPIRED, fault gone',
    { timeout: 20_000 },
    async () => {
      const logger = createMemoryLogger()
      host = await startHost({ logger })
      await request(host.url, 'POST', '/chaos/experiments', {
        body: experiment('short', cb, 'pms_adapter', 1),
      })
      expect((await request(host.url, 'GET', '/call/pms_adapter', { token: null })).status).toBe(502)
      const expired = await pollUntil(
        async () => {
          const reply = await request<ExperimentReply>(host!.url, 'GET', '/chaos/experiments/short')
          return reply.body.experiment.state === 'EXPIRED' ? reply.body.experiment : undefined
        },
        { what: 'the lease to expire' },
      )
      expect(expired).toMatchObject({ state: 'EXPIRED', end_reason: 'lease_expired' })
      expect((await request(host.url, 'GET', '/call/pms_adapter', { token: null })).status).toBe(200)
      expect(logger.entries.some((e) => e.event === 'chaos_experiment_expired')).toBe(true)
      expect(
        (await request(host.url, 'PUT', '/chaos/experiments/short/lease', { body: { lease_seconds: 5 } }))
          .status,
      ).toBe(410)
    },
  )

  it('PUT …/lease extends the lease from now', async () => {
    host = await startHost()
    const created = await request<ExperimentReply>(host.url, 'POST', '/chaos/experiments', {
      body: experiment('renew', cb, 'pms_adapter', 5),
    })
    const renewed = await request<ExperimentReply>(host.url, 'PUT', '/chaos/experiments/renew/lease', {
      body: { lease_seconds: 60 },
    })
    expect(renewed.status).toBe(200)
    const before = Date.parse(created.body.experiment.lease_expires_at)
    const after = Date.parse(renewed.body.experiment.lease_expires_at)
    expect(after - before).toBeGreaterThanOrEqual(55_000)
    expect(renewed.body.experiment.state).toBe('RUNNING')
  })
})

describe('logging', () => {
  it('logs control calls and state changes as events, and aggregates injections', async () => {
    const logger = createMemoryLogger()
    host = await startHost({ logger })
    await request(host.url, 'POST', '/chaos/experiments', { body: experiment('logged', cb) })
    await request(host.url, 'GET', '/batch/pms_adapter?n=50', { token: null })
    await request(host.url, 'DELETE', '/chaos/experiments/logged')
    const events = logger.entries.map((e) => e.event)
    expect(events).toContain('chaos_experiment_started')
    expect(events).toContain('chaos_experiment_completed')
    expect(logger.entries.filter((e) => e.event === 'chaos_control_request').map((e) => e.fields)).toEqual([
      { method: 'POST', path: '/chaos/experiments', status: 201 },
      { method: 'DELETE', path: '/chaos/experiments/logged', status: 200 },
    ])
    // 50 injections, one aggregated line (flushed at the stop), not 50.
    const injected = logger.entries.filter((e) => e.event === 'chaos_fault_injected')
    expect(injected).toHaveLength(1)
    expect(injected[0]!.fields).toMatchObject({ experiment: 'logged', count: 50, faults_injected: 50 })
    const completed = logger.entries.find((e) => e.event === 'chaos_experiment_completed')!
    expect(completed.fields).toMatchObject({ experiment: 'logged', reason: 'stopped', faults_injected: 50 })
  })
})

describe('adapters', () => {
  it('node:http listener(): a standalone control server, 404 outside the prefix', async () => {
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    agent.wrap('pms_adapter', () => Promise.resolve(1))
    const server = createServer(agent.listener())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      expect((await request(url, 'GET', '/chaos')).status).toBe(200)
      expect((await request(url, 'GET', '/elsewhere')).status).toBe(404)
      expect((await request(url, 'POST', '/chaos/experiments', { body: experiment('l1', cb) })).status).toBe(
        201,
      )
    } finally {
      await closeServer(server, agent)
    }
  })

  it('express(): handles the prefix (also under a mounted router), calls next() elsewhere', async () => {
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    agent.wrap('pms_adapter', () => Promise.resolve(1))
    const middleware = agent.express()
    // What Express does: the same req/res objects, next() to fall through, originalUrl when mounted.
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/mounted')) {
        ;(req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url.slice('/mounted'.length)
        req.url = '/'
      }
      middleware(req, res, () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ host: true }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      expect((await request(url, 'GET', '/chaos')).body).toMatchObject({ agent: 'chaos-playbook' })
      expect((await request(url, 'GET', '/mounted/chaos')).body).toMatchObject({ agent: 'chaos-playbook' })
      expect((await request(url, 'GET', '/api/x')).body).toEqual({ host: true })
      expect((await request(url, 'POST', '/chaos/experiments', { body: experiment('x1', cb) })).status).toBe(
        201,
      )
    } finally {
      await closeServer(server, agent)
    }
  })

  it('express(): accepts a body already parsed by express.json() mounted before it', async () => {
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    agent.wrap('pms_adapter', () => Promise.resolve(1))
    const middleware = agent.express()
    const server = createServer((req, res) => {
      // A body parser ran first: the stream is consumed and req.body holds the object.
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        ;(req as IncomingMessage & { body?: unknown }).body = JSON.parse(
          Buffer.concat(chunks).toString() || '{}',
        )
        middleware(req, res, () => res.end())
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      expect((await request(url, 'POST', '/chaos/experiments', { body: experiment('pre', cb) })).status).toBe(
        201,
      )
      expect((await request(url, 'POST', '/chaos/experiments', { body: { id: 1 } })).status).toBe(400)
    } finally {
      await closeServer(server, agent)
    }
  })

  it('fastify(): registers prefix and prefix/*, replaces body parsers, hijacks the reply', async () => {
    // Fastify itself is not a dependency; this drives the plugin through the members it uses, over
    // real HTTP, the way Fastify calls them (route match, then handler with request.raw / reply.raw).
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    agent.wrap('pms_adapter', () => Promise.resolve(1))
    const routes: Array<{
      path: string
      handler: (rq: FastifyLikeRequest, rp: FastifyLikeReply) => Promise<void>
    }> = []
    const parsers: string[] = []
    let removedParsers = false
    const instance: FastifyLikeInstance = {
      all: (path, handler) => routes.push({ path, handler }),
      addContentTypeParser: (type) => parsers.push(type),
      removeAllContentTypeParsers: () => (removedParsers = true),
    }
    let done = false
    agent.fastify()(instance, {}, () => (done = true))
    expect(done).toBe(true)
    expect(routes.map((r) => r.path)).toEqual(['/chaos', '/chaos/*'])
    expect(removedParsers).toBe(true)
    expect(parsers).toEqual(['*'])
    let hijacked = 0
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0]!
      const route = routes.find(
        (r) => r.path === path || (r.path.endsWith('/*') && path.startsWith(r.path.slice(0, -1))),
      )
      if (route === undefined) return res.writeHead(404).end()
      void route.handler({ raw: req }, { raw: res, hijack: () => hijacked++ })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      expect((await request(url, 'GET', '/chaos')).status).toBe(200)
      expect((await request(url, 'POST', '/chaos/experiments', { body: experiment('f1', cb) })).status).toBe(
        201,
      )
      expect((await request(url, 'GET', '/chaos/experiments/f1')).status).toBe(200)
      expect(hijacked).toBe(3)
    } finally {
      await closeServer(server, agent)
    }
  })
})

describe('production guard', () => {
  it('refuses to enable when NODE_ENV=production unless allowProduction', () => {
    expect(() =>
      createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: { NODE_ENV: 'production' } }),
    ).toThrow(/refused to enable: NODE_ENV=production.*allowProduction: true/)
    const allowed = createChaosAgent({
      service: 'hotel',
      enabled: true,
      token: TOKEN,
      allowProduction: true,
      env: { NODE_ENV: 'production' },
    })
    expect(allowed.info().environment).toBe('production')
    // A disabled agent is harmless anywhere.
    expect(
      createChaosAgent({ service: 'hotel', enabled: false, env: { NODE_ENV: 'production' } }).enabled,
    ).toBe(false)
  })

  it('refuses to enable without a token', () => {
    expect(() => createChaosAgent({ service: 'hotel', enabled: true, env: {} })).toThrow(/without a token/)
    expect(() => createChaosAgent({ service: 'hotel', enabled: true, token: '  ', env: {} })).toThrow(
      /without a token/,
    )
    expect(() => createChaosAgent({ service: 'hotel', enabled: true, token: 'a b', env: {} })).toThrow(
      /whitespace/,
    )
  })

  it('rejects nonsense options with a clear message', () => {
    expect(() =>
      createChaosAgent({ service: 'hotel', enabled: false, env: {}, maxLeaseSeconds: 3600 }),
    ).toThrow(/maxLeaseSeconds/)
    expect(() => createChaosAgent({ service: 'hotel', enabled: false, env: {}, prefix: 'chaos' })).toThrow(
      /prefix/,
    )
    expect(() => createChaosAgent({ service: '', enabled: false, env: {} })).toThrow(/service/)
  })
})
