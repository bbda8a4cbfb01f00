/**
 * `chaos report diff` as text: the two runs, the regressions in one line, then one block per
 * experiment with each measure then → now and the regressions marked. Fits 80 columns; colour
 * only when asked (a terminal). The comparison itself is `./run-diff.ts`.
 */
import { Chalk, type ChalkInstance } from 'chalk'
import type {
  DiffMeasure,
  DiffRun,
  ExperimentDiff,
  HypothesisResult,
  MeasureDiff,
  RunDiff,
} from './run-diff.js'
import { ms, num, pct, plural, seconds } from '../src/wording.js'
import { truncate } from './digest.js'

export interface DiffTextOptions {
  /** ANSI colours (terminal only). */
  color: boolean
}

const NOT_MEASURED = 'not measured'

const HYPOTHESIS_WORDS: Record<HypothesisResult, string> = {
  HELD: 'held',
  NOT_HELD: 'NOT held',
  INCONCLUSIVE: 'inconclusive',
  NOT_DECIDED: 'not decided',
}

/** The measures' labels, in print order (`recovered` is folded into the MTTR line). */
const LABELS: Partial<Record<DiffMeasure, string>> = {
  availability: 'availability',
  error_rate: 'error rate',
  latency_p95_ms: 'p95',
  mttr_seconds: 'MTTR',
  hypothesis: 'hypothesis',
}

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
}

/** `then: <run id>  <start>  <outcome>  <selection>`: scenario files by base name, cut to 80 columns. */
function runLine(label: string, run: DiffRun): string {
  const selection = run.selection.map((item) => item.replace(/^.*[\\/]/, '')).join(' ') || '-'
  return truncate(`${label} ${run.run_id}  ${shortTime(run.started_at)}  ${run.outcome}  ${selection}`, 80)
}

/** "up 14 points" / "down 2.5 points" for rates; "+20ms"-style for amounts. */
function delta(measure: DiffMeasure, d: MeasureDiff<number>): string {
  if (d.then === null || d.now === null) return ''
  const change = d.now - d.then
  if (measure === 'availability' || measure === 'error_rate')
    return `${change > 0 ? 'up' : 'down'} ${num(Math.abs(change) * 100)} points`
  const amount = measure === 'latency_p95_ms' ? ms(Math.abs(change)) : seconds(Math.abs(change))
  return `${change > 0 ? '+' : '-'}${amount}`
}

function value(measure: DiffMeasure, v: number | null): string {
  if (v === null) return NOT_MEASURED
  switch (measure) {
    case 'availability':
    case 'error_rate':
      return pct(v)
    case 'latency_p95_ms':
      return ms(v)
    default:
      return seconds(v)
  }
}

/** MTTR as printed: the time, "never" when it never recovered, else not measured. */
function mttrText(v: number | null, recovered: boolean | null): string {
  if (v !== null) return seconds(v)
  return recovered === false ? 'never' : NOT_MEASURED
}

function mark(c: ChalkInstance, change: string, detail: string): string {
  const why = detail ? ` (${detail})` : ''
  if (change === 'REGRESSED') return c.red(`REGRESSED${why}`)
  if (change === 'IMPROVED') return c.green(`better${why}`)
  return ''
}

function measureLines(e: ExperimentDiff, c: ChalkInstance): string[] {
  const rows: [string, string, string, string][] = []
  for (const measure of ['availability', 'error_rate', 'latency_p95_ms'] as const) {
    const d = e[measure]
    rows.push([
      LABELS[measure]!,
      value(measure, d.then),
      value(measure, d.now),
      mark(c, d.change, delta(measure, d)),
    ])
  }
  // Never recovered is the MTTR line's regression, so one line says it.
  const recoveredChange = e.recovered.change
  const mttrChange =
    recoveredChange === 'REGRESSED' || recoveredChange === 'IMPROVED'
      ? recoveredChange
      : e.mttr_seconds.change
  rows.push([
    'MTTR',
    mttrText(e.mttr_seconds.then, e.recovered.then),
    mttrText(e.mttr_seconds.now, e.recovered.now),
    mark(c, mttrChange, mttrChange === e.mttr_seconds.change ? delta('mttr_seconds', e.mttr_seconds) : ''),
  ])
  const h = e.hypothesis
  rows.push([
    'hypothesis',
    h.then === null ? '-' : HYPOTHESIS_WORDS[h.then],
    h.now === null ? '-' : HYPOTHESIS_WORDS[h.now],
    mark(c, h.change, ''),
  ])
  const thenWidth = Math.max(...rows.map((r) => r[1].length))
  const nowWidth = Math.max(...rows.map((r) => r[2].length))
  return rows.map(([label, then, now, note]) =>
    `  ${label.padEnd(12)} ${then.padEnd(thenWidth)} → ${note ? now.padEnd(nowWidth) + '  ' + note : now}`.trimEnd(),
  )
}

function experimentBlock(e: ExperimentDiff, c: ChalkInstance): string[] {
  if (e.presence === 'ADDED') return [`${c.bold(e.id)}: added (not in the earlier run)`]
  if (e.presence === 'REMOVED') return [`${c.bold(e.id)}: removed (not in the later run)`]
  const states = e.state.then === e.state.now ? '' : `  (${e.state.then} → ${e.state.now})`
  const verdict = e.regressions.length > 0 ? c.red('REGRESSED') : 'no regression'
  return [`${c.bold(e.id)}: ${verdict}${states}`, ...measureLines(e, c)]
}

function summaryLine(diff: RunDiff, c: ChalkInstance): string {
  if (diff.regressions === 0) return 'No regression.'
  const which = diff.experiments.filter((e) => e.regressions.length > 0).map((e) => e.id)
  // Which measures is in each block below; this line names the experiments and fits 80 columns.
  return c.red(
    truncate(
      `${plural(diff.regressions, 'regression')} in ${plural(which.length, 'experiment')}: ${which.join(', ')}`,
      80,
    ),
  )
}

/** The diff as text (no trailing newline). */
export function renderRunDiff(diff: RunDiff, options: DiffTextOptions = { color: false }): string {
  const c = new Chalk({ level: options.color ? 1 : 0 })
  const t = diff.tolerances
  const lines = [runLine('then:', diff.then), runLine('now: ', diff.now), summaryLine(diff, c)]
  for (const e of diff.experiments) lines.push('', ...experimentBlock(e, c))
  if (diff.experiments.length === 0) lines.push('', 'Neither run has experiments.')
  lines.push(
    '',
    'REGRESSED = worse beyond the tolerance (docs/reports.md):',
    `  availability, error rate: by more than ${num(t.ratio_points * 100)} point and ${t.ratio_standard_errors} standard errors`,
    `  p95: by more than ${pct(t.latency_p95_ratio)} and ${ms(t.latency_p95_ms)}; MTTR: by more than ${pct(t.mttr_ratio)} and ${seconds(t.mttr_seconds)}`,
    '  hypothesis: held before and not now; recovery: recovered before and not now',
  )
  return lines.join('\n')
}
