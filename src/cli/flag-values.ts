/**
 * The value grammar of the shared flags (src/cli/flags.ts): one parser per kind of value, each
 * throwing a one-line {@link InvalidInputError} (exit 2) that names the flag and says the fix.
 * Kept apart from the flag definitions because it needs the scenario and protocol schemas (zod):
 * flags.ts loads this module only when a flag of that kind is actually given.
 */
import { parseDurationMs } from '../duration.js'
import { InvalidInputError } from '../errors.js'
import { CONTROL_PREFIX_PATTERN } from '../config.js'
import { BLAST_RADII, MAX_EXPERIMENT_SECONDS, type BlastRadius } from '../protocol/schemas.js'
import { closest } from '../scenario/document.js'
import {
  CATEGORIES,
  CATEGORY_PATTERN,
  RESERVED_CATEGORY_NAMES,
  isBuiltinCategory,
} from '../scenario/categories.js'
import type { Category } from '../scenario/schema.js'
import { requireTimeZone } from '../calendar/business-hours.js'
import type { DiscoverSpec } from '../discovery/spec.js'

export { parseDiscoverSpec, parseDnsServer, parseInstanceUrl, parseMaxParallel } from '../discovery/spec.js'

/** The override flags' values, as parsed by oclif. */
export interface OverrideFlagValues {
  duration?: number
  probability?: number
  'blast-radius'?: BlastRadius
  rate?: number
  baseline?: number
  interval?: number
  pause?: number
  'recovery-timeout'?: number
  'allow-entire-system'?: boolean
  /** `--quick` (run, gameday): the short profile of src/plan.ts, under any explicit flag. */
  quick?: boolean
}

import { formatEvery } from '../unattended/schedule.js'

/** Limits of a duration flag. */
export interface DurationLimits {
  /** Accept 0 (a pause, a gap); otherwise the duration must be positive. */
  allowZero?: boolean
  /** Longest accepted value, in milliseconds. */
  maxMs?: number
  /** The hint when the value is above `maxMs`. */
  maxHint?: string
}

/** The longest metrics poll interval: safety limits are judged once per poll. */
export const MAX_POLL_INTERVAL_MS = 60_000

/** `500ms`, `10s`, `2m`, `1h` or a bare number of seconds → milliseconds. */
export function parseDuration(text: string, flag: string, limits: DurationLimits = {}): number {
  const ms = parseDurationMs(text)
  if (ms === undefined || (!limits.allowZero && ms === 0)) {
    throw new InvalidInputError(
      `${flag}: "${text}" is not a ${limits.allowZero ? '' : 'positive '}duration`,
      'use a number with a unit: 500ms, 10s, 2m, 1h (a bare number is seconds)',
    )
  }
  if (limits.maxMs !== undefined && ms > limits.maxMs) {
    throw new InvalidInputError(
      `${flag}: ${text.trim()} is longer than ${describeMs(limits.maxMs)}`,
      limits.maxHint ?? `at most ${describeMs(limits.maxMs)}`,
    )
  }
  return ms
}

function describeMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hour${ms === 3_600_000 ? '' : 's'}`
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`
  return `${ms / 1000} seconds`
}

/** An experiment's duration: positive and at most 30 minutes (guide section 7). */
export function parseExperimentDuration(text: string, flag: string): number {
  return parseDuration(text, flag, {
    maxMs: MAX_EXPERIMENT_SECONDS * 1000,
    maxHint: 'experiments last 30 minutes at most (guide section 7)',
  })
}

/**
 * The agent's lease: positive and at most 30 minutes, the control protocol's cap
 * (`lease_seconds` ≤ MAX_EXPERIMENT_SECONDS), so a too-long lease is refused here, not by the target.
 */
export function parseLease(text: string, flag: string): number {
  return parseDuration(text, flag, {
    maxMs: MAX_EXPERIMENT_SECONDS * 1000,
    maxHint: 'control protocol v1 caps a lease at 30 minutes; the runner renews it every lease/3',
  })
}

/** The metrics poll interval during an experiment: positive and at most a minute. */
export function parsePollInterval(text: string, flag: string): number {
  return parseDuration(text, flag, {
    maxMs: MAX_POLL_INTERVAL_MS,
    // An old `chaos monkey --interval 300` (then: time between checks) lands here.
    maxHint:
      "the metrics poll interval is at most 1m (safety limits are judged once per poll); the monkey's time between checks is --every",
  })
}

/** `0.3` or `30%` → 0.3. */
export function parseProbability(text: string, flag: string): number {
  const t = text.trim()
  const value = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t)
  if (t === '' || t === '%' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidInputError(
      `${flag}: "${text}" is not a probability`,
      'use a number between 0 and 1 (0.3) or a percentage (30%)',
    )
  }
  return value
}

/** `single-service` or `SINGLE_SERVICE` → SINGLE_SERVICE, with a did-you-mean on a typo. */
export function parseBlastRadius(text: string, flag: string): BlastRadius {
  const value = text.trim().toUpperCase().replace(/-/g, '_')
  if (!(BLAST_RADII as readonly string[]).includes(value)) {
    const guess = closest(value, BLAST_RADII)
    throw new InvalidInputError(
      `${flag}: "${text}" is not a blast radius`,
      `${guess ? `did you mean ${guess}? ` : ''}one of ${BLAST_RADII.join(', ')}`,
    )
  }
  return value as BlastRadius
}

/** Words of a list flag: separated by commas and/or spaces, empty items dropped. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((w) => w.trim())
    .filter(Boolean)
}

/**
 * `network,pms`, `"network pms"`, `PMS, payments` → ['network', 'pms', 'payments']: the built-in
 * categories in the guide's order, then the others as given, duplicates dropped. Categories are
 * open, so any well-formed name passes here; the catalogue, once loaded, decides whether it is
 * known. A malformed word close to a built-in one gets a did-you-mean.
 */
export function parseCategories(text: string, flag: string): Category[] {
  const words = [...new Set(splitList(text).map((w) => w.toLowerCase()))]
  if (words.length === 0)
    throw new InvalidInputError(`${flag}: no category given`, `one or more of ${CATEGORIES.join(', ')}`)
  for (const word of words) {
    if (!CATEGORY_PATTERN.test(word) || RESERVED_CATEGORY_NAMES.includes(word)) {
      const guess = closest(word.replace(/[^a-z0-9_]/g, ''), CATEGORIES)
      throw new InvalidInputError(
        `${flag}: "${word}" is not a category`,
        `${guess ? `did you mean ${guess}? ` : ''}categories: ${CATEGORIES.join(', ')} or your own (comma- or space-separated)`,
      )
    }
  }
  return [...CATEGORIES.filter((c) => words.includes(c)), ...words.filter((w) => !isBuiltinCategory(w))]
}

/** A list of scenario ids (checked against the catalogue later, when it is loaded). */
export function parseIdList(text: string, flag: string): string[] {
  const ids = splitList(text)
  if (ids.length === 0)
    throw new InvalidInputError(`${flag}: no scenario id given`, 'e.g. network_latency,pms_api_failure')
  return [...new Set(ids)]
}

/** Workload requests per second: a positive number up to 100 000. */
export function parseRate(text: string, flag: string): number {
  const rate = Number(text.trim())
  if (text.trim() === '' || !Number.isFinite(rate) || rate <= 0 || rate > 100_000) {
    throw new InvalidInputError(`${flag}: "${text}" is not a request rate`, 'requests per second, e.g. 20')
  }
  return rate
}

/** An http(s) base URL of a target instance. */
export function parseTargetUrl(text: string, flag: string): string {
  const url = text.trim()
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    throw new InvalidInputError(
      `${flag}: "${text}" is not an http(s) URL`,
      `e.g. ${flag} http://127.0.0.1:8080`,
    )
  }
  return url
}

/** A metrics URL: http(s) with any path (`--metrics-url http://svc:9464/metrics`). */
export function parseMetricsUrl(text: string, flag: string): string {
  const url = text.trim()
  if (!/^https?:\/\/[^\s/]+\S*$/.test(url)) {
    throw new InvalidInputError(
      `${flag}: "${text}" is not an http(s) URL`,
      'e.g. --metrics-url http://127.0.0.1:9464/metrics',
    )
  }
  return url
}

/** Path prefix of a control endpoint: `/chaos`, `/ops/chaos`; a trailing slash is dropped. */
export function parseControlPrefix(text: string, flag: string): string {
  const prefix = text.trim().replace(/\/+$/, '')
  if (!CONTROL_PREFIX_PATTERN.test(prefix)) {
    throw new InvalidInputError(
      `${flag}: "${text}" is not a URL path prefix`,
      'a path starting with /, e.g. --control-prefix /chaos (the default) or /internal/chaos',
    )
  }
  return prefix
}

/** An IANA time zone name (Europe/Madrid, UTC). */
export function parseTimeZone(text: string, flag: string): string {
  return requireTimeZone(text.trim(), flag)
}

/**
 * The override, target and catalogue flags as `chaos run` arguments that parse back to the same
 * values (the crontab of `chaos schedule`), relative paths resolved by `resolvePath`. Never the
 * token: it would sit in plain text.
 */
export function runArgs(
  flags: OverrideFlagValues & {
    config?: string
    target?: string[]
    'metrics-url'?: string[]
    'control-prefix'?: string
    'workload-url'?: string
    prometheus?: string
    discover?: DiscoverSpec[]
    'instance-url'?: string
    'dns-server'?: string[]
    'max-parallel'?: number
    pushgateway?: string
    scenarios?: string[]
    builtin?: boolean
    'allow-production'?: boolean
  },
  resolvePath: (path: string) => string,
): string[] {
  const args: string[] = []
  if (flags.config) args.push('--config', resolvePath(flags.config))
  for (const t of flags.target ?? []) args.push('--target', t)
  for (const m of flags['metrics-url'] ?? []) args.push('--metrics-url', m)
  if (flags['control-prefix'] !== undefined) args.push('--control-prefix', flags['control-prefix'])
  if (flags['workload-url'] !== undefined) args.push('--workload-url', flags['workload-url'])
  for (const dir of flags.scenarios ?? []) args.push('--scenarios', resolvePath(dir))
  if (flags.builtin === false) args.push('--no-builtin')
  if (flags.builtin === true) args.push('--builtin')
  if (flags.prometheus !== undefined) args.push('--prometheus', flags.prometheus)
  for (const spec of flags.discover ?? []) args.push('--discover', spec.text)
  if (flags['instance-url'] !== undefined) args.push('--instance-url', flags['instance-url'])
  for (const server of flags['dns-server'] ?? []) args.push('--dns-server', server)
  if (flags['max-parallel'] !== undefined) args.push('--max-parallel', String(flags['max-parallel']))
  if (flags.pushgateway !== undefined) args.push('--pushgateway', flags.pushgateway)
  for (const name of ['duration', 'baseline', 'interval', 'pause', 'recovery-timeout'] as const) {
    const ms = flags[name]
    if (ms !== undefined) args.push(`--${name}`, formatEvery(ms))
  }
  if (flags.probability !== undefined) args.push('--probability', String(flags.probability))
  if (flags['blast-radius'] !== undefined) args.push('--blast-radius', flags['blast-radius'])
  if (flags.rate !== undefined) args.push('--rate', String(flags.rate))
  if (flags['allow-entire-system']) args.push('--allow-entire-system')
  if (flags['allow-production']) args.push('--allow-production')
  return args
}
