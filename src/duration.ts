import { InvalidInputError } from './errors.js'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/

/**
 * Parses a duration such as `500ms`, `10s`, `2m`, `1h` or a bare number (taken in `defaultUnit`).
 * Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDurationMs(text: string, defaultUnit: 'ms' | 's' = 's'): number | undefined {
  const m = DURATION_RE.exec(text.trim())
  if (!m) return undefined
  const value = Number(m[1])
  const unit = m[2] ?? defaultUnit
  return value * (UNIT_MS[unit] ?? 1)
}

/** Like {@link parseDurationMs} but throws a one-line usage error naming the flag. */
export function requireDurationMs(text: string, what: string, defaultUnit: 'ms' | 's' = 's'): number {
  const ms = parseDurationMs(text, defaultUnit)
  if (ms === undefined) {
    throw new InvalidInputError(
      `${what}: "${text}" is not a duration`,
      'use a number with a unit: 500ms, 10s, 2m, 1h',
    )
  }
  return ms
}

/** Formats milliseconds for people: `850ms`, `12s`, `2m 30s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const totalSeconds = Math.round(ms / 1000)
  if (totalSeconds < 60) return `${totalSeconds}s`
  const minutes = Math.floor(totalSeconds / 60)
  const seconds = totalSeconds % 60
  return seconds === 0 ? `${minutes}m` : `${minutes}m ${seconds}s`
}
