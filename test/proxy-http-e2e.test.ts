/**
 * `chaos proxy` over real HTTP, through the compiled CLI, in front of a Python stdlib server (a
 * non-Node upstream, test/fixtures/python-upstream/server.py): pass-through (methods, streamed
 * bodies, headers, keep-alive), every HTTP fault through the control endpoint, SINGLE_REQUEST by the
 * signed tag (headers and W3C baggage), immediate rollback, the lease, and `chaos agent check`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { Readable } from 'node:stream'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { Client, request as undiciRequest } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest'
import { tagHeaders } from '../src/protocol/tag.js'
import {
  assertBuilt,
  controlClient,
  pollUntil,
  request,
  ROOT,
  runChaos,
  startupBudgetMs,
  tempCwd,
  test,
  type Cli,
  type ControlClient,
} from './support/index.js'
import { freePort } from './support/free-port.js'
import { startProxyCli, type ProxyReadyLine } from './support/proxy.js'

const TOKEN = 'proxy-e2e-token-0123456789'
const SERVER_PY = join(ROOT, 'test', 'fixtures', 'python-upstream', 'server.py')

type ReadyLine = ProxyReadyLine

/** The Python upstream: resolves with its base URL once it prints its listening line. */
async function startUpstream(): Promise<{ url: string; child: ResultPromise; stop(): Promise<void> }> {
  // stdin stays a pipe: the server stops when it closes, so it never outlives the test process.
  const child = execa('python3', [SERVER_PY, '0'], { stdin: 'pipe', reject: false })
  const url = await new Promise<string>((resolve, reject) => {
    let seen = ''
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      const m = /listening on (http:\/\/\S+)\n/.exec(seen)
      if (m) resolve(m[1]!)
    })
    void child.then((r) => reject(new Error(`python upstream exited: ${String(r.stderr)}`)))
  })
  return {
    url,
    child,
    async stop() {
      child.kill('SIGTERM')
      await child
    },
  }
}

/** Starts `chaos proxy --json` with `args` in `cwd`; resolves with the process and its ready line. */
function startProxy(args: string[], cwd: string): Promise<{ cli: Cli; ready: ReadyLine }> {
  return startProxyCli(args, cwd, TOKEN)
}

let upstream: Awaited<ReturnType<typeof startUpstream>>
let cwd: { dir: string; cleanup: () => Promise<void> }
let proxy: { cli: Cli; ready: ReadyLine }
let control: ControlClient
let route: string
let deadRoute: string
let deadPort: number

beforeAll(async () => {
  assertBuilt()
  cwd = await tempCwd()
  upstream = await startUpstream()
  deadPort = await freePort()
  proxy = await startProxy(
    [
      '--route',
      `pms_adapter=127.0.0.1:0->${upstream.url}`,
      '--route',
      `dead_dependency=127.0.0.1:0→http://127.0.0.1:${deadPort}`,
      '--app-metrics',
      `${upstream.url}/metrics`,
    ],
    cwd.dir,
  )
  control = controlClient(proxy.ready.control_url, TOKEN)
  route = `http://${proxy.ready.routes[0]!.listen}`
  deadRoute = `http://${proxy.ready.routes[1]!.listen}`
})

afterEach(async () => {
  // Every test leaves nothing running, whatever it did.
  await request(proxy.ready.control_url, 'DELETE', '/chaos/experiments', { token: TOKEN })
})

afterAll(async () => {
  if (proxy) {
    proxy.cli.child.kill('SIGINT')
    const result = await proxy.cli.child
    // SIGINT: everything rolled back and closed, exit 130 (interrupted).
    expect(result.exitCode, String(result.stderr)).toBe(130)
  }
  await upstream?.stop()
  await cwd?.cleanup()
})

/** GET through the proxy; the status, headers, body and how long it took. */
async function get(url: string, headers: Record<string, string> = {}) {
  const started = performance.now()
  const reply = await undiciRequest(url, { headers })
  const body = await reply.body.text()
  return { status: reply.statusCode, headers: reply.headers, body, ms: performance.now() - started }
}

/** Requests the upstream itself has served (its own counter, read directly: the read counts itself). */
async function upstreamRequests(): Promise<number> {
  const text = await (await undiciRequest(`${upstream.url}/metrics`)).body.text()
  return Number(/^http_requests_total\{[^}]*\} (\d+)$/m.exec(text)![1])
}

let seq = 0
const id = (label: string) => `proxy-e2e.${label}.${++seq}`

describe('chaos proxy: start-up and pass-through', () => {
  test('the --json ready line; GET /chaos lists the routes; /metrics carries the agent contract and --app-metrics', async () => {
    expect(proxy.ready.control_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(proxy.ready.metrics_url).toBe(`${proxy.ready.control_url}/metrics`)
    expect(proxy.ready.routes).toEqual([
      {
        name: 'pms_adapter',
        protocol: 'HTTP',
        listen: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as string,
        upstream: upstream.url,
      },
      {
        name: 'dead_dependency',
        protocol: 'HTTP',
        listen: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as string,
        upstream: `http://127.0.0.1:${deadPort}`,
      },
    ])
    const info = await control.info()
    expect(info).toMatchObject({ agent: 'chaos-playbook', protocol: 1, service: 'chaos_proxy' })
    expect(info.services).toEqual(['pms_adapter', 'dead_dependency'])
    expect((await request(proxy.ready.control_url, 'GET', '/chaos')).status).toBe(401)

    await get(`${route}/echo`)
    const metrics = await get(proxy.ready.metrics_url)
    expect(metrics.status).toBe(200)
    expect(metrics.body).toMatch(/^chaos_agent_calls_total\{target_service="pms_adapter"\} [1-9]\d*$/m)
    // The upstream's own page follows: one scrape finds both.
    expect(metrics.body).toMatch(/^http_requests_total\{service="upstream"\} \d+$/m)
    // A family both pages declare is the proxy's alone: no family is declared twice.
    const types = [...metrics.body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1])
    expect(new Set(types).size).toBe(types.length)
    expect(metrics.body).not.toContain('own_agent')
  })

  test('any method, bodies streamed both ways, headers forwarded (hop-by-hop dropped), statuses passed', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17)
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      // A chunked request body (no content-length): streamed, not buffered.
      const reply = await undiciRequest(`${route}/echo/path?q=1`, {
        method,
        body: Readable.from(
          (function* () {
            for (let i = 0; i < big.length; i += 65536) yield big.subarray(i, i + 65536)
          })(),
        ),
        headers: { 'x-custom': 'kept' },
      })
      const echo = (await reply.body.json()) as {
        method: string
        path: string
        headers: Record<string, string>
        body_length: number
        body_sha256: string
      }
      expect(reply.statusCode, JSON.stringify(echo)).toBe(200)
      expect(echo).toMatchObject({
        method,
        path: '/echo/path?q=1',
        body_length: big.length,
        body_sha256: createHash('sha256').update(big).digest('hex'),
      })
      expect(echo.headers['x-custom']).toBe('kept')
      // The upstream sees its own host, as if called directly.
      expect(echo.headers.host).toBe(new URL(upstream.url).host)
      // Repeated response headers arrive repeated.
      expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    }
    // Hop-by-hop headers, and those the Connection header names, stay on the client's hop
    // (node:http here: undici will not send a Connection header of the caller's).
    const hop = await new Promise<Record<string, string>>((resolve, reject) => {
      const req = httpRequest(`${route}/echo`, {
        agent: false,
        headers: { connection: 'keep-alive, x-drop-me', 'x-drop-me': 'dropped', 'keep-alive': 'timeout=5' },
      })
      req.on('response', (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => resolve((JSON.parse(text) as { headers: Record<string, string> }).headers))
      })
      req.on('error', reject)
      req.end()
    })
    expect(hop['x-drop-me']).toBeUndefined()
    expect(hop['keep-alive']).toBeUndefined()
    const head = await undiciRequest(`${route}/echo`, { method: 'HEAD' })
    await head.body.text()
    expect(head.statusCode).toBe(200)

    // A streamed (chunked) response of 512 KiB arrives whole.
    const stream = await get(`${route}/stream?n=512`)
    expect(stream.status).toBe(200)
    expect(stream.body).toBe('y'.repeat(512 * 1024))
    // Upstream error statuses are the upstream's, not the proxy's.
    expect((await get(`${route}/status/404`)).status).toBe(404)
    expect((await get(`${route}/status/503`)).status).toBe(503)
  })

  test('keep-alive: one client connection for many requests, and the upstream connection is reused', async () => {
    const client = new Client(route)
    let connects = 0
    client.on('connect', () => connects++)
    const connections = new Set<number>()
    try {
      for (let i = 0; i < 5; i++) {
        const reply = await client.request({ method: 'GET', path: '/echo' })
        connections.add(((await reply.body.json()) as { connection_id: number }).connection_id)
      }
    } finally {
      await client.close()
    }
    expect(connects).toBe(1)
    expect(connections.size).toBe(1)
  })

  test('an upstream that refuses connections: 502 naming the route', async () => {
    const reply = await get(`${deadRoute}/anything`)
    expect(reply.status).toBe(502)
    expect(JSON.parse(reply.body)).toEqual({
      error: `chaos proxy: upstream http://127.0.0.1:${deadPort} of route dead_dependency failed: ECONNREFUSED`,
    })
  })
})

describe('chaos proxy: HTTP faults', () => {
  test('LATENCY delays requests; they pass once it is stopped', async () => {
    const e = await control.start(id('latency'), 'pms_adapter', {
      fault_type: 'LATENCY',
      probability: 1,
      latency_ms: 400,
    })
    const slow = await get(`${route}/echo`)
    expect(slow.status).toBe(200)
    expect(slow.ms).toBeGreaterThanOrEqual(390)
    expect((await control.get(e.id)).faults_injected).toBe(1)
    await control.stop(e.id)
    await get(`${route}/echo`)
    expect((await control.get(e.id)).faults_injected).toBe(1)
  })

  test('EXCEPTION answers 500 (or http_status) with its message, without reaching upstream', async () => {
    const before = await upstreamRequests()
    const e = await control.start(id('exception'), 'pms_adapter', {
      fault_type: 'EXCEPTION',
      probability: 1,
      exception_class: 'PmsDown',
      exception_message: 'PMS is down',
    })
    const reply = await get(`${route}/echo`, { 'content-type': 'text/plain' })
    expect(reply.status).toBe(500)
    expect(JSON.parse(reply.body)).toEqual({
      error: 'PMS is down',
      exception_class: 'PmsDown',
      chaos_experiment: e.id,
    })
    // One more: the read itself. The faulted request never reached the upstream.
    expect(await upstreamRequests()).toBe(before + 1)
    await control.stop(e.id)

    await control.start(id('exception-502'), 'pms_adapter', {
      fault_type: 'EXCEPTION',
      probability: 1,
      exception_class: 'BadGateway',
      http_status: 502,
    })
    expect((await get(`${route}/echo`)).status).toBe(502)
  })

  test('CIRCUIT_BREAK answers 503 at once', async () => {
    await control.start(id('breaker'), 'pms_adapter', { fault_type: 'CIRCUIT_BREAK', probability: 1 })
    const reply = await get(`${route}/echo`)
    expect(reply.status).toBe(503)
    expect(JSON.parse(reply.body)).toMatchObject({ error: 'Chaos: connection refused' })
  })

  test('RATE_LIMIT: past N calls per window, 429 with Retry-After', async () => {
    const e = await control.start(id('rate'), 'pms_adapter', {
      fault_type: 'RATE_LIMIT',
      probability: 1,
      rate_limit_requests: 2,
      rate_limit_window_seconds: 30,
    })
    expect((await get(`${route}/echo`)).status).toBe(200)
    expect((await get(`${route}/echo`)).status).toBe(200)
    const limited = await get(`${route}/echo`)
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers['retry-after'])
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(30)
    // Only the refused call counts as a fault.
    expect((await control.get(e.id)).faults_injected).toBe(1)
  })

  test('TIMEOUT holds the request for timeout_ms, then closes its connection without an answer', async () => {
    await control.start(id('timeout'), 'pms_adapter', {
      fault_type: 'TIMEOUT',
      probability: 1,
      timeout_ms: 500,
    })
    const started = performance.now()
    const error = await undiciRequest(`${route}/echo`).then(
      () => null,
      (err: Error & { code?: string }) => err,
    )
    expect(error?.code).toBe('UND_ERR_SOCKET')
    expect(performance.now() - started).toBeGreaterThanOrEqual(490)
  })

  test('RESOURCE_EXHAUSTION squeezes bandwidth; pressure on a proxy route is refused with 400', async () => {
    const refused = await request(proxy.ready.control_url, 'POST', '/chaos/experiments', {
      token: TOKEN,
      body: {
        id: id('pressure'),
        target_service: 'pms_adapter',
        lease_seconds: 30,
        fault_config: {
          fault_type: 'RESOURCE_EXHAUSTION',
          probability: 1,
          pressure: { type: 'MEMORY', heap_fraction: 0.1 },
        },
      },
    })
    expect(refused.status).toBe(400)
    expect(refused.body.problems).toEqual([
      expect.stringMatching(
        /^fault_config: RESOURCE_EXHAUSTION on HTTP route pms_adapter: MEMORY pressure acts on the process/,
      ),
    ])
    expect((await control.info()).active_experiments).toEqual([])

    await control.start(id('bandwidth'), 'pms_adapter', {
      fault_type: 'RESOURCE_EXHAUSTION',
      probability: 1,
      bandwidth_bytes_per_second: 20_000,
    })
    // 40 kB at 20 kB/s: about two seconds, where it takes milliseconds without the fault.
    const squeezed = await get(`${route}/bytes?n=40000`)
    expect(squeezed.body).toHaveLength(40_000)
    expect(squeezed.ms).toBeGreaterThanOrEqual(1500)
  })

  test('SINGLE_REQUEST: only requests carrying the signed tag (headers or baggage) meet the fault', async () => {
    const e = await control.start(id('single'), 'pms_adapter', {
      fault_type: 'EXCEPTION',
      probability: 1,
      blast_radius: 'SINGLE_REQUEST',
      exception_class: 'Tagged',
    })
    const signed = tagHeaders(TOKEN, e.id)
    const wrong = tagHeaders('another-token-0123456789', e.id)
    const baggage = (tag: Record<string, string>) =>
      Object.entries(tag)
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
        .join(',')
    expect((await get(`${route}/echo`)).status).toBe(200)
    expect((await get(`${route}/echo`, signed)).status).toBe(500)
    expect((await get(`${route}/echo`, wrong)).status).toBe(200)
    expect((await get(`${route}/echo`, { 'x-chaos-experiment': e.id })).status).toBe(200)
    // W3C baggage, among other members and with properties, as tracing libraries propagate it.
    expect((await get(`${route}/echo`, { baggage: `userId=7,${baggage(signed)};p=1` })).status).toBe(500)
    expect((await get(`${route}/echo`, { baggage: baggage(wrong) })).status).toBe(200)
    const view = await control.get(e.id)
    expect(view.faults_injected).toBe(2)
    expect(view.calls_seen).toBe(2)
  })
})

describe('chaos proxy: rollback and lease', () => {
  test('DELETE releases a request held in a 10 s LATENCY at once', async () => {
    const e = await control.start(id('rollback'), 'pms_adapter', {
      fault_type: 'LATENCY',
      probability: 1,
      latency_ms: 10_000,
    })
    const pending = get(`${route}/echo`)
    await pollUntil(async () => (await control.get(e.id)).faults_injected === 1, {
      what: 'the request to be held',
    })
    const stoppedAt = performance.now()
    await control.stop(e.id)
    const reply = await pending
    expect(reply.status).toBe(200)
    // Not the full 10 s; the bound is loose on purpose (a loaded machine), the point is "not delayed".
    expect(performance.now() - stoppedAt).toBeLessThan(3000)
  })

  test('lease expiry removes the fault', async () => {
    const e = await control.start(
      id('lease'),
      'pms_adapter',
      { fault_type: 'EXCEPTION', probability: 1, exception_class: 'X' },
      1,
    )
    expect((await get(`${route}/echo`)).status).toBe(500)
    const ended = await pollUntil(
      async () => {
        const view = await control.get(e.id)
        return view.state === 'RUNNING' ? undefined : view
      },
      { what: 'the lease to expire' },
    )
    expect(ended).toMatchObject({ state: 'EXPIRED', end_reason: 'lease_expired' })
    expect((await get(`${route}/echo`)).status).toBe(200)
  })
})

test('chaos agent check passes against the proxy (probing through a route)', async () => {
  const result = await runChaos(
    [
      'agent',
      'check',
      '--target',
      proxy.ready.control_url,
      '--token',
      TOKEN,
      '--probe-url',
      `${route}/echo`,
      '--json',
    ],
    { cwd: cwd.dir, timeoutMs: startupBudgetMs() + 30_000 },
  )
  expect(result.exitCode, result.stdout + result.stderr).toBe(0)
  const parsed = JSON.parse(result.stdout) as { ok: boolean; cases: { id: string; passed: boolean }[] }
  expect(parsed.ok).toBe(true)
  expect(parsed.cases.filter((c) => !c.passed)).toEqual([])
})

describe('chaos proxy: configuration and refusals', () => {
  test('routes from the proxy: section of chaos.config.yaml; SIGTERM exits 0', async ({ workdir }) => {
    await writeFile(
      join(workdir, 'chaos.config.yaml'),
      [
        'proxy:',
        '  routes:',
        `    - { name: gmail_client, listen: "127.0.0.1:0", upstream: "${upstream.url}" }`,
        '  environment: staging',
      ].join('\n'),
    )
    const { cli, ready } = await startProxy([], workdir)
    expect(ready.routes.map((r) => r.name)).toEqual(['gmail_client'])
    const info = (await request(ready.control_url, 'GET', '/chaos', { token: TOKEN })).body
    expect(info).toMatchObject({ environment: 'staging', services: ['gmail_client'] })
    expect((await get(`http://${ready.routes[0]!.listen}/echo`)).status).toBe(200)
    cli.child.kill('SIGTERM')
    expect((await cli.child).exitCode).toBe(0)
  })

  test('bad routes, a TCP route, a short token, production: refused with the right exit code', async ({
    workdir,
  }) => {
    const run = (args: string[], env: Record<string, string> = { CHAOS_TOKEN: TOKEN }) =>
      runChaos(['proxy', '--control', '127.0.0.1:0', ...args], {
        cwd: workdir,
        timeoutMs: startupBudgetMs(),
        env,
      })
    const bad = await run(['--route', 'pms=127.0.0.1:0->ftp://x:1', '--route', 'Bad=1->http://x'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toContain('2 problems in the routes')
    expect(bad.stderr).toContain('--route: route pms: upstream scheme "ftp:" is not supported')

    const none = await run([])
    expect(none.exitCode).toBe(2)
    expect(none.stderr).toContain('chaos proxy needs at least one route')

    const short = await run(['--route', `a=127.0.0.1:0->${upstream.url}`], { CHAOS_TOKEN: 'short' })
    expect(short.exitCode).toBe(2)
    expect(short.stderr).toContain('must be at least 16 characters')

    const prod = await run(['--route', `a=127.0.0.1:0->${upstream.url}`, '--environment', 'prod'])
    expect(prod.exitCode).toBe(3)
    expect(prod.stderr).toContain('--allow-production')
  })
})
