/**
 * The monkey's settings from its flags over the config file's `monkey:` section over the
 * defaults (guide section 6: 5 % every 5 minutes). Flag values arrive parsed and checked (src/cli/flags.ts);
 * what needs the catalogue (scenario ids) or several values at once is checked here: a one-line
 * usage error naming the flag or config field and the fix (exit 2).
 */
import { DEFAULT_BUSINESS_HOURS, machineTimeZone } from '../calendar/business-hours.js'
import type { MonkeyFileSettings } from '../config.js'
import { InvalidInputError } from '../errors.js'
import type { BlastRadius } from '../protocol/schemas.js'
import { closest } from '../scenario/document.js'
import { CATEGORIES, type Category } from '../scenario/schema.js'
import { DEFAULT_MAX_BLAST_RADIUS, type EligibilityCriteria } from './eligibility.js'
import type { MonkeySettings } from './monkey.js'
import { randomSeed } from './random.js'

/** The guide's defaults: "5% probability every 5 minutes". */
export const MONKEY_DEFAULTS = { probability: 0.05, intervalMs: 300_000, minGapMs: 0 } as const

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

/** The monkey's flags, as parsed and checked by the shared flags (src/cli/flags.ts). */
export interface MonkeyFlagValues {
  /** Chance of an experiment at each check. */
  chance?: number
  /** Time between checks, ms. */
  every?: number
  'business-hours'?: boolean
  timezone?: string
  categories?: readonly Category[]
  ids?: readonly string[]
  'max-blast-radius'?: BlastRadius
  'allow-entire-system'?: boolean
  /** Least time between two monkey experiments, ms. */
  'min-gap'?: number
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
 * `--ids`); `blastRadiusOverride` is the run's `--blast-radius`, which eligibility must see.
 */
export function resolveMonkeySettings(
  flags: MonkeyFlagValues,
  config: MonkeyFileSettings = {},
  catalogue: {
    scenarioIds: readonly string[]
    /** Categories a selection may name (built-in and the catalogue's); the built-in five when absent. */
    categories?: readonly string[]
    blastRadiusOverride?: BlastRadius
  },
): ResolvedMonkey {
  const probability = flags.chance ?? config.probability ?? MONKEY_DEFAULTS.probability
  const intervalMs = flags.every ?? config.intervalMs ?? MONKEY_DEFAULTS.intervalMs
  const minGapMs = flags['min-gap'] ?? config.minGapMs ?? MONKEY_DEFAULTS.minGapMs
  const configuredHours =
    typeof config.businessHours === 'object' ? config.businessHours : DEFAULT_BUSINESS_HOURS
  const hoursOn =
    flags['business-hours'] ?? (config.businessHours !== undefined && config.businessHours !== false)
  const timezone = flags.timezone ?? config.timezone ?? machineTimeZone()

  const categories = [...(flags.categories ?? config.categories ?? [])]
  // Categories are open: the guide's five plus those of the loaded scenarios.
  requireKnown(
    categories,
    catalogue.categories ?? CATEGORIES,
    'category',
    flags.categories !== undefined ? '--categories' : 'config monkey.categories',
  )
  const scenarioIds = [...(flags.ids ?? config.scenarios ?? [])]
  requireKnown(
    scenarioIds,
    catalogue.scenarioIds,
    'scenario id',
    flags.ids !== undefined ? '--ids' : 'config monkey.scenarios',
  )

  const allowEntireSystem = flags['allow-entire-system'] ?? false
  const maxBlastRadius = flags['max-blast-radius'] ?? config.maxBlastRadius ?? DEFAULT_MAX_BLAST_RADIUS
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
