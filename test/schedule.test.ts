/**
 * `chaos schedule`'s logic: the schedules: config section (validated at load, errors at
 * file:line:col), next run times for `every` and cron in a time zone (DST in Europe/Madrid), the
 * foreground loop on a virtual clock (one run at a time, waiting, coalescing, stop conditions), its
 * metrics, and the crontab rendering with `every` mapped to the nearest cron pattern.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { localTime } from '../src/calendar/business-hours.js'
import { cronProblem, type ScheduleSpec } from '../src/calendar/schedule-spec.js'
import { loadConfig } from '../src/config.js'
import { InvalidInputError } from '../src/errors.js'
import { createRegistry, createScheduleMetrics } from '../src/unattended/metrics.js'
import {
  createSchedule,
  cronForEvery,
  nextRuns,
  renderCrontab,
  CRONTAB_INSTALL_HINT,
  runScheduler,
  type Schedule,
  type ScheduledRunResult,
} from '../src/unattended/schedule.js'
import { virtualClock } from './unattended-helpers.js'

const SEC = 1000
const MIN = 60 * SEC
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const MADRID = 'Europe/Madrid'
const iso = (ms: number) => new Date(ms).toISOString()

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chaos-schedule-'))
})
afterEach(async () => rm(dir, { recursive: true, force: true }))

async function configProblems(yaml: string): Promise<string[]> {
  await writeFile(join(dir, 'chaos.config.yaml'), yaml)
  const error = await loadConfig({ cwd: dir, env: {} }).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(InvalidInputError)
  return [...(error as InvalidInputError).details]
}

describe('config schedules:', () => {
  it('reads every and cron entries into specs', async () => {
    await writeFile(
      join(dir, 'chaos.config.yaml'),
      `schedules:
  - { scenario: network_latency, every: 2h }
  - category: pms
    cron: "0 2 * * *"
    timezone: Europe/Madrid
  - { scenario: pms_api_failure, every: 90 }
`,
    )
    const config = await loadConfig({ cwd: dir, env: {} })
    expect(config.schedules).toEqual([
      { selection: 'network_latency', kind: 'scenario', everyMs: 2 * HOUR },
      { selection: 'pms', kind: 'category', cron: '0 2 * * *', timezone: MADRID },
      { selection: 'pms_api_failure', kind: 'scenario', everyMs: 90 * SEC },
    ])
  })

  it('has no schedules key at all when the file has none', async () => {
    await writeFile(join(dir, 'chaos.config.yaml'), 'run: { rate: 5 }\n')
    expect((await loadConfig({ cwd: dir, env: {} })).schedules).toBeUndefined()
  })

  it('parses cron patterns at load and points at the bad one', async () => {
    const problems = await configProblems(`schedules:
  - scenario: network_latency
    cron: "0 25 * * *"
  - category: pms
    cron: "0 2 * * * *"
  - category: pms
    cron: "0 0 31 2 *"
`)
    expect(problems).toEqual([
      expect.stringMatching(
        /^chaos\.config\.yaml:3:11 schedules\[0\]\.cron: "0 25 \* \* \*" is not a cron pattern: .*hour/,
      ) as string,
      expect.stringMatching(
        /^chaos\.config\.yaml:5:11 schedules\[1\]\.cron: "0 2 \* \* \* \*" has 6 fields; a cron pattern has 5/,
      ) as string,
      expect.stringMatching(
        /^chaos\.config\.yaml:7:11 schedules\[2\]\.cron: "0 0 31 2 \*" never fires/,
      ) as string,
    ])
  })

  it('needs exactly one of scenario/category and exactly one of every/cron', async () => {
    const problems = await configProblems(`schedules:
  - { scenario: network_latency, category: pms, every: 2h }
  - { scenario: network_latency }
  - { every: 2h, cron: "0 2 * * *", category: pms }
  - { category: Net-work, every: 2h }
  - { scenario: network_latency, every: 500ms }
  - { scenario: network_latency, cron: "0 2 * * *", timezone: Europe/Madird }
`)
    expect(problems).toEqual([
      expect.stringMatching(
        /^chaos\.config\.yaml:2:44 schedules\[0\]\.category: a schedule names exactly one of scenario or category/,
      ) as string,
      expect.stringMatching(
        /^chaos\.config\.yaml:3:5 schedules\[1\]: a schedule has exactly one of every or cron \(hint: e\.g\./,
      ) as string,
      expect.stringMatching(
        /^chaos\.config\.yaml:4:24 schedules\[2\]\.cron: a schedule has exactly one of every or cron/,
      ) as string,
      expect.stringMatching(
        // Categories are open (a typo of a well-formed name is caught when the selection is resolved).
        /^chaos\.config\.yaml:5:17 schedules\[3\]\.category: must be a lower-case snake_case word/,
      ) as string,
      expect.stringMatching(/^chaos\.config\.yaml:6:41 schedules\[4\]\.every: must be at least 1s/) as string,
      expect.stringMatching(
        /^chaos\.config\.yaml:7:63 schedules\[5\]\.timezone: "Europe\/Madird" is not a known time zone/,
      ) as string,
    ])
  })

  it('cronProblem accepts nicknames and five fields only', () => {
    expect(cronProblem('@daily')).toBeUndefined()
    expect(cronProblem('*/15 9-17 * * MON-FRI', MADRID)).toBeUndefined()
    expect(cronProblem('0 2 * *')).toMatch(/has 4 fields/)
    expect(cronProblem('*/0 * * * *')).toMatch(/is not a cron pattern/)
  })
})

describe('next run times', () => {
  const start = Date.parse('2026-03-02T10:00:00Z')

  it('every: first run one interval after start, then one interval apart', () => {
    const s = createSchedule({ selection: 'network_latency', kind: 'scenario', everyMs: 2 * HOUR }, 'UTC')
    expect(nextRuns(s, start, 3).map(iso)).toEqual([
      '2026-03-02T12:00:00.000Z',
      '2026-03-02T14:00:00.000Z',
      '2026-03-02T16:00:00.000Z',
    ])
  })

  it('every: runs missed while waiting are coalesced, and the rhythm keeps its anchor', () => {
    const s = createSchedule({ selection: 'x', kind: 'scenario', everyMs: 10 * MIN }, 'UTC')
    const first = s.first(start)
    expect(s.following(first, first + 3 * SEC)).toBe(first + 10 * MIN)
    // Finished 35 minutes late: the next run is the first slot after now, not three catch-up runs.
    expect(s.following(first, first + 35 * MIN)).toBe(first + 40 * MIN)
    expect(s.following(first, first + 40 * MIN)).toBe(first + 50 * MIN)
  })

  it('cron: local time in the schedule time zone, winter and summer', () => {
    const s = createSchedule(
      { selection: 'pms', kind: 'category', cron: '0 2 * * *', timezone: MADRID },
      'UTC',
    )
    expect(iso(s.first(Date.parse('2026-01-10T12:00:00Z')))).toBe('2026-01-11T01:00:00.000Z') // 02:00 CET
    expect(iso(s.first(Date.parse('2026-07-10T12:00:00Z')))).toBe('2026-07-11T00:00:00.000Z') // 02:00 CEST
  })

  it('cron: the default time zone applies to patterns without their own', () => {
    const s = createSchedule({ selection: 'pms', kind: 'category', cron: '0 2 * * *' }, 'America/New_York')
    expect(iso(s.first(Date.parse('2026-01-10T12:00:00Z')))).toBe('2026-01-11T07:00:00.000Z')
  })

  it('cron across the DST changes in Madrid: once a day, at 02:30 local or just after when it does not exist', () => {
    const s = createSchedule(
      { selection: 'pms', kind: 'category', cron: '30 2 * * *', timezone: MADRID },
      'UTC',
    )
    // 29 March 2026: 02:00 jumps to 03:00, so 02:30 does not exist; it runs once, at 03:30 CEST.
    const spring = nextRuns(s, Date.parse('2026-03-28T12:00:00Z'), 3)
    expect(spring.map(iso)).toEqual([
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
    ])
    expect(spring.map((t) => localTime(t, MADRID).text)).toEqual(['Sun 03:30', 'Mon 02:30', 'Tue 02:30'])
    // 25 October 2026: 02:30 happens twice; it still runs once that day.
    const autumn = nextRuns(s, Date.parse('2026-10-24T12:00:00Z'), 3)
    expect(autumn.map((t) => localTime(t, MADRID).text)).toEqual(['Sun 02:30', 'Mon 02:30', 'Tue 02:30'])
    expect(autumn[1]! - autumn[0]!).toBe(DAY)
  })
})

describe('the scheduler loop (virtual clock)', () => {
  const start = Date.parse('2026-03-02T10:00:00Z')
  const every = (selection: string, ms: number): Schedule =>
    createSchedule({ selection, kind: 'scenario', everyMs: ms }, 'UTC')

  function loop(
    schedules: Schedule[],
    options: { runMs: (label: string) => number; maxRuns?: number; fail?: string },
  ) {
    const clock = virtualClock(start)
    const controller = new AbortController()
    const log: Array<{ label: string; start: number; end: number }> = []
    let active = 0
    let maxActive = 0
    const promise = runScheduler(schedules, {
      clock,
      signal: controller.signal,
      maxRuns: options.maxRuns ?? null,
      log: () => {},
      run: (schedule): Promise<ScheduledRunResult> => {
        if (schedule.spec.selection === options.fail) return Promise.reject(new Error('the run lock is held'))
        active++
        maxActive = Math.max(maxActive, active)
        const begin = clock.now()
        clock.advance(options.runMs(schedule.spec.selection))
        log.push({ label: schedule.spec.selection, start: begin - start, end: clock.now() - start })
        active--
        return Promise.resolve({
          outcome: 'PASSED',
          exitCode: 0,
          runId: 'r',
          report: 'r.json',
          experiments: [],
        })
      },
    })
    return { promise, log, controller, maxActive: () => maxActive }
  }

  it('runs one at a time; a schedule due during another run waits, then runs', async () => {
    const l = loop([every('a', 10 * MIN), every('b', 15 * MIN)], { runMs: () => 8 * MIN, maxRuns: 4 })
    const result = await l.promise
    expect(result.stopped_by).toBe('MAX_RUNS')
    expect(l.maxActive()).toBe(1)
    expect(l.log.map((r) => [r.label, r.start / MIN, r.end / MIN])).toEqual([
      ['a', 10, 18],
      ['b', 18, 26], // due at 15, waited for a
      ['a', 26, 34], // due at 20, waited for b
      ['b', 34, 42], // due at 30: b's slots are anchored to its own rhythm
    ])
    expect(result.runs.map((r) => r.scheduled_for)).toEqual(
      [start + 10 * MIN, start + 15 * MIN, start + 20 * MIN, start + 30 * MIN].map(iso),
    )
  })

  it('a run longer than the interval does not make the schedule replay missed runs', async () => {
    const l = loop([every('a', 1 * MIN)], { runMs: () => 5 * MIN + 30 * SEC, maxRuns: 3 })
    await l.promise
    // Due at 1m, 2m, ... 6m while the first run lasted until 6m30s: the next run is at 7m, once.
    expect(l.log.map((r) => r.start / SEC)).toEqual([60, 7 * 60, 13 * 60])
  })

  it('a run that could not start is recorded and the schedule goes on', async () => {
    const l = loop([every('locked', 10 * MIN), every('ok', 25 * MIN)], {
      runMs: () => MIN,
      fail: 'locked',
      maxRuns: 3,
    })
    const result = await l.promise
    expect(result.runs.map((r) => [r.schedule, r.outcome, r.error])).toEqual([
      ['locked every 10m', 'NOT_STARTED', 'the run lock is held'],
      ['locked every 10m', 'NOT_STARTED', 'the run lock is held'],
      ['ok every 25m', 'PASSED', null],
    ])
  })

  it('stops on the signal, between runs or at once', async () => {
    const l = loop([every('a', HOUR)], { runMs: () => MIN })
    l.controller.abort()
    const result = await l.promise
    expect(result).toMatchObject({ stopped_by: 'SIGNAL', runs: [], interrupted: false })
  })

  it('cron schedules fire at their pattern times', async () => {
    const cron = createSchedule({ selection: 'c', kind: 'category', cron: '*/20 * * * *' }, 'UTC')
    const l = loop([cron], { runMs: () => MIN, maxRuns: 3 })
    await l.promise
    expect(l.log.map((r) => r.start / MIN)).toEqual([20, 40, 60])
  })

  it('reports its metrics', async () => {
    const registry = createRegistry({ processMetrics: false })
    const metrics = createScheduleMetrics(registry)
    const clock = virtualClock(start)
    const schedule = { ...every('network_latency', 10 * MIN), experiments: ['network_latency'] }
    await runScheduler([schedule], {
      clock,
      signal: new AbortController().signal,
      maxRuns: 2,
      log: () => {},
      metrics,
      run: () =>
        Promise.resolve({ outcome: 'FAILED', exitCode: 1, runId: 'r', report: 'r.json', experiments: [] }),
    })
    const text = await registry.metrics()
    expect(text).toContain('chaos_schedule_runs_started_total{schedule="network_latency every 10m"} 2')
    expect(text).toContain(
      'chaos_schedule_run_outcomes_total{schedule="network_latency every 10m",outcome="FAILED"} 2',
    )
    expect(text).toContain('chaos_schedule_active_experiment{experiment="network_latency"} 0')
    expect(text).toContain(
      `chaos_schedule_next_run_timestamp_seconds{schedule="network_latency every 10m"} ${(start + 30 * MIN) / 1000}`,
    )
    expect(text).toContain(`chaos_schedule_last_tick_timestamp_seconds ${(start + 20 * MIN) / 1000}`)
  })
})

describe('crontab', () => {
  it.each([
    [MIN, '* * * * *', true],
    [15 * MIN, '*/15 * * * *', true],
    [HOUR, '0 * * * *', true],
    [2 * HOUR, '0 */2 * * *', true],
    [12 * HOUR, '0 */12 * * *', true],
    [DAY, '0 0 * * *', true],
    [7 * DAY, '0 0 * * 0', true],
    [45 * MIN, '0 * * * *', false],
    [90 * MIN, '0 */2 * * *', false],
    [5 * HOUR, '0 */6 * * *', false],
    [90 * SEC, '*/2 * * * *', false],
  ])('every %d ms → %s (exact: %s)', (ms, pattern, exact) => {
    expect(cronForEvery(ms)).toMatchObject({ pattern, exact })
  })

  it('has no equivalent below a minute or beyond a week', () => {
    expect(cronForEvery(10 * SEC)).toBeNull()
    expect(cronForEvery(30 * DAY)).toBeNull()
  })

  it('renders run lines with cd, the forwarded flags, --quiet, a log, CRON_TZ and a weekly GameDay', () => {
    const specs: ScheduleSpec[] = [
      { selection: 'network_latency', kind: 'scenario', everyMs: 2 * HOUR },
      { selection: 'pms', kind: 'category', cron: '0 2 * * *', timezone: MADRID },
      { selection: 'pms_slow_response', kind: 'scenario', everyMs: 45 * MIN },
      { selection: 'pms_api_failure', kind: 'scenario', everyMs: 10 * SEC },
    ]
    const lines = renderCrontab(specs, {
      cwd: '/srv/my project',
      chaos: ['/usr/bin/node', '/opt/chaos/bin/run.js'],
      runArgs: ['--probability', '30%', '--target', 'http://10.0.0.5:8080'],
      logFile: '/srv/my project/.playbook/chaos_reports/schedule.log',
      gamedayLogFile: '/srv/my project/.playbook/chaos_reports/gameday.log',
      timezone: 'UTC',
      machineTimezone: 'America/New_York',
      source: '/srv/my project/chaos.config.yaml',
    })
    const run = (sel: string) =>
      `cd '/srv/my project' && /usr/bin/node /opt/chaos/bin/run.js run ${sel} --probability 30\\% --target http://10.0.0.5:8080 --quiet >> '/srv/my project/.playbook/chaos_reports/schedule.log' 2>&1`
    expect(lines).toContain(`0 */2 * * * ${run('network_latency')}`)
    expect(lines).toContain('# cron cannot express "every 45m" exactly; nearest: every 1h')
    expect(lines).toContain(`0 * * * * ${run('pms_slow_response')}`)
    expect(lines).toContain(`# * * * * * ${run('pms_api_failure')}`)
    const gameday = `0 10 * * 5 cd '/srv/my project' && /usr/bin/node /opt/chaos/bin/run.js gameday --log-file '/srv/my project/.playbook/chaos_reports/gameday.log'`
    // cron applies a CRON_TZ line to every line below it: each entry must sit under its own zone.
    const zoneOf = (line: string) => {
      const at = lines.indexOf(line)
      expect(at, line).toBeGreaterThanOrEqual(0)
      return lines.slice(0, at).findLast((l) => l.startsWith('CRON_TZ=')) ?? 'machine'
    }
    expect(zoneOf(`0 */2 * * * ${run('network_latency')}`)).toBe('machine')
    expect(zoneOf(`0 * * * * ${run('pms_slow_response')}`)).toBe('machine')
    expect(zoneOf(`0 2 * * * ${run('pms')}`)).toBe('CRON_TZ=Europe/Madrid')
    expect(zoneOf(gameday)).toBe('CRON_TZ=UTC')
    // ...and the crontab gives the lines after it (the user's own) the machine's zone back.
    expect(lines.at(-1)).toBe('CRON_TZ=America/New_York')
    expect(lines.join('\n')).not.toMatch(/^# install: .*\| crontab -/m)
    expect(lines).toContain(`# add to your crontab: ${CRONTAB_INSTALL_HINT}`)
    // Every line is a comment, an environment line, blank, or five cron fields and a command.
    for (const line of lines) expect(line).toMatch(/^(#.*|CRON_TZ=\S+|$|(\S+ ){5}cd .+)$/)
  })

  it('no CRON_TZ at all when no schedule has a zone; nothing at all without schedules', () => {
    const options = {
      cwd: '/p',
      chaos: ['/usr/bin/node', '/opt/chaos/bin/run.js'],
      runArgs: [],
      logFile: '/p/schedule.log',
      gamedayLogFile: '/p/gameday.log',
      machineTimezone: 'UTC',
      source: '/p/chaos.config.yaml',
    }
    const lines = renderCrontab([{ selection: 'pms', kind: 'category', cron: '0 2 * * *' }], options)
    expect(lines.some((l) => l.startsWith('CRON_TZ='))).toBe(false)
    expect(lines.filter((l) => /^\S+ \S+ \S+ \S+ \S+ cd /.test(l))).toHaveLength(2)
    expect(renderCrontab([], { ...options, timezone: 'Europe/Madrid' })).toEqual([])
  })
})
