import { describe, expect, it } from 'vitest'
import {
  CheckSyntaxError,
  MEASURES,
  compare,
  measureLabel,
  parseCheck,
  type Check,
} from '../src/scenario/checks.js'

/** The error a check raises, with the column where the parser found it. */
function syntaxError(expression: string): CheckSyntaxError {
  try {
    parseCheck(expression)
  } catch (err) {
    if (err instanceof CheckSyntaxError) return err
    throw err
  }
  throw new Error(`"${expression}" parsed`)
}

describe('check grammar: measures', () => {
  it.each(Object.keys(MEASURES))('parses the built-in measure %s', (name) => {
    const phase = name === 'mttr_seconds' ? 'after' : 'during'
    const check = parseCheck(`${name} >= 0 ${phase}`)
    expect(check.measure).toEqual({ kind: 'builtin', name })
    expect(measureLabel(check.measure)).toBe(name)
  })

  it('parses a PromQL expression in backticks', () => {
    const check = parseCheck('`sum(rate(http_requests_total{status=~"5.."}[1m]))` < 0.5 during')
    expect(check.measure).toEqual({
      kind: 'promql',
      query: 'sum(rate(http_requests_total{status=~"5.."}[1m]))',
    })
    expect(check.bound).toEqual({ kind: 'absolute', value: 0.5 })
  })
})

describe('check grammar: operators, bounds and units', () => {
  it.each(['<', '<=', '>', '>=', '==', '!='] as const)(
    'parses the operator %s, with or without spaces',
    (op) => {
      expect(parseCheck(`faults_injected ${op} 3 during`).op).toBe(op)
      expect(parseCheck(`faults_injected${op}3 during`).op).toBe(op)
    },
  )

  const absolute: Array<[string, number]> = [
    ['latency_p95_ms < 3s during', 3000],
    ['latency_p95_ms < 500ms during', 500],
    ['latency_p99_ms < 1.5s during', 1500],
    ['latency_p50_ms < 2m during', 120_000],
    ['latency_p50_ms < 250 during', 250],
    ['availability > 95% during', 0.95],
    ['error_rate < 5% during', 0.05],
    ['error_rate < 0.05 during', 0.05],
    ['error_rate < 5 % during', 0.05],
    ['mttr_seconds < 2m after', 120],
    ['mttr_seconds < 30s after', 30],
    ['mttr_seconds < 1500ms after', 1.5],
    ['mttr_seconds < 90 after', 90],
    ['throughput_rps >= 15 during', 15],
    ['circuit_breaker_trips > 0 during', 0],
  ]
  it.each(absolute)('converts %s to the measure unit (%d)', (expression, value) => {
    expect(parseCheck(expression).bound).toEqual({ kind: 'absolute', value })
  })

  it('parses a bound relative to the baseline', () => {
    expect(parseCheck('latency_p95_ms < 2x baseline during').bound).toEqual({ kind: 'baseline', factor: 2 })
    expect(parseCheck('throughput_rps > 0.8 x baseline after').bound).toEqual({
      kind: 'baseline',
      factor: 0.8,
    })
  })

  it.each(['before', 'during', 'after'] as const)('parses the phase %s', (phase) => {
    expect(parseCheck(`error_rate < 1% ${phase}`).phase).toBe(phase)
  })

  it('keeps the trimmed expression text', () => {
    const check: Check = parseCheck('  error_rate < 5% during  ')
    expect(check.expression).toBe('error_rate < 5% during')
  })
})

describe('check grammar: every error has its column and a hint', () => {
  const cases: Array<[expression: string, message: RegExp, column: number]> = [
    ['', /empty check/, 1],
    ['   ', /empty check/, 1],
    ['error_ratio < 5% during', /unknown measure "error_ratio"/, 1],
    ['5 < 3 during', /expected a measure/, 1],
    ['`rate(x[1m]) < 1 during', /unterminated PromQL/, 1],
    ['`  ` < 1 during', /empty PromQL/, 1],
    ['error_rate = 5% during', /expected an operator/, 12],
    ['error_rate 5% during', /expected an operator/, 12],
    ['error_rate < during', /expected a bound/, 14],
    ['error_rate < -1 during', /cannot be negative/, 14],
    ['latency_p95_ms < 0x baseline during', /factor must be positive/, 18],
    ['error_rate < 5 during', /5 is not a ratio/, 14],
    ['error_rate < 3s during', /time unit does not fit a ratio/, 14],
    ['throughput_rps < 3s during', /time unit does not fit a rate/, 18],
    ['latency_p95_ms < 95% during', /percentage does not fit a milliseconds/, 18],
    ['mttr_seconds < 50% after', /percentage does not fit a seconds/, 16],
    ['faults_injected > 5% during', /percentage does not fit a count/, 19],
    ['error_rate < 5%', /missing phase/, 16],
    ['error_rate < 5% durin', /unknown phase "durin"/, 17],
    ['error_rate < 5% during later', /unexpected "later"/, 24],
    ['mttr_seconds < 2m during', /only known after rollback/, 19],
    ['error_rate < 2x baseline before', /before check cannot be relative/, 14],
    ['mttr_seconds < 2x baseline after', /mttr_seconds has no baseline/, 16],
  ]
  it.each(cases)('"%s" → %s at column %d', (expression, message, column) => {
    const err = syntaxError(expression)
    expect(err.message).toMatch(message)
    expect(err.column).toBe(column)
    expect(err.hint.length).toBeGreaterThan(0)
  })
})

describe('compare', () => {
  it('applies each operator', () => {
    expect(compare(1, '<', 2)).toBe(true)
    expect(compare(2, '<', 2)).toBe(false)
    expect(compare(2, '<=', 2)).toBe(true)
    expect(compare(3, '>', 2)).toBe(true)
    expect(compare(2, '>=', 3)).toBe(false)
    expect(compare(2, '==', 2)).toBe(true)
    expect(compare(2, '!=', 2)).toBe(false)
  })
})
