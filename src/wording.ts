/**
 * Number and fault formatting shared by the interpretation rules and the text report, so the
 * analysis lines and the results block always print a value the same way.
 */
import { formatDuration } from './duration.js'
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

function field<T>(config: RecordedFaultConfig, key: string, type: 'number' | 'string'): T | undefined {
  const value = (config as Record<string, unknown>)[key]
  return typeof value === type ? (value as T) : undefined
}

/** One-phrase fault description in the guide's style, e.g. "20% error rate injected: ConnectionError". */
export function faultSummary(config: RecordedFaultConfig): string {
  const p = pct(config.probability)
  switch (config.fault_type) {
    case 'LATENCY': {
      const latency = field<number>(config, 'latency_ms', 'number')
      const jitter = field<number>(config, 'latency_jitter_ms', 'number')
      const delay = latency === undefined ? 'added' : `${latency}ms${jitter ? ` ± ${jitter}ms` : ''}`
      return `${delay} latency on ${p} of calls`
    }
    case 'EXCEPTION': {
      const cls = field<string>(config, 'exception_class', 'string')
      return `${p} error rate injected${cls ? `: ${cls}` : ''}`
    }
    case 'TIMEOUT': {
      const timeout = field<number>(config, 'timeout_ms', 'number')
      return `${p} timeouts injected${timeout === undefined ? '' : ` after ${formatDuration(timeout)}`}`
    }
    case 'CIRCUIT_BREAK':
      return `${p} circuit-open failures injected`
    case 'RATE_LIMIT': {
      const limit = field<number>(config, 'rate_limit_requests', 'number')
      const window = field<number>(config, 'rate_limit_window_seconds', 'number')
      const what =
        limit === undefined ? 'rate limit' : `rate limit of ${limit} calls per ${seconds(window ?? 1)}`
      return `${what} injected on ${p} of calls`
    }
    case 'RESOURCE_EXHAUSTION': {
      const pressure = (config as Record<string, unknown>).pressure as
        { type?: unknown; heap_fraction?: unknown; block_ms?: unknown } | undefined
      let extra = ''
      if (pressure?.type === 'MEMORY' && typeof pressure.heap_fraction === 'number')
        extra = ` with memory pressure (${pct(pressure.heap_fraction)} of heap)`
      if (pressure?.type === 'CPU' && typeof pressure.block_ms === 'number')
        extra = ` with CPU pressure (${pressure.block_ms}ms per call)`
      return `${p} resource exhaustion injected${extra}`
    }
  }
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
