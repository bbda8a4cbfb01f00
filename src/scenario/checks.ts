/**
 * Steady-state checks: the grammar that makes a guide hypothesis measurable.
 *
 *   check   = measure op bound phase
 *   measure = availability | error_rate | latency_p50_ms | latency_p95_ms | latency_p99_ms
 *           | throughput_rps | circuit_breaker_trips | faults_injected | mttr_seconds
 *           | collateral_error_rate          (the error rate of the traffic that is not the runner's)
 *           | `PromQL expression`            (in backticks; evaluated with --prometheus)
 *   op      = < | <= | > | >= | == | !=
 *   bound   = NUMBER [ms | s | m | %]        (absolute, converted to the measure's unit)
 *           | NUMBER x baseline              (relative to the value measured before injection)
 *   phase   = before | during | after        (after = after rollback, during recovery)
 *
 * Examples: `latency_p95_ms < 2x baseline during`, `error_rate < 5% during`,
 * `circuit_breaker_trips > 0 during`, `mttr_seconds < 2m after`.
 * Parsing happens when a scenario loads, so a bad check is an input error, never a run-time surprise.
 */

export const CHECK_PHASES = ['before', 'during', 'after'] as const
export type CheckPhase = (typeof CHECK_PHASES)[number]

export const CHECK_OPERATORS = ['<=', '>=', '==', '!=', '<', '>'] as const
export type CheckOperator = (typeof CHECK_OPERATORS)[number]

/** What a measure's numbers mean, which decides the units its bound may use. */
type MeasureKind = 'ratio' | 'milliseconds' | 'seconds' | 'rate' | 'count'

/** The built-in measures and their kinds. */
export const MEASURES = {
  availability: 'ratio',
  error_rate: 'ratio',
  latency_p50_ms: 'milliseconds',
  latency_p95_ms: 'milliseconds',
  latency_p99_ms: 'milliseconds',
  throughput_rps: 'rate',
  circuit_breaker_trips: 'count',
  faults_injected: 'count',
  mttr_seconds: 'seconds',
  collateral_error_rate: 'ratio',
} as const satisfies Record<string, MeasureKind>
export type MeasureName = keyof typeof MEASURES

export type Measure = { kind: 'builtin'; name: MeasureName } | { kind: 'promql'; query: string }
export type Bound = { kind: 'absolute'; value: number } | { kind: 'baseline'; factor: number }

/** A parsed check. `bound.value` is in the measure's own unit (ratio 0..1, ms, seconds, ...). */
export interface Check {
  expression: string
  measure: Measure
  op: CheckOperator
  bound: Bound
  phase: CheckPhase
}

/** A parse failure with the 1-based column inside the expression where it was found. */
export class CheckSyntaxError extends Error {
  constructor(
    message: string,
    readonly column: number,
    readonly hint: string,
  ) {
    super(message)
  }
}

const TIME_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 }

function convert(value: number, unit: string | undefined, kind: MeasureKind, col: number): number {
  if (unit === undefined) {
    // A bare number on a ratio may be written 0.05 or, sloppily, 5 meaning 5 %: only the former is allowed.
    if (kind === 'ratio' && value > 1) {
      throw new CheckSyntaxError(
        `${value} is not a ratio`,
        col,
        'write a ratio between 0 and 1 (0.05) or a percentage (5%)',
      )
    }
    return value
  }
  if (unit === '%') {
    if (kind !== 'ratio' && kind !== 'count' && kind !== 'rate') {
      throw new CheckSyntaxError(
        `a percentage does not fit a ${kind} measure`,
        col,
        'use a time unit: 500ms, 3s',
      )
    }
    if (kind !== 'ratio')
      throw new CheckSyntaxError(`a percentage does not fit a ${kind} measure`, col, 'use a plain number')
    return value / 100
  }
  const factor = TIME_UNITS_MS[unit]
  if (factor === undefined) throw new CheckSyntaxError(`unknown unit "${unit}"`, col, 'units: ms, s, m, %')
  if (kind === 'milliseconds') return value * factor
  if (kind === 'seconds') return (value * factor) / 1000
  throw new CheckSyntaxError(
    `a time unit does not fit a ${kind} measure`,
    col,
    kind === 'ratio' ? 'use a ratio (0.05) or a percentage (5%)' : 'use a plain number',
  )
}

/** Parses one check expression; throws {@link CheckSyntaxError} with a column and a hint. */
export function parseCheck(expression: string): Check {
  let pos = 0
  const text = expression
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++
  }
  skipSpace()
  if (pos >= text.length) {
    throw new CheckSyntaxError(
      'empty check',
      1,
      'write: <measure> <op> <bound> <phase>, e.g. error_rate < 5% during',
    )
  }

  let measure: Measure
  let kind: MeasureKind
  const measureCol = pos + 1
  if (text[pos] === '`') {
    const end = text.indexOf('`', pos + 1)
    if (end < 0)
      throw new CheckSyntaxError(
        'unterminated PromQL expression',
        measureCol,
        'close the backtick: `rate(x[1m])` < 0.05 during',
      )
    const query = text.slice(pos + 1, end).trim()
    if (!query)
      throw new CheckSyntaxError(
        'empty PromQL expression',
        measureCol,
        'put a PromQL expression between the backticks',
      )
    measure = { kind: 'promql', query }
    kind = 'rate'
    pos = end + 1
  } else {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(pos))
    if (!m)
      throw new CheckSyntaxError(
        `expected a measure at "${text.slice(pos, pos + 10)}"`,
        measureCol,
        `measures: ${Object.keys(MEASURES).join(', ')}`,
      )
    const name = m[0]
    if (!(name in MEASURES)) {
      throw new CheckSyntaxError(
        `unknown measure "${name}"`,
        measureCol,
        `use one of ${Object.keys(MEASURES).join(', ')}, or a PromQL expression in backticks`,
      )
    }
    measure = { kind: 'builtin', name: name as MeasureName }
    kind = MEASURES[name as MeasureName]
    pos += name.length
  }

  skipSpace()
  const opCol = pos + 1
  const op = CHECK_OPERATORS.find((o) => text.startsWith(o, pos))
  if (!op)
    throw new CheckSyntaxError(
      `expected an operator at "${text.slice(pos, pos + 10)}"`,
      opCol,
      'operators: < <= > >= == !=',
    )
  pos += op.length

  skipSpace()
  const boundCol = pos + 1
  const bm = /^(-?\d+(?:\.\d+)?)\s*(x\s+baseline\b|ms\b|s\b|m\b|%)?/.exec(text.slice(pos))
  if (!bm || bm[0].length === 0) {
    throw new CheckSyntaxError(
      `expected a bound at "${text.slice(pos, pos + 10)}"`,
      boundCol,
      'bounds: 3s, 500ms, 95%, 0.05, 2x baseline',
    )
  }
  const value = Number(bm[1])
  const unit = bm[2]
  let bound: Bound
  if (unit?.startsWith('x')) {
    if (value <= 0)
      throw new CheckSyntaxError('a baseline factor must be positive', boundCol, 'e.g. 2x baseline')
    bound = { kind: 'baseline', factor: value }
  } else {
    if (value < 0) throw new CheckSyntaxError('a bound cannot be negative', boundCol, 'use 0 or more')
    bound = { kind: 'absolute', value: convert(value, unit, kind, boundCol) }
  }
  pos += bm[0].length

  skipSpace()
  const phaseCol = pos + 1
  const pm = /^[a-z]+/.exec(text.slice(pos))
  const phase = pm?.[0] as CheckPhase | undefined
  if (!phase || !CHECK_PHASES.includes(phase)) {
    throw new CheckSyntaxError(
      pm ? `unknown phase "${pm[0]}"` : 'missing phase',
      phaseCol,
      'end the check with when it applies: before, during or after',
    )
  }
  pos += phase.length
  skipSpace()
  if (pos < text.length)
    throw new CheckSyntaxError(`unexpected "${text.slice(pos)}"`, pos + 1, 'a check ends with its phase')

  if (measure.kind === 'builtin' && measure.name === 'mttr_seconds' && phase !== 'after') {
    throw new CheckSyntaxError(
      'mttr_seconds is only known after rollback',
      phaseCol,
      'use: mttr_seconds < 2m after',
    )
  }
  if (bound.kind === 'baseline' && phase === 'before') {
    throw new CheckSyntaxError(
      'a before check cannot be relative to the baseline it measures',
      boundCol,
      'use an absolute bound',
    )
  }
  if (bound.kind === 'baseline' && measure.kind === 'builtin' && measure.name === 'mttr_seconds') {
    throw new CheckSyntaxError('mttr_seconds has no baseline', boundCol, 'use an absolute bound: 2m')
  }
  return { expression: expression.trim(), measure, op, bound, phase }
}

/** Compares an actual value with a resolved bound. */
export function compare(actual: number, op: CheckOperator, expected: number): boolean {
  switch (op) {
    case '<':
      return actual < expected
    case '<=':
      return actual <= expected
    case '>':
      return actual > expected
    case '>=':
      return actual >= expected
    case '==':
      return actual === expected
    case '!=':
      return actual !== expected
  }
}

/** Human name of a check's measure: the built-in name or the PromQL query. */
export function measureLabel(measure: Measure): string {
  return measure.kind === 'builtin' ? measure.name : measure.query
}
