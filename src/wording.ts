/**
 * Number and fault formatting shared by the interpretation rules and the text report, so the
 * analysis lines and the results block always print a value the same way.
 */
import { formatDuration } from './duration.js'
import { FAULT_TABLE, type FaultRow } from './protocol/faults.js'
import type { RecordedFaultConfig } from './record.js'
import { MEASURES, parseCheck, type Check } from './scenario/checks.js'

/** A number with at most `digits` decimals and no trailing zeros: 15, 99.95, 0.5. */
export function num(value: number, digits = 2): string {
  return Number(value.toFixed(digits)).toString()
}

/**
 * A ratio as a percentage: 0.15 → "15%", 0.9995 → "99.95%". Never rounds a value that is not
 * exactly 0 or 1 onto 0 % or 100 %, which would misstate an availability.
 */
export function pct(ratio: number): string {
  const text = num(ratio * 100)
  if (text === '100' && ratio < 1) return '>99.99%'
  if (text === '0' && ratio > 0) return '<0.01%'
  return `${text}%`
}

/** Seconds for people: 45s, 2m 5s, 400ms. */
export function seconds(value: number): string {
  return formatDuration(value * 1000)
}

/** Milliseconds as latency: 12ms, 1.5ms. */
export function ms(value: number): string {
  return `${num(value, value < 10 ? 1 : 0)}ms`
}

/** `n thing` / `n things`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/**
 * One-phrase fault description in the guide's style, e.g. "20% error rate injected: ConnectionError".
 * The wording is the fault table's; only the parameters that are present and valid are passed on.
 */
export function faultSummary(config: RecordedFaultConfig): string {
  const row = FAULT_TABLE[config.fault_type] as FaultRow
  const params = Object.fromEntries(
    Object.entries(row.params).flatMap(([name, schema]) => {
      const value = (config as Record<string, unknown>)[name]
      const parsed = value === undefined ? undefined : schema.safeParse(value)
      return parsed?.success ? [[name, parsed.data]] : []
    }),
  )
  return row.summary(params, { p: pct(config.probability), pct, duration: formatDuration, seconds })
}

/** The parsed check, or undefined if the recorded expression no longer parses (older grammar). */
export function tryParseCheck(expression: string): Check | undefined {
  try {
    return parseCheck(expression)
  } catch {
    return undefined
  }
}

/** A check value in its measure's unit: ratios as %, latencies in ms, MTTR as a duration. */
export function checkValue(check: Check | undefined, value: number): string {
  if (!check || check.measure.kind === 'promql') return num(value, 4)
  switch (MEASURES[check.measure.name]) {
    case 'ratio':
      return pct(value)
    case 'milliseconds':
      return ms(value)
    case 'seconds':
      return seconds(value)
    case 'rate':
      return `${num(value, 1)} rps`
    case 'count':
      return num(value)
  }
}
