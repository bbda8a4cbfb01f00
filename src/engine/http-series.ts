/**
 * How the probes read `http_requests_total` series: which series are the target's own `/metrics`
 * route (the probe's or Prometheus's scrapes, not traffic) and which answered with an error.
 */
import type { Labels } from '../metrics/prom-text.js'

/** Labels that name a request's route, and its status code, in common exporters. */
const ROUTE_LABELS = ['route', 'handler', 'path'] as const
const STATUS_LABELS = ['status', 'code', 'status_code'] as const

/** True for a series of the `/metrics` route: scrapes are not traffic. */
export function isMetricsRoute(labels: Labels): boolean {
  return ROUTE_LABELS.map((l) => labels[l]).find((v) => v !== undefined) === '/metrics'
}

/** The series' status code label, undefined when it carries none. */
export function statusOf(labels: Labels): string | undefined {
  return STATUS_LABELS.map((l) => labels[l]).find((v) => v !== undefined)
}

/** A traffic series answered with an error (status ≥ 400, as the runner counts its own). */
export function isErrorSeries(labels: Labels): boolean {
  const status = statusOf(labels)
  return !isMetricsRoute(labels) && status !== undefined && Number(status) >= 400
}
