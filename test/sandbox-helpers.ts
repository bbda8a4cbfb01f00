/**
 * Helpers for the sandbox tests: a seeded random source, control-endpoint calls made exactly as the
 * runner makes them (fetch + Bearer token), and reading samples from the /metrics exposition.
 */
import { expect } from 'vitest'
import type { Sandbox } from '../src/sandbox/index.js'
import { mulberry32 } from '../src/unattended/random.js'

/** Seeded PRNG (mulberry32), the same one `chaos monkey --seed` uses. */
export const seededRandom = mulberry32

export interface ExperimentJson {
  id: string
  state: string
  calls_seen: number
  faults_injected: number
}

function auth(sandbox: Sandbox): Record<string, string> {
  return { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' }
}

/** POST /chaos/experiments; expects 201. */
export async function startExperiment(
  sandbox: Sandbox,
  id: string,
  targetService: string,
  faultConfig: Record<string, unknown>,
  leaseSeconds = 60,
): Promise<ExperimentJson> {
  const res = await fetch(`${sandbox.url}/chaos/experiments`, {
    method: 'POST',
    headers: auth(sandbox),
    body: JSON.stringify({
      id,
      target_service: targetService,
      fault_config: faultConfig,
      lease_seconds: leaseSeconds,
    }),
  })
  const body = (await res.json()) as { experiment: ExperimentJson }
  expect(res.status, JSON.stringify(body)).toBe(201)
  return body.experiment
}

/** GET /chaos/experiments/:id */
export async function getExperiment(sandbox: Sandbox, id: string): Promise<ExperimentJson> {
  const res = await fetch(`${sandbox.url}/chaos/experiments/${id}`, { headers: auth(sandbox) })
  expect(res.status).toBe(200)
  return ((await res.json()) as { experiment: ExperimentJson }).experiment
}

/** DELETE /chaos/experiments/:id (rollback); expects 200. */
export async function stopExperiment(sandbox: Sandbox, id: string): Promise<ExperimentJson> {
  const res = await fetch(`${sandbox.url}/chaos/experiments/${id}`, {
    method: 'DELETE',
    headers: auth(sandbox),
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { experiment: ExperimentJson }).experiment
}

export interface Answer<T = Record<string, unknown>> {
  status: number
  body: T
  headers: Headers
  /** Milliseconds from sending to the complete body. */
  ms: number
}

/** One request with a JSON body (if given); the answer parsed as JSON. */
export async function call<T = Record<string, unknown>>(
  sandbox: Sandbox,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const started = performance.now()
  const res = await fetch(sandbox.url + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
  const text = await res.text()
  return {
    status: res.status,
    body: JSON.parse(text) as T,
    headers: res.headers,
    ms: performance.now() - started,
  }
}

/** `YYYY-MM-DD` of today + `days` (UTC), inside the sandbox's warmed availability cache. */
export function dayFromNow(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)
}

/** An availability query for a 2-night stay starting `days` from now. */
export function availabilityPath(days = 10): string {
  return `/api/availability?check_in=${dayFromNow(days)}&check_out=${dayFromNow(days + 2)}`
}

export function booking(guest = 'Ana García'): Record<string, string> {
  return { guest_name: guest, room_type: 'DELUXE', check_in: dayFromNow(20), check_out: dayFromNow(23) }
}

/** The whole /metrics exposition. */
export async function scrape(sandbox: Sandbox): Promise<string> {
  const res = await fetch(`${sandbox.url}/metrics`)
  expect(res.status).toBe(200)
  return res.text()
}

/** Sum of the samples of `name` whose labels include `labels` (0 when there is none). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const found: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[l[1]!] = l[2]!
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(m[3])
  }
  return sum
}

/** Polls `probe` until it returns true (at most `attempts` times, `everyMs` apart). */
export async function eventually(
  probe: () => Promise<boolean>,
  attempts = 100,
  everyMs = 50,
): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return true
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  return false
}
