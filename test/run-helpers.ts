/**
 * Helpers for the `chaos run` end-to-end tests: the fixture scenarios, the reports and events a run
 * leaves in `<cwd>/.playbook/chaos_reports`, and the sandbox's request counters. Spawning the CLI,
 * polling and the control client are shared: test/support.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { RunRecord, type PhaseMetrics } from '../src/record.js'
import { ROOT } from './support/index.js'

export const FIXTURES = join(ROOT, 'test', 'fixtures', 'run')

/** A fixture scenario by file name (without .yaml), as an absolute path. */
export function fixture(name: string): string {
  return join(FIXTURES, `${name}.yaml`)
}

export const REPORTS = join('.playbook', 'chaos_reports')

/** `latest.json` of the working directory, validated against the report schema. */
export async function latestReport(cwd: string): Promise<RunRecord> {
  const text = await readFile(join(cwd, REPORTS, 'latest.json'), 'utf8')
  const parsed = RunRecord.safeParse(JSON.parse(text))
  expect(parsed.success, parsed.error?.message).toBe(true)
  return parsed.data!
}

export interface EventLine {
  event: string
  [field: string]: unknown
}

/** The lines of `events.jsonl` (empty when the file does not exist). */
export async function readEvents(cwd: string): Promise<EventLine[]> {
  let text: string
  try {
    text = await readFile(join(cwd, REPORTS, 'events.jsonl'), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as EventLine)
}

/** Every phase's request accounting adds up. */
export function expectCountsAddUp(phase: string, metrics: PhaseMetrics | null): void {
  expect(metrics, `${phase} metrics`).not.toBeNull()
  const m = metrics!
  expect(m.successful_requests + m.failed_requests, `${phase}: successful + failed = total`).toBe(
    m.total_requests,
  )
  expect(m.total_requests, `${phase}: requests were measured`).toBeGreaterThan(0)
  const byClass = Object.values(m.failures_by_class).reduce((a, b) => a + b, 0)
  expect(byClass, `${phase}: failures by class add up to failed`).toBe(m.failed_requests)
  if (m.total_requests > 0) {
    expect(m.error_rate).toBeCloseTo(m.failed_requests / m.total_requests, 5)
    expect(m.availability).toBeCloseTo(m.successful_requests / m.total_requests, 5)
  }
}

/**
 * `http_requests_total` of the sandbox summed by route label (over every status). Parsed with a
 * plain regular expression on purpose, independent of the runner's own exposition parser.
 */
export async function requestsByRoute(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`)
  expect(res.status).toBe(200)
  const text = await res.text()
  const byRoute = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^http_requests_total\{([^}]*)\}\s+(\S+)/.exec(line)
    if (!m) continue
    const route = /(?:^|,)route="([^"]*)"/.exec(m[1]!)?.[1]
    if (route === undefined) continue
    byRoute.set(route, (byRoute.get(route) ?? 0) + Number(m[2]))
  }
  return byRoute
}

/** Sum of the API routes' counters (the runner's workload), leaving out /metrics and /health. */
export function apiRequests(byRoute: Map<string, number>): number {
  let total = 0
  for (const [route, n] of byRoute) if (route.startsWith('/api/')) total += n
  return total
}

/**
 * Requests the run's preflight route check sent (one untagged request per distinct workload route,
 * to where the workload goes): they reach the target but belong to no phase's counts.
 */
export async function preflightRouteChecks(cwd: string): Promise<number> {
  const passed = (await readEvents(cwd)).filter((e) => e.event === 'chaos_preflight_passed')
  return passed.reduce((n, e) => n + Number((e as { route_checks?: unknown }).route_checks ?? 0), 0)
}
