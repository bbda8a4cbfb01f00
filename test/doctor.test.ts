/**
 * `chaos doctor`'s checks against a real HTTP server that says what a misconfigured service would:
 * a clock an hour off, environment production, an unwrapped service, a running experiment, a
 * /metrics without the faults counter or the breaker metric a `before` check needs, a route that
 * answers 500. The happy path and the token lines run through the CLI in first-hour-e2e.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { validateScenario } from '../src/index.js'
import { DOCTOR_FIX, runDoctor, type DoctorCheck } from '../src/onboarding/doctor.js'
import type { Scenario } from '../src/scenario/schema.js'
import { validScenarioText } from './support/scenario-text.js'

const TOKEN = 'doctor-token-0123456789'
let server: Server | undefined

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

interface Behaviour {
  skewMs?: number
  environment?: string
  active?: boolean
  metrics?: string
}

async function serve(b: Behaviour): Promise<string> {
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    res.setHeader('date', new Date(Date.now() + (b.skewMs ?? 0)).toUTCString())
    if (path === '/chaos') {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end('{}')
      const view = {
        id: 'someone_else.1',
        target_service: 'payments_api',
        fault_config: {
          fault_type: 'LATENCY',
          probability: 1,
          latency_ms: 1,
          blast_radius: 'SINGLE_REQUEST',
        },
        state: 'RUNNING',
        started_at: new Date().toISOString(),
        lease_expires_at: new Date().toISOString(),
        ended_at: null,
        calls_seen: 0,
        faults_injected: 0,
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      return void res.end(
        JSON.stringify({
          agent: 'chaos-playbook',
          protocol: 1,
          service: 'shop',
          instance: 'shop-1',
          environment: b.environment,
          services: ['payments_api'],
          active_experiments: b.active ? [view] : [],
        }),
      )
    }
    if (path === '/metrics') return void res.end(b.metrics ?? '')
    if (path === '/api/ok') return void res.end('ok')
    res.writeHead(500).end('boom')
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function scenario(extra: string): Scenario {
  const text = validScenarioText('doc_probe').replace(
    '  - latency_p95_ms < 2x baseline during\n',
    `  - circuit_breaker_trips < 1 before\n  - latency_p95_ms < 2x baseline during\n${extra}`,
  )
  const checked = validateScenario(text, 'doc_probe.yaml')
  expect(checked.problems).toEqual([])
  return checked.scenario!
}

const byId = (checks: DoctorCheck[], id: string) => checks.filter((c) => c.id === id)

describe('runDoctor', () => {
  it('names every problem of a misconfigured service, each with its fix', async () => {
    const target = await serve({ skewMs: 3_600_000, environment: 'Production', active: true })
    const result = await runDoctor({
      targets: [target],
      token: TOKEN,
      scenarios: [scenario('workload:\n  requests:\n    - path: /api/ok\n    - path: /api/broken\n')],
      now: () => Date.now(),
    })
    const checks = result.instances[0]!.checks
    expect(byId(checks, 'token')).toEqual([{ id: 'token', status: 'OK', what: 'token accepted', fix: null }])
    expect(byId(checks, 'services')[0]).toMatchObject({
      status: 'FAIL',
      what: 'not wrapped: "pms_adapter" (doc_probe); wrapped: payments_api',
    })
    expect(byId(checks, 'experiments')[0]).toMatchObject({ status: 'WARN', fix: DOCTOR_FIX.running })
    expect(byId(checks, 'environment')[0]).toMatchObject({
      status: 'WARN',
      what: 'the agent reports environment "production"',
    })
    expect(byId(checks, 'clock')[0]!.status).toBe('WARN')
    expect(byId(checks, 'clock')[0]!.what).toMatch(/clock is 3(599|600|601) s off/) // the Date header has 1 s resolution
    expect(byId(checks, 'metrics').map((c) => c.status)).toEqual(['FAIL', 'FAIL'])
    expect(byId(checks, 'metrics')[0]!.what).toMatch(/has no chaos_agent_faults_injected_total \(required\)$/)
    expect(byId(checks, 'metrics')[1]!.what).toMatch(
      /has no circuit_breaker_trips_total, which "circuit_breaker_trips < 1 before" \(doc_probe\) needs: the run would be refused$/,
    )
    expect(byId(checks, 'route').map((c) => [c.status, c.what.replace(/\(\d+ ms\)/, '(N ms)')])).toEqual([
      ['OK', 'GET /api/ok answered 200 (N ms)'],
      ['FAIL', 'GET /api/broken answered 500'],
    ])
    for (const c of checks) expect(c.fix === null, c.what).toBe(c.status === 'OK')
    expect(result).toMatchObject({ ok: false, failed: 4, warnings: 3, scenarios: ['doc_probe'] })
  })

  it('an unreachable target is one failed line; no workload is a warning, not a failure', async () => {
    const gone = await serve({})
    await new Promise<void>((resolve) => server!.close(() => resolve()))
    server = undefined
    const down = await runDoctor({ targets: [gone], token: TOKEN, scenarios: [], now: () => Date.now() })
    expect(down.instances[0]!.checks.map((c) => [c.id, c.status, c.fix])).toEqual([
      ['target', 'FAIL', DOCTOR_FIX.target],
    ])

    const target = await serve({ metrics: '# TYPE chaos_agent_faults_injected_total counter\n' })
    const result = await runDoctor({ targets: [target], token: TOKEN, scenarios: [], now: () => Date.now() })
    const checks = result.instances[0]!.checks
    expect(checks.map((c) => `${c.id} ${c.status}`)).toEqual([
      'target OK',
      'token OK',
      'protocol OK',
      'services OK',
      'environment OK',
      'clock OK',
      'metrics OK',
      'workload WARN',
    ])
    expect(result).toMatchObject({ ok: true, failed: 0, warnings: 1 })
  })
})
