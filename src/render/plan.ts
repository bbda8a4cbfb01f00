/** The run plan for people: the whole dry-run plan, and the short form a real run prints first. */
import { stripVTControlCharacters } from 'node:util'
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

/** How many experiments the short plan lists before it says how many more there are. */
const SUMMARY_EXPERIMENTS = 10

/** `text` cut to `width` visible characters with an ellipsis (colour dropped when cut). */
function cut(text: string, width: number): string {
  const plain = stripVTControlCharacters(text)
  return plain.length <= width ? text : `${plain.slice(0, Math.max(0, width - 1))}…`
}

/**
 * The plan in short, as a real run prints it before it starts: a heading with the expected time,
 * then one line per experiment (at most {@link SUMMARY_EXPERIMENTS}), each cut to `width`.
 */
export function formatPlanSummary(plan: Plan, c: ChalkInstance, width = 80): string[] {
  const enabled = plan.experiments.filter((e) => e.enabled)
  const n = enabled.length
  const skipped = plan.experiments.length - n
  const lines = [
    cut(
      `${c.bold('Plan')}: ${n} experiment${n === 1 ? '' : 's'}${skipped > 0 ? ` (${skipped} disabled)` : ''}, about ${secs(plan.total_expected_seconds)} (at most ${secs(plan.max_total_seconds)} with recovery waits)`,
      width,
    ),
  ]
  const idWidth = Math.min(30, Math.max(...plan.experiments.map((e) => e.id.length)))
  for (const e of plan.experiments.slice(0, SUMMARY_EXPERIMENTS)) {
    const what = e.enabled
      ? `${e.fault.type} on ${e.target_service}, ${pct(e.probability)}, ${e.blast_radius}, ${secs(e.duration_seconds)}`
      : c.dim('disabled: skipped')
    lines.push(cut(`  ${`${e.position}.`.padStart(3)} ${e.id.padEnd(idWidth)}  ${what}`, width))
  }
  const more = plan.experiments.length - SUMMARY_EXPERIMENTS
  if (more > 0) lines.push(cut(`  … and ${more} more (--dry-run shows the whole plan)`, width))
  return lines
}
