/**
 * The chaos monkey (guide sections 2 and 6): every check interval it flips a coin and, on heads,
 * runs one randomly chosen eligible experiment. The loop is pure orchestration over injected
 * parts (clock, randomness, state file, the experiment runner), so every rule is testable with a
 * fake clock and a seed; the command wires it to the real engine.
 */
import {
  describeBusinessHours,
  isBusinessHours,
  localTime,
  type BusinessHours,
} from '../calendar/business-hours.js'
import { sleep, type Clock } from '../clock.js'
import { formatDuration } from '../duration.js'
import type { Scenario } from '../scenario/schema.js'
import { gapRemainingMs } from './eligibility.js'
import type { MonkeyMetrics } from './metrics.js'
import { flipCoin, pickOne, type Random } from './random.js'
import type { MonkeyState } from './state.js'

/** The monkey's settings after flags and config are merged and validated. */
export interface MonkeySettings {
  /** Chance of heads per check, 0..1. */
  probability: number
  intervalMs: number
  /** Only inject inside these hours (in `timezone`); null = any time. */
  businessHours: BusinessHours | null
  timezone: string
  minGapMs: number
  /** Stop after this many experiments (dry-run ones count too); null = no limit. */
  maxExperiments: number | null
  once: boolean
  dryRun: boolean
}

/** What one check decided. */
export type CheckDecision =
  | { kind: 'OUTSIDE_BUSINESS_HOURS'; local: string }
  | { kind: 'MIN_GAP'; remainingMs: number }
  | { kind: 'TAILS'; roll: number }
  | { kind: 'HEADS'; roll: number; scenario: Scenario }

/**
 * One check: business hours first, then the min-gap, then the coin, then the pick. Randomness is
 * consumed only by the coin and the pick, so a seed replays the same choices for the same gates.
 */
export function decideCheck(input: {
  nowMs: number
  settings: Pick<MonkeySettings, 'probability' | 'businessHours' | 'timezone' | 'minGapMs'>
  pool: readonly Scenario[]
  lastExperimentAtMs: number | undefined
  random: Random
}): CheckDecision {
  const { nowMs, settings } = input
  if (settings.businessHours && !isBusinessHours(nowMs, settings.businessHours, settings.timezone)) {
    return { kind: 'OUTSIDE_BUSINESS_HOURS', local: localTime(nowMs, settings.timezone).text }
  }
  const remainingMs = gapRemainingMs(input.lastExperimentAtMs, nowMs, settings.minGapMs)
  if (remainingMs > 0) return { kind: 'MIN_GAP', remainingMs }
  const { heads, roll } = flipCoin(input.random, settings.probability)
  if (!heads) return { kind: 'TAILS', roll }
  const scenario = pickOne(input.random, input.pool)
  if (!scenario) throw new Error('the monkey has no eligible scenario to pick')
  return { kind: 'HEADS', roll, scenario }
}

/** What running one experiment produced (a run report was written). */
export interface MonkeyRunResult {
  outcome: string
  exitCode: number
  runId: string
  report: string
}

/** One experiment the monkey started (or, in dry-run, would have started). */
export interface MonkeyExperimentEntry {
  scenario: string
  category: string
  blast_radius: string
  started_at: string
  /** PASSED, FAILED, INCONCLUSIVE, ABORTED, INTERRUPTED, ERROR (the run's outcome), DRY_RUN, or NOT_STARTED. */
  outcome: string
  exit_code: number | null
  run_id: string | null
  report: string | null
  error: string | null
}

export type StopReason = 'ONCE' | 'MAX_EXPERIMENTS' | 'SIGNAL'

/** The session as the loop saw it (the command adds target and settings to the summary). */
export interface MonkeySessionResult {
  started_at: string
  finished_at: string
  stopped_by: StopReason
  checks: number
  skipped: { outside_business_hours: number; min_gap: number; tails: number }
  experiments: MonkeyExperimentEntry[]
  outcomes: Record<string, number>
  /** True when a signal interrupted a running experiment (exit 130). */
  interrupted: boolean
}

export interface MonkeyDeps {
  clock: Clock
  random: Random
  signal: AbortSignal
  /** Eligible scenarios (already filtered; never empty). */
  pool: readonly Scenario[]
  state: {
    read(): Promise<MonkeyState | undefined>
    write(state: MonkeyState): Promise<void>
    restore(previous: MonkeyState | undefined): Promise<void>
  }
  /** Runs one experiment through the engine; throws when it could not start (e.g. the run lock is held). */
  run(scenario: Scenario): Promise<MonkeyRunResult>
  /** One human line per check and per experiment. */
  log(line: string): void
  metrics?: MonkeyMetrics
}

/** One-line description of a scenario as the monkey would inject it. */
export function describeInjection(s: Scenario): string {
  const f = s.fault_config
  return `${s.id} (${f.fault_type} on ${s.target_service}, p=${f.probability}, ${f.blast_radius}, ${s.duration_seconds}s)`
}

/** Runs checks until --once, --max-experiments or the abort signal ends the session. */
export async function runMonkey(settings: MonkeySettings, deps: MonkeyDeps): Promise<MonkeySessionResult> {
  const { clock, signal } = deps
  const startedAt = clock.now()
  const result: MonkeySessionResult = {
    started_at: new Date(startedAt).toISOString(),
    finished_at: '',
    stopped_by: 'SIGNAL',
    checks: 0,
    skipped: { outside_business_hours: 0, min_gap: 0, tails: 0 },
    experiments: [],
    outcomes: {},
    interrupted: false,
  }
  // Dry runs read the state file but never write it: they remember their pretend experiments here.
  let dryRunLastAt: number | undefined
  let started = 0
  for (;;) {
    if (signal.aborted) break
    const checkAt = clock.now()
    result.checks++
    deps.metrics?.check(checkAt)
    // Read at every check: another monkey (or a cron --once) may have run one meanwhile.
    const previous = await deps.state.read()
    const storedAt = previous ? Date.parse(previous.last_experiment_at) : undefined
    const lastAt = dryRunLastAt ?? storedAt
    const decision = decideCheck({
      nowMs: checkAt,
      settings,
      pool: deps.pool,
      lastExperimentAtMs: lastAt,
      random: deps.random,
    })
    const prefix = `check ${result.checks}`
    switch (decision.kind) {
      case 'OUTSIDE_BUSINESS_HOURS':
        result.skipped.outside_business_hours++
        deps.log(
          `${prefix} · ${decision.local} ${settings.timezone} is outside business hours (${describeBusinessHours(settings.businessHours!)})`,
        )
        break
      case 'MIN_GAP':
        result.skipped.min_gap++
        deps.log(
          `${prefix} · min-gap: the last monkey experiment was less than ${formatDuration(settings.minGapMs)} ago; next allowed in ${formatDuration(decision.remainingMs)}`,
        )
        break
      case 'TAILS':
        result.skipped.tails++
        deps.log(`${prefix} · tails (roll ${decision.roll.toFixed(3)} ≥ p ${settings.probability})`)
        break
      case 'HEADS': {
        const s = decision.scenario
        deps.log(
          `${prefix} · heads (roll ${decision.roll.toFixed(3)} < p ${settings.probability}): ${describeInjection(s)}`,
        )
        const entry: MonkeyExperimentEntry = {
          scenario: s.id,
          category: s.category,
          blast_radius: s.fault_config.blast_radius,
          started_at: new Date(clock.now()).toISOString(),
          outcome: 'DRY_RUN',
          exit_code: null,
          run_id: null,
          report: null,
          error: null,
        }
        if (settings.dryRun) {
          deps.log(`dry-run: would inject ${s.id} now; nothing was injected`)
          dryRunLastAt = clock.now()
          started++
          deps.metrics?.experimentFinished(s.id, entry.outcome)
        } else {
          await deps.state.write({ last_experiment_at: entry.started_at, last_experiment: s.id })
          deps.metrics?.experimentStarted(s.id)
          try {
            const run = await deps.run(s)
            Object.assign(entry, {
              outcome: run.outcome,
              exit_code: run.exitCode,
              run_id: run.runId,
              report: run.report,
            })
            if (run.outcome === 'INTERRUPTED') result.interrupted = true
            started++
          } catch (err) {
            // No report means no experiment: it must not count against the min-gap either.
            await deps.state.restore(previous)
            Object.assign(entry, { outcome: 'NOT_STARTED', error: (err as Error).message })
            deps.log(`${s.id} did not start: ${(err as Error).message}`)
          } finally {
            deps.metrics?.experimentFinished(s.id, entry.outcome)
          }
        }
        result.experiments.push(entry)
        result.outcomes[entry.outcome] = (result.outcomes[entry.outcome] ?? 0) + 1
        break
      }
    }
    if (signal.aborted) break
    if (settings.once) {
      result.stopped_by = 'ONCE'
      break
    }
    if (settings.maxExperiments !== null && started >= settings.maxExperiments) {
      result.stopped_by = 'MAX_EXPERIMENTS'
      break
    }
    const waitMs = checkAt + settings.intervalMs - clock.now()
    if (waitMs > 0) await sleep(waitMs, signal, clock).catch(() => undefined)
  }
  result.finished_at = new Date(clock.now()).toISOString()
  return result
}
