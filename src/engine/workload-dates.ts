/**
 * Date placeholders in workload requests, so that scenario files never go stale: `{{today}}` and
 * `{{today+N}}` (N days ahead, UTC) in a request's path and in the string values of its body are
 * replaced with YYYY-MM-DD when the workload starts.
 */
import type { WorkloadRequest } from '../scenario/schema.js'

const PLACEHOLDER = /\{\{\s*today\s*(?:\+\s*(\d+)\s*)?\}\}/g
const DAY_MS = 86_400_000

/** Replaces the date placeholders in one string. */
export function expandDates(text: string, nowMs: number): string {
  return text.replace(PLACEHOLDER, (_, days: string | undefined) =>
    new Date(nowMs + Number(days ?? 0) * DAY_MS).toISOString().slice(0, 10),
  )
}

function expandValue(value: unknown, nowMs: number): unknown {
  if (typeof value === 'string') return expandDates(value, nowMs)
  if (Array.isArray(value)) return value.map((v) => expandValue(v, nowMs))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandValue(v, nowMs)]))
  }
  return value
}

/** The requests with every date placeholder resolved against `nowMs`. */
export function expandWorkloadDates(requests: readonly WorkloadRequest[], nowMs: number): WorkloadRequest[] {
  return requests.map((r) => ({ ...r, path: expandDates(r.path, nowMs), body: expandValue(r.body, nowMs) }))
}
