/**
 * The monkey's settings from its flags over the config file's `monkey:` section over the
 * defaults (guide section 6: 5 % every 5 minutes). Every bad value is a one-line usage error
 * naming the flag or config field and the fix (exit 2).
 */
import { DEFAULT_BUSINESS_HOURS, machineTimeZone, requireTimeZone } from '../calendar/business-hours.js'
import type { MonkeyFileSettings } from '../config.js'
import { parseDurationMs } from '../duration.js'
import { InvalidInputError } from '../errors.js'
import { BLAST_RADII, type BlastRadius } from '../protocol/schemas.js'
import { closest } from '../scenario/document.js'
import { CATEGORIES } from '../scenario/schema.js'
import { DEFAULT_MAX_BLAST_RADIUS, type EligibilityCriteria } from './eligibility.js'
import type { MonkeySettings } from './monkey.js'
import { randomSeed } from './random.js'

/** The guide's defaults: "5% probability every 5 minutes". */
export const MONKEY_DEFAULTS = { probability: 0.05, intervalMs: 300_000, minGapMs: 0 } as const

/** `0.05` or `5%` → 0.05; throws naming `flag` otherwise. */
export function parseProbability(text: string, flag: string): number {
  const t = text.trim()
  const value = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t)
  if (t === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidInputError(
      `${flag}: "${text}" is not a probability`,
      'use a number between 0 and 1 (0.05) or a percentage (5%)',
    )
  }
  return value
}

function flagDuration(text: string, flag: string, allowZero: boolean): number {
  const ms = parseDurationMs(text)
  if (ms === undefined || (!allowZero && ms === 0)) {
    throw new InvalidInputError(
      `${flag}: "${text}" is not a ${allowZero ? '' : 'positive '}duration`,
      'a bare number is seconds (300), or use a unit: 30s, 5m, 1h',
    )
  }
  return ms
}

/** `network, pms` → ['network', 'pms'] (empty items dropped). */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
}

function requireKnown(
  values: readonly string[],
  known: readonly string[],
  what: string,
  source: string,
): void {
  for (const value of values) {
    if (known.includes(value)) continue
    const guess = closest(value, known)
    throw new InvalidInputError(
      `${source}: unknown ${what} "${value}"`,
      guess ? `did you mean ${guess}?` : `see \`chaos list\` for the ${what}s`,
    )
  }
}

export function parseBlastRadius(text: string, source: string): BlastRadius {
  const value = text.toUpperCase().replace(/-/g, '_')
  if (!(BLAST_RADII as readonly string[]).includes(value)) {
    const guess = closest(value, BLAST_RADII)
    throw new InvalidInputError(
      `${source}: "${text}" is not a blast radius`,
      `${guess ? `did you mean ${guess}? ` : ''}one of ${BLAST_RADII.join(', ')}`,
    )
  }
  return value as BlastRadius
}

/** The monkey's flags as parsed by oclif (strings are validated here). */
export interface MonkeyFlagValues {
  probability?: string
  interval?: string
  'business-hours'?: boolean
  timezone?: string
  categories?: string
  scenarios?: string
  'max-blast-radius'?: string
  'allow-entire-system'?: boolean
  'min-gap'?: string
  'max-experiments'?: number
  once?: boolean
  seed?: number
  'dry-run'?: boolean
}

export interface ResolvedMonkey {
  settings: MonkeySettings
  criteria: EligibilityCriteria
  seed: number
}

/**
 * Merges flags over config over defaults. `scenarioIds` are the catalogue's ids (to check
 * `--scenarios`); `blastRadiusOverride` is the run's `--blast-radius`, which eligibility must see.
 */
export function resolveMonkeySettings(
  flags: MonkeyFlagValues,
  config: MonkeyFileSettings = {},
  catalogue: { scenarioIds: readonly string[]; blastRadiusOverride?: BlastRadius },
): ResolvedMonkey {
  const probability =
    flags.probability !== undefined
      ? parseProbability(flags.probability, '--probability')
      : (config.probability ?? MONKEY_DEFAULTS.probability)
  const intervalMs =
    flags.interval !== undefined
      ? flagDuration(flags.interval, '--interval', false)
      : (config.intervalMs ?? MONKEY_DEFAULTS.intervalMs)
  const minGapMs =
    flags['min-gap'] !== undefined
      ? flagDuration(flags['min-gap'], '--min-gap', true)
      : (config.minGapMs ?? MONKEY_DEFAULTS.minGapMs)
  const configuredHours =
    typeof config.businessHours === 'object' ? config.businessHours : DEFAULT_BUSINESS_HOURS
  const hoursOn =
    flags['business-hours'] ?? (config.businessHours !== undefined && config.businessHours !== false)
  const timezone =
    flags.timezone !== undefined ? requireTimeZone(flags.timezone) : (config.timezone ?? machineTimeZone())

  const categories = flags.categories !== undefined ? parseList(flags.categories) : (config.categories ?? [])
  requireKnown(
    categories,
    CATEGORIES,
    'category',
    flags.categories !== undefined ? '--categories' : 'config monkey.categories',
  )
  const scenarioIds = flags.scenarios !== undefined ? parseList(flags.scenarios) : (config.scenarios ?? [])
  requireKnown(
    scenarioIds,
    catalogue.scenarioIds,
    'scenario id',
    flags.scenarios !== undefined ? '--scenarios' : 'config monkey.scenarios',
  )

  const allowEntireSystem = flags['allow-entire-system'] ?? false
  const maxBlastRadius =
    flags['max-blast-radius'] !== undefined
      ? parseBlastRadius(flags['max-blast-radius'], '--max-blast-radius')
      : (config.maxBlastRadius ?? DEFAULT_MAX_BLAST_RADIUS)
  if (maxBlastRadius === 'ENTIRE_SYSTEM' && !allowEntireSystem) {
    throw new InvalidInputError(
      'a blast radius limit of ENTIRE_SYSTEM needs --allow-entire-system',
      'the monkey never injects ENTIRE_SYSTEM faults unless explicitly allowed (guide section 7: phase 5 only)',
    )
  }
  return {
    settings: {
      probability,
      intervalMs,
      businessHours: hoursOn ? configuredHours : null,
      timezone,
      minGapMs,
      maxExperiments: flags['max-experiments'] ?? null,
      once: flags.once ?? false,
      dryRun: flags['dry-run'] ?? false,
    },
    criteria: {
      categories,
      scenarioIds,
      maxBlastRadius,
      allowEntireSystem,
      ...(catalogue.blastRadiusOverride && { blastRadiusOverride: catalogue.blastRadiusOverride }),
    },
    seed: flags.seed ?? randomSeed(),
  }
}
