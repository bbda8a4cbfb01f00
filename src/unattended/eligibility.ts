/**
 * Which scenarios the monkey may pick: in scope (chosen categories or ids), enabled, and with a
 * blast radius no wider than the limit, where ENTIRE_SYSTEM is never eligible unless explicitly
 * allowed. The min-gap rule (time since the previous monkey experiment) is the other gate.
 */
import { BLAST_RADII, type BlastRadius } from '../protocol/schemas.js'
import type { Scenario } from '../scenario/schema.js'

/** The monkey's default blast radius limit (guide section 7: start small). */
export const DEFAULT_MAX_BLAST_RADIUS: BlastRadius = 'SINGLE_SERVICE'

/** Position in SINGLE_REQUEST < SINGLE_SERVICE < SERVICE_CLUSTER < ENTIRE_SYSTEM. */
export function blastRadiusRank(radius: BlastRadius): number {
  return BLAST_RADII.indexOf(radius)
}

export interface EligibilityCriteria {
  /** Categories in scope; empty means "no category restriction" (unless ids are given). */
  categories: readonly string[]
  /** Scenario ids in scope; a scenario is in scope when its category OR its id is chosen. */
  scenarioIds: readonly string[]
  maxBlastRadius: BlastRadius
  /** ENTIRE_SYSTEM is eligible only with this (and a limit of ENTIRE_SYSTEM). */
  allowEntireSystem: boolean
  /** The run's `--blast-radius` override: the radius the experiment will really have. */
  blastRadiusOverride?: BlastRadius
}

export interface Exclusion {
  id: string
  reason: string
}

export interface Eligibility {
  eligible: Scenario[]
  /** In-scope scenarios left out, with the reason (shown in the banner). */
  excluded: Exclusion[]
}

/** The blast radius a scenario will run with (the override wins, as in `chaos run`). */
export function effectiveBlastRadius(scenario: Scenario, override?: BlastRadius): BlastRadius {
  return override ?? scenario.fault_config.blast_radius
}

/** Splits the catalogue into eligible scenarios and in-scope exclusions (out-of-scope ones are dropped). */
export function selectEligible(scenarios: readonly Scenario[], criteria: EligibilityCriteria): Eligibility {
  const scoped = criteria.categories.length > 0 || criteria.scenarioIds.length > 0
  const eligible: Scenario[] = []
  const excluded: Exclusion[] = []
  for (const scenario of scenarios) {
    const inScope =
      !scoped || criteria.categories.includes(scenario.category) || criteria.scenarioIds.includes(scenario.id)
    if (!inScope) continue
    const reason = exclusionReason(scenario, criteria)
    if (reason) excluded.push({ id: scenario.id, reason })
    else eligible.push(scenario)
  }
  return { eligible, excluded }
}

function exclusionReason(scenario: Scenario, criteria: EligibilityCriteria): string | undefined {
  if (!scenario.fault_config.enabled) return 'disabled (fault_config.enabled: false)'
  const radius = effectiveBlastRadius(scenario, criteria.blastRadiusOverride)
  if (radius === 'ENTIRE_SYSTEM' && !criteria.allowEntireSystem) {
    return 'blast radius ENTIRE_SYSTEM (needs --allow-entire-system and --max-blast-radius ENTIRE_SYSTEM)'
  }
  if (blastRadiusRank(radius) > blastRadiusRank(criteria.maxBlastRadius)) {
    return `blast radius ${radius} is above the limit ${criteria.maxBlastRadius}`
  }
  return undefined
}

/**
 * Milliseconds still to wait before the next monkey experiment may start (0 when allowed): the
 * gap is measured from the start of the previous monkey experiment, as Netflix Chaos Monkey
 * measures its minimum time between terminations.
 */
export function gapRemainingMs(
  lastExperimentAtMs: number | undefined,
  nowMs: number,
  minGapMs: number,
): number {
  if (lastExperimentAtMs === undefined || minGapMs <= 0) return 0
  // A clock that went backwards (NTP step) must not open the gate early: count from the later time.
  const elapsed = Math.max(0, nowMs - lastExperimentAtMs)
  return Math.max(0, minGapMs - elapsed)
}
