/**
 * The live lines of a run for people: each lifecycle event as a sentence ("injecting EXCEPTION into
 * pms_adapter (20%) for 10s"), prefixed with the local time. The event names themselves stay in
 * `events.jsonl`, `--json` and (beside the sentence) `--log-file`, where tools grep them.
 */
import { formatDuration } from '../duration.js'
import { num, pct, plural } from '../wording.js'

/** Local wall-clock time as `HH:MM:SS` (the terminal's time zone, as a person reads it). */
export function clockTime(ms: number): string {
  const d = new Date(ms)
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
}

const str = (v: unknown): string => {
  if (v === null || v === undefined) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}
const ratio = (v: unknown): string => (typeof v === 'number' ? pct(v) : str(v))
const list = (v: unknown): string => (Array.isArray(v) ? v.map(str).join('; ') : str(v))

/** Fields never shown in a sentence: ids the line's context already gives. */
const HIDDEN = new Set(['experiment_id', 'injected_as', 'run_id'])

/** An event this module has no sentence for: its name in words, then its fields. */
function fallback(event: string, fields: Record<string, unknown>): string {
  const words = event.replace(/^chaos_/, '').replaceAll('_', ' ')
  const rest = Object.entries(fields)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== null && v !== undefined)
    .map(([k, v]) => `${k.replaceAll('_', ' ')} ${str(v)}`)
  return rest.length > 0 ? `${words}: ${rest.join(', ')}` : words
}

type Sentence = (f: Record<string, unknown>) => string | null

const SENTENCES: Record<string, Sentence> = {
  // With discovery, the instances found but not used are said live too (the report names them).
  chaos_preflight_passed: (f) =>
    `preflight passed: ${plural(Number(f.instances ?? 1), 'instance')}${Number(f.skipped ?? 0) > 0 ? ` (${num(Number(f.skipped))} found but skipped, see the report)` : ''}, environment ${str(f.environment) || 'unknown'}`,
  chaos_preflight_metrics_missing: (f) => `warning: ${str(f.message)}`,
  chaos_steady_state_not_held: (f) =>
    `steady state did not hold before injection (${list(f.checks)}); nothing injected`,
  chaos_experiment_started: (f) => {
    const instances = Array.isArray(f.instances) ? f.instances.length : 1
    const where = instances > 1 ? ` on ${instances} instances` : ''
    return `injecting ${str(f.fault_type)} into ${str(f.target_service)} (${ratio(f.probability)}, ${str(f.blast_radius)}) for ${formatDuration(Number(f.duration_seconds) * 1000)}${where}`
  },
  chaos_fault_injected: (f) => `${plural(Number(f.faults_injected), 'fault')} injected so far`,
  chaos_lease_renewal_failed: (f) => `warning: lease renewal failed on ${str(f.target)}: ${str(f.error)}`,
  chaos_safety_error_rate_high: (f) =>
    `safety limit: error rate ${ratio(f.error_rate)} above ${ratio(f.limit)} (${str(f.requests)} requests); stopping the fault`,
  chaos_safety_availability_low: (f) =>
    `safety limit: availability ${ratio(f.availability)} below ${ratio(f.limit)} (${str(f.requests)} requests); stopping the fault`,
  chaos_safety_metrics_unreadable: (f) =>
    `safety: the target's metrics were unreadable ${str(f.polls)} polls in a row; stopping the fault`,
  chaos_experiment_aborted: (f) => `aborted: ${str(f.reason)}`,
  chaos_experiment_failed: (f) => `failed: ${str(f.reason)}`,
  chaos_experiment_interrupted: (f) => `interrupted: ${str(f.reason)}`,
  chaos_experiment_completed: (f) =>
    f.faults_injected === null || f.faults_injected === undefined
      ? 'injection over; rolling back'
      : `injection over (${plural(Number(f.faults_injected), 'fault')} injected); rolling back`,
  chaos_rollback_retry: (f) =>
    `rollback retry ${str(f.attempt)} (${str(f.method)} on ${str(f.target)}): ${str(f.error)}`,
  chaos_rollback_failed: (f) => `ROLLBACK NOT VERIFIED: ${str(f.error)}`,
  chaos_experiment_context_exited: (f) =>
    `rolled back (${str(f.method) || 'no method'}), ${f.rollback_verified === true ? 'verified' : 'NOT verified'}`,
  chaos_recovered: (f) =>
    typeof f.mttr_seconds === 'number' ? `recovered in ${num(f.mttr_seconds, 1)}s` : 'recovered',
  chaos_recovery_timeout: (f) =>
    `not recovered within ${formatDuration(Number(f.recovery_timeout_seconds) * 1000)}`,
  // The verdict line that follows (onExperimentDone) says it all.
  chaos_experiment_finished: () => null,
  chaos_experiment_hook_failed: (f) => `warning: a reporting hook failed: ${str(f.error)}`,
  chaos_pushgateway_push_failed: (f) => `warning: the Pushgateway push failed: ${str(f.error)}`,
  chaos_lock_taken_over: (f) =>
    `took over the run lock ${str(f.path)} of pid ${str(f.stale_pid)}, which is gone`,
  chaos_lock_release_failed: (f) => `warning: could not release the run lock ${str(f.lock)}: ${str(f.error)}`,
}

/**
 * The sentence for a lifecycle event, without the time; null when the event needs no line of its
 * own. Never contains the `chaos_*` event name (an unknown event is named in words).
 */
export function eventSentence(event: string, fields: Record<string, unknown>): string | null {
  const sentence = SENTENCES[event]
  return sentence ? sentence(fields) : fallback(event, fields)
}
