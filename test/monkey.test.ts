/**
 * The chaos monkey's rules, with a virtual clock and seeded randomness: the coin, business hours
 * (Intl, DST in Europe/Madrid), eligibility, the min-gap kept in a real state file across
 * separate sessions, the loop's stop conditions, its /metrics, and the `monkey:` config section.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_BUSINESS_HOURS,
  isBusinessHours,
  localTime,
  parseClockTime,
  type BusinessHours,
} from '../src/calendar/business-hours.js'
import { loadConfig } from '../src/config.js'
import { InvalidInputError, SafetyError } from '../src/errors.js'
import { loadCatalogue } from '../src/scenario/catalogue.js'
import { gapRemainingMs, selectEligible, type EligibilityCriteria } from '../src/unattended/eligibility.js'
import { createMonkeyMetrics, createRegistry, serveMetrics } from '../src/unattended/metrics.js'
import {
  decideCheck,
  runMonkey,
  type MonkeyDeps,
  type MonkeyRunResult,
  type MonkeySettings,
} from '../src/unattended/monkey.js'
import { flipCoin, mulberry32, pickOne } from '../src/unattended/random.js'
import { resolveMonkeySettings } from '../src/unattended/settings.js'
import { MonkeyStateFile, type MonkeyState } from '../src/unattended/state.js'
import type { Scenario } from '../src/scenario/schema.js'
import { MONDAY_10_MADRID, scenario, virtualClock } from './unattended-helpers.js'

const MIN = 60_000
const HOUR = 60 * MIN
const MADRID = 'Europe/Madrid'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chaos-monkey-'))
})
afterEach(async () => rm(dir, { recursive: true, force: true }))

const SETTINGS: MonkeySettings = {
  probability: 1,
  intervalMs: 5 * MIN,
  businessHours: null,
  timezone: MADRID,
  minGapMs: 0,
  maxExperiments: null,
  once: false,
  dryRun: false,
}

const POOL = [scenario('alpha'), scenario('beta'), scenario('gamma')]

/** An in-memory state store with the file store's contract (for loops that need no disk). */
function memoryState(initial?: MonkeyState) {
  let state = initial
  const writes: MonkeyState[] = []
  return {
    writes,
    current: () => state,
    read: () => Promise.resolve(state),
    write: (s: MonkeyState) => {
      state = s
      writes.push(s)
      return Promise.resolve()
    },
    restore: (p: MonkeyState | undefined) => {
      state = p
      return Promise.resolve()
    },
  }
}

interface Harness {
  deps: MonkeyDeps
  ran: string[]
  logs: string[]
  controller: AbortController
  clock: ReturnType<typeof virtualClock>
}

/** A monkey whose experiments take `experimentMs` of virtual time; stops after `maxChecks` checks. */
function harness(
  options: {
    start?: number
    seed?: number
    pool?: readonly Scenario[]
    state?: MonkeyDeps['state']
    experimentMs?: number
    maxChecks?: number
    onCheck?: (nowMs: number) => void
    run?: (s: Scenario) => Promise<MonkeyRunResult>
  } = {},
): Harness {
  const clock = virtualClock(options.start ?? MONDAY_10_MADRID)
  const controller = new AbortController()
  const ran: string[] = []
  const logs: string[] = []
  let checks = 0
  const deps: MonkeyDeps = {
    clock,
    random: mulberry32(options.seed ?? 1),
    signal: controller.signal,
    pool: options.pool ?? POOL,
    state: options.state ?? memoryState(),
    log: (line) => logs.push(line),
    metrics: {
      check: (now) => {
        options.onCheck?.(now)
        if (++checks >= (options.maxChecks ?? Infinity)) controller.abort('test: enough checks')
      },
      experimentStarted: () => {},
      experimentFinished: () => {},
    },
    run:
      options.run ??
      ((s) => {
        ran.push(s.id)
        clock.advance(options.experimentMs ?? 40_000)
        return Promise.resolve({
          outcome: 'PASSED',
          exitCode: 0,
          runId: `run-${ran.length}`,
          report: `r${ran.length}.json`,
        })
      }),
  }
  return { deps, ran, logs, controller, clock }
}

describe('seeded randomness', () => {
  it('mulberry32 replays the same sequence for the same seed, another for another seed', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const c = mulberry32(43)
    const seqA = Array.from({ length: 5 }, () => a())
    expect(Array.from({ length: 5 }, () => b())).toEqual(seqA)
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(seqA)
    for (const x of seqA) {
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThan(1)
    }
  })

  it.each([0.05, 0.3, 0.9])('the coin comes up heads at rate %s over 20 000 flips', (p) => {
    for (const seed of [1, 2, 3]) {
      const random = mulberry32(seed)
      let heads = 0
      for (let i = 0; i < 20_000; i++) if (flipCoin(random, p).heads) heads++
      // 4.5 standard deviations at p = 0.3: a fair coin never fails this; a biased one does.
      expect(Math.abs(heads / 20_000 - p)).toBeLessThan(0.015)
    }
  })

  it('probability 0 never injects and probability 1 always does', () => {
    const random = mulberry32(7)
    for (let i = 0; i < 1000; i++) {
      expect(flipCoin(random, 0).heads).toBe(false)
      expect(flipCoin(random, 1).heads).toBe(true)
    }
  })

  it('picks are uniform over the pool', () => {
    const random = mulberry32(9)
    const counts = new Map<string, number>()
    for (let i = 0; i < 30_000; i++) {
      const s = pickOne(random, ['a', 'b', 'c'])!
      counts.set(s, (counts.get(s) ?? 0) + 1)
    }
    for (const n of counts.values()) expect(Math.abs(n / 30_000 - 1 / 3)).toBeLessThan(0.015)
    expect(pickOne(random, [])).toBeUndefined()
  })
})

describe('business hours (Intl, not UTC arithmetic)', () => {
  const at = (iso: string) => isBusinessHours(Date.parse(iso), DEFAULT_BUSINESS_HOURS, MADRID)

  it('09:00 to 17:00, start inclusive, end exclusive (Madrid in winter, UTC+1)', () => {
    expect(at('2026-03-02T07:59:00Z')).toBe(false) // Mon 08:59
    expect(at('2026-03-02T08:00:00Z')).toBe(true) // Mon 09:00
    expect(at('2026-03-02T15:59:00Z')).toBe(true) // Mon 16:59
    expect(at('2026-03-02T16:00:00Z')).toBe(false) // Mon 17:00
  })

  it('not at weekends', () => {
    expect(at('2026-03-07T10:00:00Z')).toBe(false) // Sat 11:00
    expect(at('2026-03-08T10:00:00Z')).toBe(false) // Sun 11:00
    expect(at('2026-03-06T10:00:00Z')).toBe(true) // Fri 11:00
  })

  it('follows the DST change: 07:30 UTC is 08:30 before 29 March 2026 and 09:30 after', () => {
    expect(localTime(Date.parse('2026-03-27T07:30:00Z'), MADRID).text).toBe('Fri 08:30')
    expect(at('2026-03-27T07:30:00Z')).toBe(false)
    expect(localTime(Date.parse('2026-03-30T07:30:00Z'), MADRID).text).toBe('Mon 09:30')
    expect(at('2026-03-30T07:30:00Z')).toBe(true)
    // Summer edges: 09:00 CEST is 07:00 UTC, 17:00 CEST is 15:00 UTC.
    expect(at('2026-03-30T06:59:00Z')).toBe(false)
    expect(at('2026-03-30T07:00:00Z')).toBe(true)
    expect(at('2026-03-30T14:59:00Z')).toBe(true)
    expect(at('2026-03-30T15:00:00Z')).toBe(false)
    // And back in October: 07:30 UTC is 09:30 on Friday 23 and 08:30 on Monday 26.
    expect(at('2026-10-23T07:30:00Z')).toBe(true)
    expect(at('2026-10-26T07:30:00Z')).toBe(false)
  })

  it('reads midnight as hour 0 (hourCycle h23) and honours configured hours and days', () => {
    expect(localTime(Date.parse('2026-03-02T23:30:00Z'), MADRID)).toMatchObject({
      weekday: 'TUE',
      hour: 0,
      minute: 30,
    })
    const saturdayMornings: BusinessHours = {
      startMinute: parseClockTime('07:30')!,
      endMinute: parseClockTime('12:00')!,
      days: ['SAT'],
    }
    expect(isBusinessHours(Date.parse('2026-03-07T06:30:00Z'), saturdayMornings, MADRID)).toBe(true) // Sat 07:30
    expect(isBusinessHours(Date.parse('2026-03-07T06:29:00Z'), saturdayMornings, MADRID)).toBe(false)
    expect(isBusinessHours(Date.parse('2026-03-02T08:00:00Z'), saturdayMornings, MADRID)).toBe(false) // Monday
    const allDay: BusinessHours = { startMinute: 0, endMinute: parseClockTime('24:00')!, days: ['TUE'] }
    expect(isBusinessHours(Date.parse('2026-03-02T23:00:00Z'), allDay, MADRID)).toBe(true) // Tue 00:00
    expect(isBusinessHours(Date.parse('2026-03-03T22:59:00Z'), allDay, MADRID)).toBe(true) // Tue 23:59
    expect(isBusinessHours(Date.parse('2026-03-03T23:00:00Z'), allDay, MADRID)).toBe(false) // Wed 00:00
  })

  it('the same instant is inside in one zone and outside in another', () => {
    const instant = Date.parse('2026-03-02T15:30:00Z') // Mon 16:30 Madrid, 10:30 New York, 00:30 Tue Tokyo
    expect(isBusinessHours(instant, DEFAULT_BUSINESS_HOURS, MADRID)).toBe(true)
    expect(isBusinessHours(instant, DEFAULT_BUSINESS_HOURS, 'America/New_York')).toBe(true)
    expect(isBusinessHours(instant, DEFAULT_BUSINESS_HOURS, 'Asia/Tokyo')).toBe(false)
  })
})

describe('eligibility', () => {
  const criteria = (over: Partial<EligibilityCriteria> = {}): EligibilityCriteria => ({
    categories: [],
    scenarioIds: [],
    maxBlastRadius: 'SINGLE_SERVICE',
    allowEntireSystem: false,
    ...over,
  })
  const mixed = [
    scenario('req', { blastRadius: 'SINGLE_REQUEST' }),
    scenario('svc', { blastRadius: 'SINGLE_SERVICE', category: 'pms' }),
    scenario('cluster', { blastRadius: 'SERVICE_CLUSTER', category: 'service' }),
    scenario('system', { blastRadius: 'ENTIRE_SYSTEM', category: 'service' }),
    scenario('off', { enabled: false, category: 'pms' }),
  ]
  const ids = (c: EligibilityCriteria) => selectEligible(mixed, c).eligible.map((s) => s.id)

  it('defaults to SINGLE_SERVICE and below, enabled scenarios only', () => {
    const result = selectEligible(mixed, criteria())
    expect(result.eligible.map((s) => s.id)).toEqual(['req', 'svc'])
    expect(Object.fromEntries(result.excluded.map((e) => [e.id, e.reason]))).toEqual({
      cluster: 'blast radius SERVICE_CLUSTER is above the limit SINGLE_SERVICE',
      system: expect.stringContaining('ENTIRE_SYSTEM') as string,
      off: 'disabled (fault_config.enabled: false)',
    })
  })

  it('orders blast radii SINGLE_REQUEST < SINGLE_SERVICE < SERVICE_CLUSTER < ENTIRE_SYSTEM', () => {
    expect(ids(criteria({ maxBlastRadius: 'SINGLE_REQUEST' }))).toEqual(['req'])
    expect(ids(criteria({ maxBlastRadius: 'SERVICE_CLUSTER' }))).toEqual(['req', 'svc', 'cluster'])
  })

  it('never ENTIRE_SYSTEM unless explicitly allowed', () => {
    expect(ids(criteria({ maxBlastRadius: 'ENTIRE_SYSTEM' }))).toEqual(['req', 'svc', 'cluster'])
    expect(ids(criteria({ maxBlastRadius: 'SERVICE_CLUSTER', allowEntireSystem: true }))).toEqual([
      'req',
      'svc',
      'cluster',
    ])
    expect(ids(criteria({ maxBlastRadius: 'ENTIRE_SYSTEM', allowEntireSystem: true }))).toEqual([
      'req',
      'svc',
      'cluster',
      'system',
    ])
  })

  it('scope is the chosen categories or ids (either matches); out-of-scope ones are not listed', () => {
    expect(ids(criteria({ categories: ['pms'] }))).toEqual(['svc'])
    expect(ids(criteria({ categories: ['pms'], scenarioIds: ['req'] }))).toEqual(['req', 'svc'])
    const result = selectEligible(mixed, criteria({ scenarioIds: ['cluster'] }))
    expect(result.eligible).toEqual([])
    expect(result.excluded.map((e) => e.id)).toEqual(['cluster'])
  })

  it('judges the blast radius the run will really use (--blast-radius override)', () => {
    expect(ids(criteria({ blastRadiusOverride: 'SERVICE_CLUSTER' }))).toEqual([])
    expect(
      ids(criteria({ blastRadiusOverride: 'SINGLE_REQUEST', maxBlastRadius: 'SINGLE_REQUEST' })),
    ).toEqual(['req', 'svc', 'cluster', 'system'])
  })

  it('on the real catalogue, the default limit leaves out the cluster and system scenarios', async () => {
    const catalogue = await loadCatalogue({ cwd: dir })
    const result = selectEligible(
      catalogue.scenarios.map((s) => s.scenario),
      criteria(),
    )
    expect(result.eligible.length).toBeGreaterThan(20)
    expect(result.excluded.map((e) => e.id).sort()).toEqual([
      'service_cascading_failure',
      'service_unavailable',
    ])
  })

  it('the min-gap counts from the previous experiment and is closed while the clock runs backwards', () => {
    expect(gapRemainingMs(undefined, 1000, HOUR)).toBe(0)
    expect(gapRemainingMs(0, 20 * MIN, HOUR)).toBe(40 * MIN)
    expect(gapRemainingMs(0, HOUR, HOUR)).toBe(0)
    expect(gapRemainingMs(HOUR, 0, HOUR)).toBe(HOUR)
    expect(gapRemainingMs(0, 1, 0)).toBe(0)
  })
})

describe('one check', () => {
  const base = { settings: { ...SETTINGS, probability: 0.5 }, pool: POOL, lastExperimentAtMs: undefined }

  it('outside business hours: no coin is flipped (the seed sequence is untouched)', () => {
    const random = mulberry32(5)
    const saturday = Date.parse('2026-03-07T10:00:00Z')
    const d = decideCheck({
      ...base,
      nowMs: saturday,
      random,
      settings: { ...base.settings, businessHours: DEFAULT_BUSINESS_HOURS },
    })
    expect(d).toEqual({ kind: 'OUTSIDE_BUSINESS_HOURS', local: 'Sat 11:00' })
    expect(random()).toBe(mulberry32(5)())
  })

  it('inside the min-gap: no coin either', () => {
    const d = decideCheck({
      ...base,
      nowMs: 30 * MIN,
      random: mulberry32(5),
      lastExperimentAtMs: 0,
      settings: { ...base.settings, minGapMs: HOUR },
    })
    expect(d).toEqual({ kind: 'MIN_GAP', remainingMs: 30 * MIN })
  })

  it('the same seed gives the same decisions', () => {
    const run = (seed: number) => {
      const random = mulberry32(seed)
      return Array.from({ length: 50 }, (_, i) => {
        const d = decideCheck({ ...base, nowMs: MONDAY_10_MADRID + i * MIN, random })
        return d.kind === 'HEADS' ? d.scenario.id : d.kind
      })
    }
    expect(run(11)).toEqual(run(11))
    expect(run(11)).not.toEqual(run(12))
    expect(new Set(run(11))).toEqual(new Set(['TAILS', 'alpha', 'beta', 'gamma']))
  })
})

describe('the monkey loop (virtual clock)', () => {
  it.each([
    [0.05, 4000],
    [0.25, 2000],
  ])('over many checks, the rate of experiments matches the probability %s', async (probability, checks) => {
    const h = harness({ seed: 2024, maxChecks: checks, experimentMs: 0 })
    const result = await runMonkey({ ...SETTINGS, probability }, h.deps)
    expect(result.checks).toBe(checks)
    expect(result.stopped_by).toBe('SIGNAL')
    expect(Math.abs(h.ran.length / checks - probability)).toBeLessThan(0.02)
    expect(result.skipped.tails + h.ran.length).toBe(checks)
  })

  it('--max-experiments 2 with probability 1: two checks, two experiments, then stops', async () => {
    const h = harness()
    const result = await runMonkey({ ...SETTINGS, maxExperiments: 2 }, h.deps)
    expect(result.stopped_by).toBe('MAX_EXPERIMENTS')
    expect(result.checks).toBe(2)
    expect(h.ran).toHaveLength(2)
    expect(result.experiments.map((e) => e.outcome)).toEqual(['PASSED', 'PASSED'])
    expect(result.outcomes).toEqual({ PASSED: 2 })
  })

  it('checks every interval from the start of the previous check, at once when an experiment overran it', async () => {
    const starts: number[] = []
    const h = harness({
      maxChecks: 8,
      experimentMs: 7 * MIN,
      onCheck: (now) => starts.push(now - MONDAY_10_MADRID),
    })
    const result = await runMonkey({ ...SETTINGS, probability: 0.5 }, h.deps)
    const heads = new Set(result.experiments.map((e) => Date.parse(e.started_at) - MONDAY_10_MADRID))
    expect(heads.size).toBeGreaterThan(0)
    expect(heads.size).toBeLessThan(starts.length)
    expect(starts[0]).toBe(0)
    // After tails the next check is 5 min later; after a 7-min experiment it follows at once (7 min).
    for (let i = 1; i < starts.length; i++) {
      expect(starts[i]! - starts[i - 1]!).toBe(heads.has(starts[i - 1]!) ? 7 * MIN : 5 * MIN)
    }
  })

  it('--once makes exactly one check', async () => {
    const h = harness({ seed: 3 })
    const result = await runMonkey({ ...SETTINGS, probability: 0, once: true }, h.deps)
    expect(result).toMatchObject({ checks: 1, stopped_by: 'ONCE', skipped: { tails: 1 } })
  })

  it('--dry-run never runs an experiment nor writes the state file, but respects the min-gap in memory', async () => {
    const state = memoryState()
    const h = harness({ state, maxChecks: 30 })
    const result = await runMonkey({ ...SETTINGS, dryRun: true, minGapMs: HOUR }, h.deps)
    expect(h.ran).toEqual([])
    expect(state.writes).toEqual([])
    // 30 checks every 5 minutes = 145 minutes: dry-run experiments at 0, 60 and 120 minutes.
    expect(result.experiments.map((e) => e.outcome)).toEqual(['DRY_RUN', 'DRY_RUN', 'DRY_RUN'])
    expect(result.skipped.min_gap).toBe(27)
    expect(h.logs.filter((l) => l.startsWith('dry-run: would inject'))).toHaveLength(3)
  })

  it('keeps the min-gap within a session: an experiment every hour at most', async () => {
    const h = harness({ maxChecks: 36, experimentMs: 0 })
    const result = await runMonkey({ ...SETTINGS, minGapMs: HOUR }, h.deps)
    expect(h.ran).toHaveLength(3)
    const starts = result.experiments.map((e) => Date.parse(e.started_at) - MONDAY_10_MADRID)
    expect(starts).toEqual([0, HOUR, 2 * HOUR])
  })

  it('only flips coins during business hours', async () => {
    // Friday 16:00 Madrid; checks every 30 min until Monday 10:00.
    const friday16 = Date.parse('2026-03-06T15:00:00Z')
    const h = harness({ start: friday16, maxChecks: 2 * 66 + 1, experimentMs: 0 })
    const result = await runMonkey(
      { ...SETTINGS, intervalMs: 30 * MIN, businessHours: DEFAULT_BUSINESS_HOURS },
      h.deps,
    )
    const local = result.experiments.map((e) => localTime(Date.parse(e.started_at), MADRID).text)
    expect(local).toEqual(['Fri 16:00', 'Fri 16:30', 'Mon 09:00', 'Mon 09:30', 'Mon 10:00'])
    expect(result.skipped.outside_business_hours).toBe(result.checks - 5)
  })

  it('an experiment that could not start (run lock held) is NOT_STARTED and does not count against the min-gap', async () => {
    const previous: MonkeyState = {
      last_experiment_at: new Date(MONDAY_10_MADRID - 2 * HOUR).toISOString(),
      last_experiment: 'alpha',
    }
    const state = memoryState(previous)
    const h = harness({
      state,
      run: () => Promise.reject(new SafetyError('another chaos run is using /x: pid 1')),
    })
    const result = await runMonkey({ ...SETTINGS, once: true, minGapMs: HOUR }, h.deps)
    expect(result.experiments).toMatchObject([
      { outcome: 'NOT_STARTED', error: 'another chaos run is using /x: pid 1' },
    ])
    expect(state.current()).toEqual(previous)
  })

  it('a signal during an experiment: the run reports INTERRUPTED, the session stops and says so', async () => {
    const h = harness({
      run: () => {
        h.controller.abort('SIGTERM')
        return Promise.resolve({ outcome: 'INTERRUPTED', exitCode: 130, runId: 'r', report: 'r.json' })
      },
    })
    const result = await runMonkey(SETTINGS, h.deps)
    expect(result).toMatchObject({ interrupted: true, stopped_by: 'SIGNAL', checks: 1 })
  })

  it('a signal between checks ends the wait at once, without interrupting anything', async () => {
    const h = harness({ maxChecks: 3, experimentMs: 0 })
    const result = await runMonkey({ ...SETTINGS, probability: 0 }, h.deps)
    expect(result).toMatchObject({ interrupted: false, stopped_by: 'SIGNAL', checks: 3 })
  })
})

describe('min-gap across separate sessions sharing the state file', () => {
  it('a second --once invocation 30 min later skips; one 61 min later runs', async () => {
    const settings = { ...SETTINGS, once: true, minGapMs: HOUR }
    const first = harness({ state: new MonkeyStateFile(dir), start: MONDAY_10_MADRID })
    expect((await runMonkey(settings, first.deps)).experiments).toHaveLength(1)
    const file = new MonkeyStateFile(dir)
    expect(JSON.parse(await readFile(file.path, 'utf8'))).toEqual({
      last_experiment_at: new Date(MONDAY_10_MADRID).toISOString(),
      last_experiment: first.ran[0],
    })

    const second = harness({ state: new MonkeyStateFile(dir), start: MONDAY_10_MADRID + 30 * MIN })
    const skipped = await runMonkey(settings, second.deps)
    expect(second.ran).toEqual([])
    expect(skipped.skipped.min_gap).toBe(1)
    expect(second.logs[0]).toContain('next allowed in 30m')

    const third = harness({ state: new MonkeyStateFile(dir), start: MONDAY_10_MADRID + 61 * MIN })
    await runMonkey(settings, third.deps)
    expect(third.ran).toHaveLength(1)
  })

  it('a damaged state file stops the monkey (exit 3) instead of guessing', async () => {
    const file = new MonkeyStateFile(dir)
    await file.write({ last_experiment_at: new Date(0).toISOString(), last_experiment: 'x' })
    await writeFile(file.path, '{ "last_experiment_at": 12')
    await expect(file.read()).rejects.toBeInstanceOf(SafetyError)
  })
})

describe('/metrics', () => {
  it('serves the monkey metrics under their contract names', async () => {
    const registry = createRegistry({ processMetrics: false })
    const metrics = createMonkeyMetrics(registry)
    const h = harness({ maxChecks: 3, experimentMs: 0 })
    h.deps.metrics = {
      check: (now) => {
        metrics.check(now)
        if (h.clock.now() - MONDAY_10_MADRID >= 10 * MIN) h.controller.abort()
      },
      experimentStarted: (e) => metrics.experimentStarted(e),
      experimentFinished: (e, o) => metrics.experimentFinished(e, o),
    }
    await runMonkey({ ...SETTINGS, probability: 1 }, h.deps)
    const server = await serveMetrics(registry, { port: 0, host: '127.0.0.1' })
    try {
      const res = await fetch(server.url)
      expect(res.status).toBe(200)
      const text = await res.text()
      expect(text).toContain('chaos_monkey_checks_total 3')
      expect(text).toContain('chaos_monkey_experiments_started_total 3')
      expect(text).toContain('chaos_monkey_experiment_outcomes_total{outcome="PASSED"} 3')
      expect(text).toMatch(/chaos_monkey_active_experiment\{experiment="(alpha|beta|gamma)"\} 0/)
      expect(text).toContain(
        `chaos_monkey_last_check_timestamp_seconds ${(MONDAY_10_MADRID + 10 * MIN) / 1000}`,
      )
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404)
    } finally {
      await server.close()
    }
  })
})

describe('settings: flags over config over defaults', () => {
  const catalogue = { scenarioIds: ['network_latency', 'pms_api_failure'] }

  it("defaults to the guide's 5 % every 5 minutes, SINGLE_SERVICE, no gap, any time", () => {
    const { settings, criteria } = resolveMonkeySettings({}, {}, catalogue)
    expect(settings).toMatchObject({
      probability: 0.05,
      intervalMs: 300_000,
      minGapMs: 0,
      businessHours: null,
      maxExperiments: null,
    })
    expect(criteria).toEqual({
      categories: [],
      scenarioIds: [],
      maxBlastRadius: 'SINGLE_SERVICE',
      allowEntireSystem: false,
    })
  })

  it('reads flags (parsed by the shared flags) over config, --business-hours with the configured window', () => {
    const window: BusinessHours = { startMinute: 600, endMinute: 1080, days: ['MON'] }
    const { settings, criteria, seed } = resolveMonkeySettings(
      {
        chance: 0.1,
        every: 300_000,
        'min-gap': HOUR,
        categories: ['network', 'pms'],
        'business-hours': true,
        timezone: 'Asia/Tokyo',
        seed: 9,
      },
      { probability: 0.5, businessHours: window },
      catalogue,
    )
    expect(settings).toMatchObject({
      probability: 0.1,
      intervalMs: 300_000,
      minGapMs: HOUR,
      businessHours: window,
      timezone: 'Asia/Tokyo',
    })
    expect(criteria.categories).toEqual(['network', 'pms'])
    expect(seed).toBe(9)
  })

  it('config business_hours: true turns them on with the defaults; --no-business-hours turns them off', () => {
    expect(resolveMonkeySettings({}, { businessHours: true }, catalogue).settings.businessHours).toEqual(
      DEFAULT_BUSINESS_HOURS,
    )
    expect(
      resolveMonkeySettings({ 'business-hours': false }, { businessHours: true }, catalogue).settings
        .businessHours,
    ).toBeNull()
  })

  // Each flag's own grammar (probability, durations, lists, time zones) is tested in flags-e2e.test.ts.
  it.each([
    [{ ids: ['network_latncy'] }, '--ids: unknown scenario id "network_latncy"'],
    [
      { 'max-blast-radius': 'ENTIRE_SYSTEM' as const },
      'a blast radius limit of ENTIRE_SYSTEM needs --allow-entire-system',
    ],
  ])('rejects %j with a one-line error', (flags, message) => {
    let error: unknown
    try {
      resolveMonkeySettings(flags, {}, catalogue)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(InvalidInputError)
    expect((error as Error).message).toBe(message)
  })

  it('suggests the closest id', () => {
    expect(() => resolveMonkeySettings({ ids: ['network_latncy'] }, {}, catalogue)).toThrow(
      expect.objectContaining({ hint: 'did you mean network_latency?' }) as Error,
    )
  })
})

describe('config monkey: section', () => {
  it('is read into settings (durations in ms, hours in minutes)', async () => {
    await writeFile(
      join(dir, 'chaos.config.yaml'),
      `monkey:
  probability: 0.1
  interval: 10m
  business_hours: { start: "08:30", end: "18:00", days: [MON, WED] }
  timezone: Europe/Madrid
  categories: [network, pms]
  scenarios: [network_latency]
  max_blast_radius: SINGLE_REQUEST
  min_gap: 2h
`,
    )
    const config = await loadConfig({ cwd: dir, env: {} })
    expect(config.monkey).toEqual({
      probability: 0.1,
      intervalMs: 10 * MIN,
      businessHours: { startMinute: 510, endMinute: 1080, days: ['MON', 'WED'] },
      timezone: MADRID,
      categories: ['network', 'pms'],
      scenarios: ['network_latency'],
      maxBlastRadius: 'SINGLE_REQUEST',
      minGapMs: 2 * HOUR,
    })
  })

  it('reports every problem at its line and column', async () => {
    await writeFile(
      join(dir, 'chaos.config.yaml'),
      `monkey:
  probability: 5
  business_hours: { start: "9am", days: [MON, SUNDAY] }
  timezone: Europe/Madird
  max_blast_radius: HUGE
  min_gaps: 1h
`,
    )
    const error = (await loadConfig({ cwd: dir, env: {} }).catch((e: unknown) => e)) as InvalidInputError
    expect(error).toBeInstanceOf(InvalidInputError)
    expect(error.details).toEqual([
      'chaos.config.yaml:2:16 monkey.probability: must be at most 1 (hint: a number from 0 to 1, e.g. 0.05 for 5 %)',
      expect.stringMatching(
        /^chaos\.config\.yaml:3:28 monkey\.business_hours\.start: "9am" is not a time of day written HH:MM/,
      ) as string,
      expect.stringMatching(
        /^chaos\.config\.yaml:3:47 monkey\.business_hours\.days\[1\]: "SUNDAY" is not one of MON/,
      ) as string,
      expect.stringMatching(
        /^chaos\.config\.yaml:4:13 monkey\.timezone: "Europe\/Madird" is not a known time zone/,
      ) as string,
      expect.stringMatching(
        /^chaos\.config\.yaml:5:21 monkey\.max_blast_radius: "HUGE" is not one of/,
      ) as string,
      expect.stringMatching(
        /^chaos\.config\.yaml:6:3 monkey\.min_gaps: unknown field "min_gaps" \(hint: did you mean "min_gap"\?\)/,
      ) as string,
    ])
  })

  it('rejects a window that ends before it starts', async () => {
    await writeFile(
      join(dir, 'chaos.config.yaml'),
      'monkey:\n  business_hours: { start: "18:00", end: "09:00" }\n',
    )
    const error = (await loadConfig({ cwd: dir, env: {} }).catch((e: unknown) => e)) as InvalidInputError
    expect(error.details[0]).toMatch(
      /^chaos\.config\.yaml:2:42 monkey\.business_hours\.end: the window must end after it starts/,
    )
  })
})
