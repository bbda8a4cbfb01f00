/**
 * The HTML report: one self-contained page per run, for people who would rather look at a chart
 * than read the text report. Opens offline: no script, font, image or style sheet is fetched; the
 * CSS is inline and the charts are inline SVG drawn here, at render time. Every text that comes
 * from a record (scenario names and hypotheses are user input) is escaped.
 *
 * Layout: the verdict and the failed checks first, a summary table, then per experiment its
 * per-second timeline (throughput, error rate, p95; baseline / injection / recovery shaded, the
 * rollback marked), results, checks (actual vs expected), analysis lines and rollback record, and
 * at the end a command that runs the same selection again.
 */
import type {
  AnalysisLine,
  CheckResult,
  ExperimentRecord,
  PhaseMetrics,
  RunRecord,
  TimeseriesPhase,
  TimeseriesPoint,
} from '../src/record.js'
import { checkValue, faultSummary, ms, num, pct, plural, seconds, tryParseCheck } from '../src/wording.js'
import { instanceFacts, instanceFault } from './text.js'

/** Text made safe for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const h = escapeHtml

function durationSeconds(from: string | null, to: string | null): number | undefined {
  if (from === null || to === null) return undefined
  return Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000)
}

type Tone = 'good' | 'warn' | 'bad'

function outcomeTone(outcome: string): Tone {
  if (outcome === 'PASSED' || outcome === 'COMPLETED') return 'good'
  if (outcome === 'INTERRUPTED' || outcome === 'SKIPPED' || outcome === 'INCONCLUSIVE') return 'warn'
  return 'bad'
}

function badge(text: string, tone: Tone): string {
  return `<span class="badge ${tone}">${h(text)}</span>`
}

/** "held", "NOT held", "inconclusive" or "-", as the text report's summary says it. */
function hypothesisWord(e: ExperimentRecord): { text: string; tone: Tone | undefined } {
  if (e.state === 'COMPLETED' && e.hypothesis_held === null) return { text: 'inconclusive', tone: 'warn' }
  if (e.hypothesis_held === null) return { text: 'not decided', tone: undefined }
  return e.hypothesis_held ? { text: 'held', tone: 'good' } : { text: 'NOT held', tone: 'bad' }
}

function mttrText(e: ExperimentRecord): string {
  if (e.metrics.mttr_seconds !== null) return seconds(e.metrics.mttr_seconds)
  return e.metrics.recovery ? 'never recovered' : '-'
}

// ---------------------------------------------------------------------------------------------
// Checks

interface CheckView {
  mark: string
  tone: Tone
  label: string
  actual: string
  expected: string
  note: string | undefined
}

/** A check's values in its measure's unit, worded as the text report words them. */
function checkView(c: CheckResult): CheckView {
  const parsed = tryParseCheck(c.expression)
  const label = c.name === c.expression ? c.expression : `${c.name}: ${c.expression}`
  if (c.passed === null)
    return { mark: '⚠', tone: 'warn', label, actual: '-', expected: '-', note: c.detail ?? 'not evaluated' }
  const actual = c.actual === null ? 'unknown' : checkValue(parsed, c.actual)
  let expected =
    c.expected === null ? 'unknown' : `${parsed?.op ?? ''} ${checkValue(parsed, c.expected)}`.trim()
  if (parsed?.bound.kind === 'baseline') expected += ` (${num(parsed.bound.factor)}x baseline)`
  return {
    mark: c.passed ? '✓' : '✗',
    tone: c.passed ? 'good' : 'bad',
    label,
    actual,
    expected,
    note: c.detail,
  }
}

function checksTable(checks: readonly CheckResult[]): string {
  if (checks.length === 0) return '<p class="muted">No checks were evaluated.</p>'
  const rows = checks.map((c) => {
    const v = checkView(c)
    return `<tr class="${v.tone}"><td class="mark">${v.mark}</td><td>${h(v.label)}${v.note ? `<div class="muted">${h(v.note)}</div>` : ''}</td><td class="num">${h(v.actual)}</td><td class="num">${h(v.expected)}</td></tr>`
  })
  return `<table class="checks"><thead><tr><th></th><th>Check</th><th class="num">Actual</th><th class="num">Expected</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

// ---------------------------------------------------------------------------------------------
// The timeline chart

// Geometry in SVG units: `band` is the top of the shading (phase labels above it), `top` the first panel.
const CHART = { width: 900, left: 64, right: 20, band: 20, top: 42, panel: 92, gap: 32, bottom: 44 } as const

const PHASE_STYLE: Record<TimeseriesPhase, { label: string; fill: string }> = {
  BASELINE: { label: 'baseline', fill: '#e8eef6' },
  DURING: { label: 'injection', fill: '#fbe0d6' },
  RECOVERY: { label: 'recovery', fill: '#dff1e3' },
}

/** A round axis maximum at or above `value` (1, 2, 2.5, 5 × 10^n). */
function niceMax(value: number): number {
  if (!(value > 0)) return 1
  const base = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * base) return step * base
  return 10 * base
}

/** One bucket of the series with its width (buckets are cut at the phase boundaries). */
interface Bucket {
  from: number
  to: number
  point: TimeseriesPoint
  /**
   * Requests per second over the whole second the bucket lies in: a bucket cut at a phase
   * boundary may last 70 ms, and its own requests/width would draw a spike that never happened.
   */
  rate: number
}

function buckets(series: readonly TimeseriesPoint[]): Bucket[] {
  const cut = series.map((point, i) => {
    const next = series[i + 1]?.t
    // The last bucket has no successor: a whole second, as the engine counts it.
    const to = next !== undefined && next > point.t ? next : point.t + 1
    return { from: point.t, to, point }
  })
  const perSecond = new Map<number, { requests: number; width: number }>()
  for (const b of cut) {
    const s = perSecond.get(Math.floor(b.from)) ?? { requests: 0, width: 0 }
    s.requests += b.point.requests
    s.width += b.to - b.from
    perSecond.set(Math.floor(b.from), s)
  }
  return cut.map((b) => {
    const s = perSecond.get(Math.floor(b.from))!
    return { ...b, rate: s.width > 0 ? s.requests / s.width : 0 }
  })
}

interface Panel {
  title: string
  unit: (v: number) => string
  /** The value of a bucket, or null where there is none (no requests, no latency). */
  value: (b: Bucket) => number | null
  /** The smallest axis maximum. */
  floor: number
  color: string
}

const PANELS: readonly Panel[] = [
  {
    title: 'Throughput (requests/s)',
    unit: (v) => num(v, 1),
    value: (b) => b.rate,
    floor: 1,
    color: '#2563eb',
  },
  {
    title: 'Error rate',
    unit: (v) => `${num(v * 100, 1)}%`,
    value: (b) => (b.point.requests > 0 ? b.point.errors / b.point.requests : null),
    // A 2 % error rate must not fill the panel as if everything failed.
    floor: 0.05,
    color: '#dc2626',
  },
  {
    title: 'p95 latency',
    unit: (v) => ms(v),
    value: (b) => b.point.latency_p95_ms,
    floor: 10,
    color: '#7c3aed',
  },
]

/** Contiguous runs of one phase: the shaded bands. */
function phaseBands(all: readonly Bucket[]): { phase: TimeseriesPhase; from: number; to: number }[] {
  const bands: { phase: TimeseriesPhase; from: number; to: number }[] = []
  for (const b of all) {
    const last = bands.at(-1)
    if (last && last.phase === b.point.phase) last.to = b.to
    else bands.push({ phase: b.point.phase, from: b.from, to: b.to })
  }
  return bands
}

/**
 * Where the rollback happened, in series seconds: the first recovery bucket (the engine cuts the
 * series at its rollback mark, so the line meets the shading exactly), else the record's
 * timestamps for an experiment that rolled back without a recovery phase.
 */
function rollbackSecond(e: ExperimentRecord, all: readonly Bucket[]): number | undefined {
  const recovery = all.find((b) => b.point.phase === 'RECOVERY')
  if (recovery) return recovery.from
  if (!e.rollback.attempted) return undefined
  return durationSeconds(e.started_at, e.rolled_back_at)
}

/** A time-axis label: `0s`, `15s`, `1m 10s`. */
function tick(t: number): string {
  return t === 0 ? '0s' : seconds(t)
}

/** A step line over the buckets; a bucket without a value breaks the line. */
function stepPath(
  all: readonly Bucket[],
  value: Panel['value'],
  x: (t: number) => number,
  y: (v: number) => number,
) {
  let d = ''
  let open = false
  for (const b of all) {
    const v = value(b)
    if (v === null || !Number.isFinite(v)) {
      open = false
      continue
    }
    const yy = y(v).toFixed(1)
    d += `${open ? 'L' : 'M'}${x(b.from).toFixed(1)} ${yy}H${x(b.to).toFixed(1)}`
    open = true
  }
  return d
}

/** The per-second timeline of one experiment as inline SVG (three panels sharing the time axis). */
function timelineChart(e: ExperimentRecord, index: number): string {
  const all = buckets(e.timeseries)
  const rollback = rollbackSecond(e, all)
  const end = Math.max(all.at(-1)!.to, rollback ?? 0)
  const { width, left, right, band: bandTop, top, panel, gap, bottom } = CHART
  const height = top + PANELS.length * panel + (PANELS.length - 1) * gap + bottom
  const plotW = width - left - right
  const x = (t: number) => left + (t / end) * plotW
  const plotBottom = height - bottom
  const parts: string[] = []

  for (const band of phaseBands(all)) {
    const style = PHASE_STYLE[band.phase]
    const x0 = x(band.from)
    const w = Math.max(0, x(band.to) - x0)
    parts.push(
      `<rect class="phase-${band.phase.toLowerCase()}" x="${x0.toFixed(1)}" y="${bandTop}" width="${w.toFixed(1)}" height="${plotBottom - bandTop}" fill="${style.fill}"/>`,
    )
    if (w > 48)
      parts.push(
        `<text x="${(x0 + 4).toFixed(1)}" y="${bandTop - 6}" class="phase-label">${style.label}</text>`,
      )
  }

  PANELS.forEach((p, i) => {
    const y0 = top + i * (panel + gap)
    const values = all.map(p.value).filter((v): v is number => v !== null && Number.isFinite(v))
    // Headroom above the highest value, so the line never runs into the panel title.
    const max = niceMax(Math.max(p.floor, ...values.map((v) => v * 1.15)))
    const y = (v: number) => y0 + panel - (Math.min(v, max) / max) * panel
    parts.push(`<text x="${left}" y="${y0 - 6}" class="panel-title">${h(p.title)}</text>`)
    for (const f of [0, 0.5, 1]) {
      const yy = y(max * f).toFixed(1)
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${yy}" y2="${yy}" class="grid"/>`,
        `<text x="${left - 6}" y="${yy}" class="axis" text-anchor="end" dominant-baseline="middle">${h(p.unit(max * f))}</text>`,
      )
    }
    const d = stepPath(all, p.value, x, y)
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${p.color}" stroke-width="2" class="series"/>`)
    else
      parts.push(
        `<text x="${left + plotW / 2}" y="${y0 + panel / 2}" class="axis" text-anchor="middle">not measured</text>`,
      )
  })

  // Time axis: about eight labelled ticks, on whole seconds.
  const step = Math.max(1, niceMax(end / 8))
  for (let t = 0; t <= end + 1e-9; t += step) {
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${plotBottom + 16}" class="axis" text-anchor="middle">${h(tick(t))}</text>`,
    )
  }
  if (rollback !== undefined) {
    const rx = x(rollback).toFixed(1)
    parts.push(
      `<line x1="${rx}" x2="${rx}" y1="${bandTop}" y2="${plotBottom}" class="rollback"/>`,
      // The label stays inside the drawing when the rollback is at either edge.
      `<text x="${Math.min(Math.max(x(rollback), left + 50), width - right - 50).toFixed(1)}" y="${plotBottom + 34}" class="rollback-label" text-anchor="middle">rollback ${h(seconds(rollback))}</text>`,
    )
  }
  const id = `chart-${index}`
  return `<figure class="chart"><svg id="${id}" role="img" aria-labelledby="${id}-title" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title id="${id}-title">Per-second throughput, error rate and p95 latency of ${h(e.id)}</title>${parts.join('')}</svg><figcaption>Per second since the experiment started. Shaded: <span class="key baseline">baseline</span> <span class="key during">injection</span> <span class="key recovery">recovery</span>; dashed line: rollback.</figcaption></figure>`
}

function chartOrSentence(e: ExperimentRecord, index: number): string {
  if (e.timeseries.length > 0) return timelineChart(e, index)
  const why =
    e.state === 'SKIPPED'
      ? 'The experiment was skipped (its suite stopped before reaching it), so there is no timeline.'
      : 'No per-second measurements were recorded: the experiment ended before its workload ran, so there is no timeline.'
  return `<p class="no-chart">${why}</p>`
}

// ---------------------------------------------------------------------------------------------
// Experiment sections

function phaseRow(label: string, m: PhaseMetrics | null): string {
  if (!m) return `<tr><th>${label}</th><td colspan="5" class="muted">not measured</td></tr>`
  return `<tr><th>${label}</th><td class="num">${m.total_requests}</td><td class="num">${pct(m.availability)}</td><td class="num">${pct(m.error_rate)}</td><td class="num">${ms(m.latency_ms.p95)}</td><td class="num">${num(m.throughput_rps, 1)}</td></tr>`
}

function resultsBlock(e: ExperimentRecord): string {
  const m = e.metrics
  if (!m.during && !m.baseline) return ''
  const facts: [string, string][] = []
  if (m.during) {
    facts.push(['MTTR', mttrText(e)])
    facts.push([
      'Circuit breaker trips',
      m.during.circuit_breaker_trips === null ? 'not measured' : String(m.during.circuit_breaker_trips),
    ])
    facts.push([
      'Requests that met a fault',
      m.during.affected_requests === null ? 'not measured' : String(m.during.affected_requests),
    ])
    facts.push([
      'Faults injected',
      m.during.faults_injected === null ? 'not measured' : String(m.during.faults_injected),
    ])
    const classes = Object.entries(m.during.failures_by_class).sort(([a], [b]) => a.localeCompare(b))
    if (classes.length > 0) facts.push(['Failures by class', classes.map(([k, v]) => `${k} ${v}`).join(', ')])
  }
  return `<table class="phases"><thead><tr><th>Phase</th><th class="num">Requests</th><th class="num">Availability</th><th class="num">Error rate</th><th class="num">p95</th><th class="num">Throughput (rps)</th></tr></thead><tbody>${phaseRow('Baseline', m.baseline)}${phaseRow('Injection', m.during)}${phaseRow('Recovery', m.recovery)}</tbody></table>${facts.length > 0 ? `<dl class="facts">${facts.map(([k, v]) => `<div><dt>${h(k)}</dt><dd>${h(v)}</dd></div>`).join('')}</dl>` : ''}`
}

// Plain symbols, not emoji: they render with any font (a print server or a bare Linux desktop has
// no emoji font, and the marks would print as boxes).
const ANALYSIS_MARK: Record<AnalysisLine['level'], string> = { OK: '✓', WARN: '⚠', ACTION: '→' }

function analysisBlock(lines: readonly AnalysisLine[]): string {
  if (lines.length === 0) return ''
  const items = lines.map(
    (l) =>
      `<li class="${l.level.toLowerCase()}"><span class="mark">${ANALYSIS_MARK[l.level]}</span> ${l.level === 'ACTION' ? '<strong>Action:</strong> ' : ''}${h(l.message)}</li>`,
  )
  return `<h3>Analysis</h3><ul class="analysis">${items.join('')}</ul>`
}

function rollbackBlock(e: ExperimentRecord): string {
  const r = e.rollback
  if (!r.attempted) return '<h3>Rollback</h3><p class="muted">No rollback: no fault was started.</p>'
  const verdict = r.verified ? badge('verified', 'good') : badge('NOT verified', 'bad')
  const facts: [string, string][] = [
    ['Method', r.method ?? 'no route'],
    ['Attempts', String(r.attempts)],
    ['Rolled back at', e.rolled_back_at ?? '-'],
    [
      'Faults seen after the rollback',
      r.faults_after_rollback === null ? 'not measured' : String(r.faults_after_rollback),
    ],
  ]
  if (r.error) facts.push(['Error', r.error])
  return `<h3>Rollback ${verdict}</h3><dl class="facts">${facts.map(([k, v]) => `<div><dt>${h(k)}</dt><dd>${h(v)}</dd></div>`).join('')}</dl>`
}

function instancesBlock(e: ExperimentRecord): string {
  const instances = e.instances ?? []
  const skipped = e.discovery?.skipped ?? []
  let block = ''
  if (instances.length >= 2 || (e.discovery && instances.length > 0)) {
    const rows = instances.map(
      (i) =>
        `<tr><td>${h(i.url)}</td><td>${h(instanceFault(i))}</td><td class="num">${i.requests ?? 'not measured'}</td><td class="num">${i.failed_requests ?? '-'}</td><td class="num">${i.error_rate === null ? '-' : pct(i.error_rate)}</td><td>${h(instanceFacts(i).join(', ') || '-')}</td></tr>`,
    )
    block += `<h3>Instances</h3><table><thead><tr><th>Instance</th><th>Fault</th><th class="num">Requests</th><th class="num">Failed</th><th class="num">Error rate</th><th>Agent and rollback</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  }
  if (e.discovery) {
    block += `<p>Discovery: ${e.discovery.found.length} found (${h(e.discovery.sources.join(', ') || 'no source')}), ${skipped.length} skipped</p>`
    if (skipped.length > 0)
      block += `<ul>${skipped.map((s) => `<li>skipped ${h(s.url)}: ${h(s.reason)}</li>`).join('')}</ul>`
  }
  return block
}

function experimentSection(e: ExperimentRecord, index: number): string {
  const hyp = hypothesisWord(e)
  const actual = durationSeconds(e.injected_at, e.rolled_back_at)
  const duration =
    actual === undefined
      ? `${seconds(e.duration_seconds)} planned (not injected)`
      : Math.abs(actual - e.duration_seconds) >= 1
        ? `${seconds(actual)} (planned ${seconds(e.duration_seconds)})`
        : seconds(actual)
  const notes: string[] = []
  if (e.state === 'COMPLETED' && e.hypothesis_held === null)
    notes.push(`Inconclusive: ${e.inconclusive_reason ?? 'the hypothesis was not tested'}`)
  if (e.abort_reason) notes.push(`Abort reason: ${e.abort_reason}`)
  if (e.error) notes.push(`Error: ${e.error}`)
  return `<section class="experiment" id="experiment-${index}">
<h2>${h(e.name)} <span class="fault">${h(faultSummary(e.fault_config))}</span></h2>
<p class="meta">${badge(e.state, outcomeTone(e.state))} Hypothesis: ${hyp.tone ? badge(hyp.text, hyp.tone) : h(hyp.text)} · ID <code>${h(e.id)}</code> · Category ${h(e.category)} · Target service ${h(e.target_service)} · Blast radius ${h(e.blast_radius)} · Duration ${h(duration)}</p>
<p class="hypothesis">${h(e.steady_state_hypothesis)}</p>
${notes.map((n) => `<p class="note">${h(n)}</p>`).join('')}
${chartOrSentence(e, index)}
${resultsBlock(e)}
<h3>Checks</h3>
${checksTable(e.checks)}
${analysisBlock(e.analysis)}
${rollbackBlock(e)}
${instancesBlock(e)}
</section>`
}

// ---------------------------------------------------------------------------------------------
// The top of the page

/** What the run decided, in one sentence. */
function verdictSentence(record: RunRecord): string {
  const ran = record.experiments.filter((e) => e.state !== 'SKIPPED')
  const held = ran.filter((e) => e.state === 'COMPLETED' && e.hypothesis_held === true).length
  const skipped = record.experiments.length - ran.length
  const counts = `${held} of ${plural(ran.length, 'experiment')} held${skipped > 0 ? `, ${skipped} skipped` : ''}`
  switch (record.outcome) {
    case 'PASSED':
      return `Passed: ${counts}.`
    case 'FAILED':
      return `Failed: ${counts}.`
    case 'INCONCLUSIVE':
      return `Inconclusive: nothing failed, but not everything was tested (${counts}). Not a pass.`
    case 'ABORTED':
      return `Aborted by a safety limit: ${counts}.`
    case 'INTERRUPTED':
      return `Interrupted before it finished: ${counts}. The report is partial.`
    case 'ERROR':
      return `The run failed with an error: ${counts}.`
  }
}

function failedChecks(record: RunRecord): string {
  const failed = record.experiments.flatMap((e) =>
    e.checks.filter((c) => c.passed === false).map((c) => ({ e, v: checkView(c) })),
  )
  if (failed.length === 0) return '<p class="digest-line"><strong>Failed checks:</strong> none.</p>'
  const items = failed.map(
    ({ e, v }) =>
      `<li><code>${h(e.id)}</code> ${h(v.label)}: actual <strong>${h(v.actual)}</strong>, expected ${h(v.expected)}</li>`,
  )
  return `<p class="digest-line"><strong>Failed checks (${failed.length}):</strong></p><ul class="failed">${items.join('')}</ul>`
}

function summaryTable(record: RunRecord): string {
  if (record.experiments.length === 0) return '<p>No experiments were run.</p>'
  const rows = record.experiments.map((e, i) => {
    const m = e.metrics.during
    const hyp = hypothesisWord(e)
    return `<tr><td><a href="#experiment-${i}">${h(e.id)}</a></td><td>${badge(e.state, outcomeTone(e.state))}</td><td>${hyp.tone ? badge(hyp.text, hyp.tone) : '-'}</td><td class="num">${m ? pct(m.availability) : '-'}</td><td class="num">${m ? pct(m.error_rate) : '-'}</td><td class="num">${m ? ms(m.latency_ms.p95) : '-'}</td><td class="num">${h(mttrText(e))}</td><td>${e.rollback.attempted ? (e.rollback.verified ? 'verified' : badge('NOT verified', 'bad')) : '-'}</td></tr>`
  })
  return `<table class="summary"><thead><tr><th>Experiment</th><th>State</th><th>Hypothesis</th><th class="num">Availability</th><th class="num">Error rate</th><th class="num">p95</th><th class="num">MTTR</th><th>Rollback</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** A duration as `chaos run` takes it back: `10s`, `500ms`, `2m`. */
function flagDuration(secondsValue: number): string {
  if (Number.isInteger(secondsValue))
    return secondsValue % 60 === 0 && secondsValue > 0 ? `${secondsValue / 60}m` : `${secondsValue}s`
  return `${Math.round(secondsValue * 1000)}ms`
}

/** A word for a POSIX shell, quoted only when it needs to be. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/**
 * The command that runs this selection again with the same timings and target. The token is not
 * part of a report; `--duration` only when every experiment ran for the same planned time (it
 * overrides each scenario's own).
 */
export function reproduceCommand(record: RunRecord): string {
  const selection = record.selection.length > 0 ? record.selection : record.experiments.map((e) => e.id)
  const o = record.options
  const args = ['chaos', 'run', ...selection.map(shellWord)]
  const durations = new Set(record.experiments.map((e) => e.duration_seconds))
  if (durations.size === 1) args.push('--duration', flagDuration([...durations][0]!))
  args.push('--baseline', flagDuration(o.baseline_seconds), '--rate', num(o.rate))
  args.push('--interval', flagDuration(o.interval_seconds))
  args.push('--recovery-timeout', flagDuration(o.recovery_timeout_seconds))
  if (record.experiments.length > 1) args.push('--pause', flagDuration(o.pause_seconds))
  if (!record.target.sandbox) args.push('--target', shellWord(record.target.urls.join(',')))
  if (record.target.workload_url) args.push('--workload-url', shellWord(record.target.workload_url))
  return args.join(' ')
}

const STYLE = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--good:#1a7f37;--warn:#9a6700;--bad:#cf222e;--good-bg:#dafbe1;--warn-bg:#fff8c5;--bad-bg:#ffebe9}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1040px;padding:24px;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:19px;margin:0 0 6px}h3{font-size:15px;margin:18px 0 6px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:10px 12px;white-space:pre-wrap;overflow-wrap:anywhere}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;line-height:20px;border:1px solid transparent}
.badge.good{color:var(--good);background:var(--good-bg);border-color:#aceebb}
.badge.warn{color:var(--warn);background:var(--warn-bg);border-color:#eed888}
.badge.bad{color:var(--bad);background:var(--bad-bg);border-color:#ffcecb}
.digest{border:2px solid var(--line);border-radius:8px;padding:12px 16px;margin:16px 0}
.digest.good{border-color:var(--good)}.digest.warn{border-color:#d4a72c}.digest.bad{border-color:var(--bad)}
.verdict{font-size:18px;font-weight:600;margin:0 0 4px}
.digest-line{margin:4px 0}
ul.failed{margin:4px 0 0;padding-left:20px}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{background:#f6f8fa;font-weight:600}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.mark{width:24px;font-weight:700}
tr.good td.mark,li.ok .mark{color:var(--good)}tr.bad td.mark{color:var(--bad)}tr.warn td.mark,li.warn .mark{color:var(--warn)}
tr.bad td{background:#fff5f5}
dl.facts{display:flex;flex-wrap:wrap;gap:6px 24px;margin:6px 0 10px}
dl.facts div{min-width:150px}dt{color:var(--muted);font-size:12px}dd{margin:0;font-weight:600}
.run-meta{color:var(--muted);margin:0}
.experiment{border-top:3px solid var(--line);margin-top:28px;padding-top:16px}
.fault{font-weight:400;color:var(--muted);font-size:15px}
.meta{margin:4px 0}.hypothesis{font-style:italic;margin:4px 0}
.note{background:var(--warn-bg);padding:4px 8px;border-radius:4px}
.no-chart{border:1px dashed var(--line);border-radius:6px;padding:16px;color:var(--muted);text-align:center}
figure.chart{margin:12px 0;break-inside:avoid;page-break-inside:avoid}
figure.chart svg{display:block;width:100%;height:auto;max-width:100%}
figcaption{color:var(--muted);font-size:12px}
.key{padding:0 6px;border-radius:3px}.key.baseline{background:#e8eef6}.key.during{background:#fbe0d6}.key.recovery{background:#dff1e3}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.axis{font-size:11px;fill:#59636e}.panel-title{font-size:12px;font-weight:600;fill:#1f2328}
.phase-label{font-size:11px;fill:#59636e;text-transform:uppercase;letter-spacing:.04em}
.grid{stroke:#d8dee4;stroke-width:1}
.rollback{stroke:#1f2328;stroke-width:1.5;stroke-dasharray:5 4}.rollback-label{font-size:11px;font-weight:600;fill:#1f2328}
ul.analysis{list-style:none;padding:0;margin:4px 0}ul.analysis li{margin:3px 0}
footer{margin-top:28px;border-top:1px solid var(--line);padding-top:8px;color:var(--muted);font-size:12px}
@page{size:A4;margin:14mm}
@media print{
body{max-width:none;padding:0;font-size:10.5pt}
table{font-size:9pt}th,td{padding:3px 5px}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.experiment{border-top:none}
.experiment+.experiment{break-before:page;page-break-before:always;margin-top:0}
figure.chart,table,dl.facts,.digest,pre{break-inside:avoid;page-break-inside:avoid}
h2,h3{break-after:avoid;page-break-after:avoid}
a{color:inherit;text-decoration:none}
}
`

/** Renders a run record as one self-contained HTML page (ends with a newline). */
export function renderHtml(record: RunRecord): string {
  const runSeconds = durationSeconds(record.started_at, record.finished_at) ?? 0
  const tone = outcomeTone(record.outcome)
  const o = record.options
  const target = `${record.target.urls.join(', ')}${record.target.sandbox ? ' (built-in sandbox)' : ''}`
  const meta = [
    `Target ${target}`,
    ...(record.target.workload_url ? [`Workload ${record.target.workload_url}`] : []),
    `Selection ${record.selection.join(' ') || '-'}`,
    `Started ${record.started_at} (${seconds(runSeconds)})`,
    `Rate ${num(o.rate)} rps, baseline ${seconds(o.baseline_seconds)}, interval ${seconds(o.interval_seconds)}, recovery timeout ${seconds(o.recovery_timeout_seconds)}, pause ${seconds(o.pause_seconds)}`,
  ]
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${h(`Chaos run ${record.run_id}: ${record.outcome}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Chaos run <code>${h(record.run_id)}</code></h1>
<p class="run-meta">${meta.map(h).join(' · ')}</p>
</header>
<section class="digest ${tone}">
<p class="verdict">${badge(record.outcome, tone)} ${record.partial ? badge('PARTIAL', 'warn') : ''} ${h(verdictSentence(record))} <span class="muted">(exit ${record.exit_code})</span></p>
${failedChecks(record)}
</section>
${summaryTable(record)}
${record.experiments.map(experimentSection).join('\n')}
<footer>
<h3>Reproduce</h3>
<pre><code>${h(reproduceCommand(record))}</code></pre>
<p>Written by chaos-playbook (report schema ${record.schema_version}). This page is self-contained: it loads nothing from the network.</p>
</footer>
</body>
</html>
`
}
