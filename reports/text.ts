/**
 * The text report: a run record rendered to read like the guide's "Example Analysis" (section 8),
 * opened by the three-line digest (`./digest.ts`), one block per experiment, then a summary table. Plain text for files; `color: true` adds chalk
 * colours for a terminal. Analysis lines come from the record (`withAnalysis` fills them).
 */
import { Chalk, type ChalkInstance } from 'chalk'
import type {
  AnalysisLine,
  CheckResult,
  ExperimentRecord,
  InstanceRecord,
  PhaseMetrics,
  RouteStatuses,
  RunRecord,
} from '../src/record.js'
import { outcomeColor, runSummaryTable } from './run-table.js'
import { checkValue, faultSummary, ms, num, pct, seconds, tryParseCheck } from '../src/wording.js'
import { runDigest } from './digest.js'

export interface TextReportOptions {
  /** ANSI colours (terminal only; files are always plain). */
  color: boolean
}

const MARKS = { OK: '✅', WARN: '⚠ ', ACTION: '📝' } as const

/** A route's statuses other than 2xx/3xx (failure classes included), most frequent first. */
function nonSuccessStatuses(route: RouteStatuses): [string, number][] {
  return Object.entries(route.statuses)
    .filter(([status]) => !/^[23]\d\d$/.test(status) && status !== 'OK')
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
}

function durationSeconds(from: string | null, to: string | null): number | undefined {
  if (from === null || to === null) return undefined
  return Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000)
}

function share(n: number, total: number): string {
  return total > 0 ? ` (${pct(n / total)})` : ''
}

function phaseLine(label: string, m: PhaseMetrics | null): string | undefined {
  if (!m) return undefined
  return `${label}: ${m.total_requests} requests, availability ${pct(m.availability)}, error rate ${pct(m.error_rate)}, p95 ${ms(m.latency_ms.p95)}`
}

/** One phase's other traffic: `errors of requests failed (rate)`. */
function collateralPart(label: string, m: PhaseMetrics | null): string | undefined {
  const c = m?.collateral
  if (!c) return undefined
  if (c.requests === 0) return `${label} no other traffic`
  return `${label} ${c.errors} of ${c.requests} failed (${pct(c.error_rate ?? 0)})`
}

/**
 * The blast radius as measured: the error rate of the traffic that was not the runner's, during
 * the injection next to its baseline (absent for reports written before it was measured).
 */
function collateralLine(e: ExperimentRecord): string | undefined {
  const { baseline, during, recovery } = e.metrics
  if (during?.collateral === undefined) return undefined
  if (during.collateral === null)
    return '  - Collateral (other traffic): not measured (the target exports no http_requests_total with a status label)'
  const parts = [
    collateralPart('during', during),
    collateralPart('baseline', baseline),
    collateralPart('recovery', recovery),
  ].filter((p): p is string => p !== undefined)
  return `  - Collateral (other traffic): ${parts.join('; ')}`
}

function resultLines(e: ExperimentRecord): string[] {
  const m = e.metrics.during
  if (!m) return ['Results: not measured (the fault was never injected)']
  const mttr =
    e.metrics.mttr_seconds !== null
      ? seconds(e.metrics.mttr_seconds)
      : e.metrics.recovery
        ? 'never recovered'
        : 'not measured'
  const lines = [
    'Results:',
    `  - Total Requests: ${m.total_requests}`,
    m.affected_requests === null
      ? '  - Affected Requests: not measured (the target does not tag responses with x-chaos-faults)'
      : `  - Affected Requests: ${m.affected_requests}${share(m.affected_requests, m.total_requests)} met at least one fault`,
    `  - Faults Injected: ${m.faults_injected === null ? 'not measured' : `${m.faults_injected} (calls, retries included)`}`,
    `  - Successful: ${m.successful_requests}${share(m.successful_requests, m.total_requests)}`,
    `  - Failed: ${m.failed_requests}${share(m.failed_requests, m.total_requests)}`,
    `  - Error Rate: ${pct(m.error_rate)}`,
    `  - Availability: ${pct(m.availability)}`,
    `  - Latency: p50 ${ms(m.latency_ms.p50)}, p95 ${ms(m.latency_ms.p95)}, p99 ${ms(m.latency_ms.p99)}, max ${ms(m.latency_ms.max)}`,
    `  - Throughput: ${num(m.throughput_rps, 1)} rps`,
    `  - Circuit Breaker Trips: ${m.circuit_breaker_trips ?? 'not measured (no circuit_breaker_trips_total)'}`,
    `  - MTTR: ${mttr}`,
  ]
  const collateral = collateralLine(e)
  if (collateral !== undefined) lines.push(collateral)
  if (m.dropped_requests > 0) lines.push(`  - Dropped (not sent): ${m.dropped_requests}`)
  const classes = Object.entries(m.failures_by_class).sort(([a], [b]) => a.localeCompare(b))
  if (classes.length > 0)
    lines.push(`  - Failures by class: ${classes.map(([k, v]) => `${k} ${v}`).join(', ')}`)
  return lines
}

/** What happened to the fault on one instance: started, refused, unknown, or not sent. */
export function instanceFault(i: InstanceRecord): string {
  switch (i.start) {
    case 'REFUSED':
      return 'start refused'
    case 'FAILED':
      return 'start failed (outcome unknown, rolled back)'
    case 'STARTED':
      return 'fault started'
    case 'NOT_SENT':
      return 'no fault'
    default:
      return i.reached ? 'fault started' : 'no fault'
  }
}

/** The agent's own counts and the rollback's read-back on one instance, when the record has them. */
export function instanceFacts(i: InstanceRecord): string[] {
  const facts: string[] = []
  if (i.faults_injected !== undefined && i.faults_injected !== null)
    facts.push(
      `agent counted ${i.faults_injected} fault${i.faults_injected === 1 ? '' : 's'}${i.calls_seen !== undefined && i.calls_seen !== null ? ` in ${i.calls_seen} call${i.calls_seen === 1 ? '' : 's'}` : ''}`,
    )
  if (i.rollback_verified === true) facts.push('rollback verified')
  else if (i.rollback_verified === false)
    facts.push(`rollback NOT verified${i.rollback_error ? ` (${i.rollback_error})` : ''}`)
  return facts
}

/**
 * The "Instances:" block, one line per instance: with more than one instance, or with discovery
 * (one instance is otherwise the whole report); then the instances discovery found but skipped.
 */
function instanceLines(e: ExperimentRecord, workloadUrl?: string): string[] {
  const instances = e.instances ?? []
  const skipped = e.discovery?.skipped ?? []
  const lines: string[] = []
  if (instances.length >= 2 || (e.discovery && instances.length > 0)) {
    lines.push('Instances:')
    for (const i of instances) {
      const traffic =
        i.requests === null
          ? `requests not measured per instance (workload sent to ${workloadUrl ?? 'a separate URL'})`
          : `${i.requests} requests, ${i.failed_requests ?? 0} failed (${pct(i.error_rate ?? 0)})`
      lines.push(`  - ${[`${i.url}: ${instanceFault(i)}`, traffic, ...instanceFacts(i)].join(', ')}`)
    }
  }
  if (e.discovery) {
    lines.push(
      `Discovery: ${e.discovery.found.length} found (${e.discovery.sources.join(', ') || 'no source'}), ${skipped.length} skipped`,
    )
    for (const s of skipped) lines.push(`  - skipped ${s.url}: ${s.reason}`)
  }
  return lines
}

/**
 * The "Workload routes:" block: each route that got an answer other than 2xx/3xx (or none: timeouts,
 * connection errors), with those statuses per phase. Nothing when every route answered well.
 */
function routeLines(e: ExperimentRecord): string[] {
  const phases = [
    ['baseline', e.metrics.baseline],
    ['during', e.metrics.during],
    ['recovery', e.metrics.recovery],
  ] as const
  const byRoute = new Map<string, string[]>()
  for (const [phase, m] of phases) {
    for (const route of m?.routes ?? []) {
      const bad = nonSuccessStatuses(route)
      if (bad.length === 0) continue
      const key = `${route.method} ${route.path}`
      const parts = bad.map(([status, n]) => `${status} ×${n}`).join(', ')
      byRoute.set(key, [...(byRoute.get(key) ?? []), `${phase} ${parts} of ${route.requests}`])
    }
  }
  if (byRoute.size === 0) return []
  return [
    'Workload routes (answers other than 2xx/3xx):',
    ...[...byRoute].map(([k, v]) => `  - ${k}: ${v.join('; ')}`),
  ]
}

function checkLine(c: CheckResult, color: ChalkInstance): string {
  const parsed = tryParseCheck(c.expression)
  const label = c.name === c.expression ? c.expression : `${c.name}: ${c.expression}`
  if (c.passed === null)
    return `  ${color.yellow('⚠ ')} ${label} - not evaluated${c.detail ? ` (${c.detail})` : ''}`
  const actual = c.actual === null ? 'unknown' : checkValue(parsed, c.actual)
  let expected =
    c.expected === null ? 'unknown' : `${parsed?.op ?? ''} ${checkValue(parsed, c.expected)}`.trim()
  if (parsed?.bound.kind === 'baseline') expected += ` (${num(parsed.bound.factor)}x baseline)`
  const mark = c.passed ? color.green('✅') : color.red('❌')
  return `  ${mark} ${label} - actual ${actual}, expected ${expected}`
}

function analysisLine(line: AnalysisLine, color: ChalkInstance): string {
  switch (line.level) {
    case 'OK':
      return `${MARKS.OK} ${line.message}`
    case 'WARN':
      return `${color.yellow(MARKS.WARN)} ${line.message}`
    case 'ACTION':
      return `${MARKS.ACTION} ${color.bold('Action:')} ${line.message}`
  }
}

function experimentBlock(e: ExperimentRecord, c: ChalkInstance, workloadUrl?: string): string[] {
  const lines = [c.bold(`Experiment: ${e.name} (${faultSummary(e.fault_config)})`)]
  lines.push(
    `ID: ${e.id} | Category: ${e.category} | Target service: ${e.target_service} | Blast radius: ${e.blast_radius}`,
  )
  lines.push(`Hypothesis: ${e.steady_state_hypothesis}`)
  const inconclusive = e.state === 'COMPLETED' && e.hypothesis_held === null
  const held = inconclusive
    ? c.yellow('inconclusive')
    : e.hypothesis_held === null
      ? 'not decided'
      : e.hypothesis_held
        ? 'yes'
        : c.red('no')
  lines.push(`State: ${outcomeColor(c, e.state)} | Hypothesis held: ${held}`)
  if (inconclusive) lines.push(`Inconclusive: ${e.inconclusive_reason ?? 'the hypothesis was not tested'}`)
  if (e.abort_reason) lines.push(`Abort reason: ${e.abort_reason}`)
  if (e.error) lines.push(`Error: ${e.error}`)

  const actual = durationSeconds(e.injected_at, e.rolled_back_at)
  if (actual === undefined) lines.push(`Duration: ${seconds(e.duration_seconds)} planned (not injected)`)
  else if (Math.abs(actual - e.duration_seconds) >= 1)
    lines.push(`Duration: ${seconds(actual)} (planned ${seconds(e.duration_seconds)})`)
  else lines.push(`Duration: ${seconds(actual)}`)

  lines.push(...resultLines(e))
  for (const extra of [phaseLine('Baseline', e.metrics.baseline), phaseLine('Recovery', e.metrics.recovery)])
    if (extra) lines.push(extra)

  const r = e.rollback
  if (r.attempted)
    lines.push(
      `Rollback: ${r.verified ? c.green('verified') : c.red('NOT verified')} (${r.method ?? 'no route'}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'})${r.error ? ` - ${r.error}` : ''}`,
    )
  lines.push(...instanceLines(e, workloadUrl))
  lines.push(...routeLines(e))

  if (e.checks.length > 0) {
    lines.push('', 'Checks:')
    for (const check of e.checks) lines.push(checkLine(check, c))
  }
  if (e.analysis.length > 0) {
    lines.push('', 'Analysis:')
    for (const line of e.analysis) lines.push(analysisLine(line, c))
  }
  return lines
}

/** Renders a run record as the text report (ends with a newline). */
export function renderText(record: RunRecord, options: TextReportOptions = { color: false }): string {
  const c = new Chalk({ level: options.color ? 1 : 0 })
  const o = record.options
  const runSeconds = durationSeconds(record.started_at, record.finished_at) ?? 0
  const lines = [
    // The digest first: verdict, failed checks, what to do (reports/digest.ts).
    ...runDigest(record).map((line, i) => (i === 0 ? c.bold(line) : line)),
    '',
    c.bold(`Chaos run ${record.run_id}`) + (record.partial ? ` ${c.yellow('[PARTIAL]')}` : ''),
    `Outcome: ${outcomeColor(c, record.outcome)} (exit ${record.exit_code})`,
    `Target: ${record.target.urls.join(', ')}${record.target.sandbox ? ' (built-in sandbox)' : ''}`,
    ...(record.target.environment
      ? [`Environment: ${record.target.environment.map((e) => e ?? 'unknown').join(', ')}`]
      : []),
    ...(record.target.workload_url ? [`Workload: ${record.target.workload_url}`] : []),
    `Selection: ${record.selection.join(' ') || '-'}`,
    `Started: ${record.started_at} | Finished: ${record.finished_at} (${seconds(runSeconds)})`,
    `Options: rate ${num(o.rate)} rps, baseline ${seconds(o.baseline_seconds)}, interval ${seconds(o.interval_seconds)}, recovery timeout ${seconds(o.recovery_timeout_seconds)}, pause ${seconds(o.pause_seconds)}`,
  ]
  if (record.partial) lines.push('This run did not finish: the report is partial.')
  if (record.outcome === 'INCONCLUSIVE')
    lines.push(
      'Inconclusive: nothing failed, but not everything was tested - a check could not be evaluated or no fault was injected (see "Inconclusive:" below). Not a pass.',
    )
  for (const e of record.experiments) lines.push('', ...experimentBlock(e, c, record.target.workload_url))
  if (record.experiments.length === 0) lines.push('', 'No experiments were run.')
  else lines.push('', c.bold('Summary'), runSummaryTable(record, c))
  return lines.join('\n') + '\n'
}
