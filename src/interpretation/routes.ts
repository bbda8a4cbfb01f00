/**
 * Workload routes that the target does not serve: most of a route's requests answered 404 (no
 * such path) or 405 (no such method). Then a failed baseline says "check the workload paths"
 * rather than only "steady state did not hold": the runner is knocking on the wrong doors.
 */
import type { PhaseMetrics } from '../record.js'

/** Statuses that mean the route does not exist on the target. */
const MISSING_ROUTE_STATUSES = ['404', '405'] as const

/** A route most of whose requests were answered with a missing-route status. */
export interface UnservedRoute {
  method: string
  path: string
  status: string
  count: number
  requests: number
}

/** Routes of `metrics` (a phase) where one missing-route status answered more than half the requests. */
export function unservedRoutes(metrics: PhaseMetrics | null | undefined): UnservedRoute[] {
  const found: UnservedRoute[] = []
  for (const route of metrics?.routes ?? []) {
    for (const status of MISSING_ROUTE_STATUSES) {
      const count = route.statuses[status] ?? 0
      if (route.requests > 0 && count * 2 > route.requests) {
        found.push({ method: route.method, path: route.path, status, count, requests: route.requests })
        break
      }
    }
  }
  return found
}

/** "the workload route GET /x answered 404 (61 of 61 requests): check the workload paths". */
export function unservedRoutesSentence(routes: readonly UnservedRoute[]): string | undefined {
  if (routes.length === 0) return undefined
  const parts = routes.map((r) => `${r.method} ${r.path} answered ${r.status} (${r.count} of ${r.requests})`)
  const what = routes.length === 1 ? 'the workload route' : 'the workload routes'
  return `${what} ${parts.join(', ')}: check the workload paths (workload: in the scenario or the config)`
}
