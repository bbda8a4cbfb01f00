/** The dry-run plan for people: one block per experiment, then the limits and the expected time. */
import type { ChalkInstance } from 'chalk'
import { formatDuration } from '../duration.js'
import type { Plan, PlannedExperiment } from '../plan.js'
import { formatProbability } from './catalogue.js'

const pct = (ratio: number) => formatProbability(ratio)
const secs = (s: number) => formatDuration(s * 1000)

/** Numbers and plain words as they are; text with spaces and structures as JSON. */
function showValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (typeof v === 'string' && !/\s/.test(v)) return v
  return JSON.stringify(v)
}

function faultLine(e: PlannedExperiment): string {
  const params = Object.entries(e.fault.params)
    .map(([k, v]) => `${k}=${showValue(v)}`)
    .join(' ')
  return params ? `${e.fault.type} ${params}` : e.fault.type
}

function experimentLines(e: PlannedExperiment, plan: Plan, c: ChalkInstance): string[] {
  const mark = (field: string, text: string) =>
    e.overridden.includes(field) ? `${text} ${c.cyan('(override)')}` : text
  const label = (name: string) => c.dim(name.padEnd(13))
  const lines = [
    `${c.bold(`${e.position}. ${e.id}`)}  ${e.name}  ${c.dim(`[${e.category}] ${e.file}`)}`,
    `   ${label('fault')}${faultLine(e)}`,
    `   ${label('probability')}${mark('probability', pct(e.probability))}   ${c.dim('blast radius')} ${mark('blast_radius', e.blast_radius)}   ${c.dim('target')} ${e.target_service}`,
    `   ${label('duration')}${mark('duration_seconds', secs(e.duration_seconds))} ${c.dim(`after a ${secs(plan.baseline_seconds)} baseline`)}`,
    `   ${label('hypothesis')}${e.steady_state_hypothesis}`,
  ]
  e.checks.forEach((check, i) => {
    const named = check.name !== check.expression ? c.dim(`  (${check.name})`) : ''
    lines.push(`   ${label(i === 0 ? 'checks' : '')}${check.expression}${named}`)
  })
  const limits = `abort if error rate > ${pct(e.safety.max_error_rate)} or availability < ${pct(e.safety.min_availability)}`
  const tightened =
    e.safety.max_error_rate !== plan.safety.max_error_rate ||
    e.safety.min_availability !== plan.safety.min_availability
  const from = { SCENARIO: 'the scenario', CONFIG: 'the config', DEFAULT: "the sandbox's hotel routes" }
  const shares = e.workload.requests.reduce((sum, r) => sum + r.weight, 0)
  e.workload.requests.forEach((r, i) => {
    const share = e.workload.requests.length > 1 ? c.dim(` ${Math.round((r.weight / shares) * 100)} %`) : ''
    const source = i === 0 ? c.dim(`  (from ${from[e.workload.source]})`) : ''
    lines.push(`   ${label(i === 0 ? 'workload' : '')}${r.method} ${r.path}${share}${source}`)
  })
  lines.push(`   ${label('safety')}${limits}${tightened ? c.cyan(' (tightened by the scenario)') : ''}`)
  for (const w of e.warnings) lines.push(`   ${c.yellow('! ' + w)}`)
  return lines
}

/** The plan as printable lines. */
export function formatPlan(plan: Plan, c: ChalkInstance): string[] {
  const n = plan.experiments.length
  const lines = [
    c.bold(
      `Dry run: ${n} experiment${n === 1 ? '' : 's'} (${plan.selection.join(' ')}); nothing will be injected.`,
    ),
    '',
  ]
  for (const e of plan.experiments) lines.push(...experimentLines(e, plan, c), '')
  const s = plan.safety
  lines.push(
    `${c.bold('Safety limits')} (guide section 7): abort when error rate > ${pct(s.max_error_rate)} or availability < ${pct(s.min_availability)} over a poll window; one experiment at a time; ${secs(s.max_duration_seconds)} at most per experiment; rollback always.`,
    `${c.bold('Workload')} ${plan.rate_rps} req/s, metrics every ${secs(plan.interval_seconds)}; recovery wait up to ${secs(plan.recovery_timeout_seconds)} after rollback.`,
    `${c.bold('Expected time')} ${secs(plan.total_expected_seconds)} (baselines, injections${n > 1 ? `, ${secs(plan.pause_seconds)} pauses` : ''}), at most ${secs(plan.max_total_seconds)} with recovery waits.${plan.quick ? c.cyan(" --quick: a smoke run; the guide's durations without it.") : ''}`,
  )
  return lines
}
