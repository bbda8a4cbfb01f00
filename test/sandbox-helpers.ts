/**
 * Helpers for the sandbox tests: a seeded random source, control-endpoint calls (the shared control
 * client of test/support, bound to a sandbox), timed requests, and samples from /metrics.
 */
import { expect } from 'vitest'
import type { Sandbox } from '../src/sandbox/index.js'
import { tagHeaders } from '../src/protocol/tag.js'
import { mulberry32 } from '../src/unattended/random.js'
import { controlClient, type ExperimentView } from './support/index.js'

/** Seeded PRNG (mulberry32), the same one `chaos monkey --seed` uses. */
export const seededRandom = mulberry32

export type { ExperimentView as ExperimentJson } from './support/index.js'

/** The headers that tag a request for experiment `id` as the runner does: the id and its signature. */
export function tag(sandbox: Sandbox, id: string): Record<string, string> {
  return tagHeaders(sandbox.token ?? '', id)
}

/** POST /chaos/experiments through the shared control client; expects 201. */
export function startExperiment(
  sandbox: Sandbox,
  id: string,
  targetService: string,
  faultConfig: Record<string, unknown>,
  leaseSeconds = 60,
): Promise<ExperimentView> {
  return control(sandbox).start(id, targetService, faultConfig, leaseSeconds)
}

/** GET /chaos/experiments/:id */
export function getExperiment(sandbox: Sandbox, id: string): Promise<ExperimentView> {
  return control(sandbox).get(id)
}

/** DELETE /chaos/experiments/:id (rollback); expects 200. */
export function stopExperiment(sandbox: Sandbox, id: string): Promise<ExperimentView> {
  return control(sandbox).stop(id)
}

function control(sandbox: Sandbox) {
  return controlClient(sandbox.url, sandbox.token ?? '')
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
