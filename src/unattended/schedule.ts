/**
 * Recurring experiments (guide section 6, "Chaos Scheduler"): `every: 2h` intervals and
 * `cron: "0 2 * * *"` patterns (croner, in a time zone), run one at a time in the foreground, and
 * their crontab equivalents for people who prefer the system cron (guide section 11).
 */
import { Cron } from 'croner'
import type { ScheduleSpec } from '../calendar/schedule-spec.js'
import { sleep, type Clock } from '../clock.js'
import { formatDuration } from '../duration.js'
import type { ScheduleMetrics } from './metrics.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** `2h`, `90m`, `45s`, `1500ms`: a duration as written in the config (parseable again). */
export function formatEvery(ms: number): string {
  if (ms % HOUR === 0) return `${ms / HOUR}h`
  if (ms % MINUTE === 0) return `${ms / MINUTE}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}

/** `network_latency every 2h`, `pms cron "0 2 * * *" Europe/Madrid`: the schedule's label. */
export function describeSchedule(spec: ScheduleSpec): string {
  if (spec.everyMs !== undefined) return `${spec.selection} every ${formatEvery(spec.everyMs)}`
  return `${spec.selection} cron "${spec.cron}"${spec.timezone ? ` ${spec.timezone}` : ''}`
}

/** A schedule at run time: when it runs first and next. */
export interface Schedule {
  spec: ScheduleSpec
  label: string
  /** The experiments a run will start (a category's scenarios), for the active-experiment metric. */
  experiments?: readonly string[]
  /** The first run after the scheduler starts at `nowMs`. */
  first(nowMs: number): number
  /**
   * The run after the one scheduled at `scheduledMs`, strictly after `nowMs`: runs missed while
   * another experiment held the target are coalesced into one, never replayed back to back.
   */
  following(scheduledMs: number, nowMs: number): number
}

/** Builds the run-time schedule; `defaultTimezone` applies to cron patterns without their own. */
export function createSchedule(spec: ScheduleSpec, defaultTimezone: string): Schedule {
  const label = describeSchedule(spec)
  if (spec.everyMs !== undefined) {
    const every = spec.everyMs
    return {
      spec,
      label,
      // The first run is one interval after start, like the guide's scheduler.start().
      first: (nowMs) => nowMs + every,
      following: (scheduledMs, nowMs) =>
        nowMs < scheduledMs + every
          ? scheduledMs + every
          : scheduledMs + every * (Math.floor((nowMs - scheduledMs) / every) + 1),
    }
  }
  const job = new Cron(spec.cron!, { paused: true, timezone: spec.timezone ?? defaultTimezone })
  const next = (afterMs: number) => {
    const at = job.nextRun(new Date(afterMs))
    if (!at) throw new Error(`schedule ${label} never fires again`)
    return at.getTime()
  }
  return { spec, label, first: next, following: (_scheduled, nowMs) => next(nowMs) }
}

/** Next run times of a schedule from `fromMs` (for `--print-crontab` comments and tests). */
export function nextRuns(schedule: Schedule, fromMs: number, count: number): number[] {
  const out: number[] = []
  let at = schedule.first(fromMs)
  for (let i = 0; i < count; i++) {
    out.push(at)
    at = schedule.following(at, at)
  }
  return out
}

/** The result of one scheduled run (a report was written). */
export interface ScheduledRunResult {
  outcome: string
  exitCode: number
  runId: string
  report: string
  experiments: string[]
}

export interface ScheduledRunEntry {
  schedule: string
  scheduled_for: string
  started_at: string
  outcome: string
  exit_code: number | null
  run_id: string | null
  report: string | null
  error: string | null
}

export interface SchedulerResult {
  started_at: string
  finished_at: string
  stopped_by: 'MAX_RUNS' | 'SIGNAL'
  runs: ScheduledRunEntry[]
  interrupted: boolean
}

export interface SchedulerDeps {
  clock: Clock
  signal: AbortSignal
  /** Runs one schedule's selection through the engine; throws when it could not start. */
  run(schedule: Schedule): Promise<ScheduledRunResult>
  log(line: string): void
  /** Stop after this many runs; null = until the signal. */
  maxRuns: number | null
  metrics?: ScheduleMetrics
}

/** Longest single sleep: wake up now and then so a suspended machine or a clock step is noticed. */
const MAX_SLEEP_MS = 60_000

/**
 * Runs the schedules in the foreground, one run at a time: a schedule that comes due while
 * another runs waits for it, then runs (once, however many of its times were missed).
 */
export async function runScheduler(
  schedules: readonly Schedule[],
  deps: SchedulerDeps,
): Promise<SchedulerResult> {
  const { clock, signal } = deps
  const startedAt = clock.now()
  const result: SchedulerResult = {
    started_at: new Date(startedAt).toISOString(),
    finished_at: '',
    stopped_by: 'SIGNAL',
    runs: [],
    interrupted: false,
  }
  const due = schedules.map((schedule, index) => ({ schedule, index, at: schedule.first(startedAt) }))
  const announce = () => {
    for (const d of due) deps.metrics?.nextRun(d.schedule.label, d.at)
  }
  announce()
  for (const d of due) deps.log(`${d.schedule.label}: next run ${new Date(d.at).toISOString()}`)
  while (!signal.aborted) {
    const now = clock.now()
    deps.metrics?.tick(now)
    const ready = due.filter((d) => d.at <= now).sort((a, b) => a.at - b.at || a.index - b.index)
    const pick = ready[0]
    if (!pick) {
      const wait = Math.min(...due.map((d) => d.at)) - now
      await sleep(Math.min(wait, MAX_SLEEP_MS), signal, clock).catch(() => undefined)
      continue
    }
    const entry: ScheduledRunEntry = {
      schedule: pick.schedule.label,
      scheduled_for: new Date(pick.at).toISOString(),
      started_at: new Date(now).toISOString(),
      outcome: 'NOT_STARTED',
      exit_code: null,
      run_id: null,
      report: null,
      error: null,
    }
    const late = now - pick.at
    const experiments =
      pick.schedule.experiments ??
      (pick.schedule.spec.kind === 'scenario' ? [pick.schedule.spec.selection] : [])
    deps.metrics?.runStarted(pick.schedule.label, experiments)
    deps.log(
      `${pick.schedule.label}: running${late >= 1000 ? ` (${formatDuration(late)} late: waited for the previous run)` : ''}`,
    )
    try {
      const run = await deps.run(pick.schedule)
      Object.assign(entry, {
        outcome: run.outcome,
        exit_code: run.exitCode,
        run_id: run.runId,
        report: run.report,
      })
      if (run.outcome === 'INTERRUPTED') result.interrupted = true
      deps.log(`${pick.schedule.label}: ${run.outcome} · report: ${run.report}`)
    } catch (err) {
      entry.error = (err as Error).message
      deps.log(`${pick.schedule.label}: did not start: ${entry.error}`)
    } finally {
      deps.metrics?.runFinished(pick.schedule.label, experiments, entry.outcome)
    }
    result.runs.push(entry)
    pick.at = pick.schedule.following(pick.at, clock.now())
    announce()
    if (!signal.aborted) deps.log(`${pick.schedule.label}: next run ${new Date(pick.at).toISOString()}`)
    if (deps.maxRuns !== null && result.runs.length >= deps.maxRuns) {
      result.stopped_by = 'MAX_RUNS'
      break
    }
  }
  result.finished_at = new Date(clock.now()).toISOString()
  return result
}

// ---- crontab -------------------------------------------------------------------------------------

/** Periods cron can express exactly, as (period, pattern). */
const CRON_PERIODS: ReadonlyArray<readonly [number, string]> = [
  ...[1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].map(
    (m) => [m * MINUTE, m === 1 ? '* * * * *' : `*/${m} * * * *`] as const,
  ),
  ...[1, 2, 3, 4, 6, 8, 12].map((h) => [h * HOUR, h === 1 ? '0 * * * *' : `0 */${h} * * *`] as const),
  [DAY, '0 0 * * *'],
  [7 * DAY, '0 0 * * 0'],
]

/** The cron pattern for `every`, exact or nearest; null when cron cannot come close. */
export function cronForEvery(everyMs: number): { pattern: string; exact: boolean; periodMs: number } | null {
  // Cron fires at most once a minute and has no period longer than a week that stays fixed.
  if (everyMs < MINUTE / 2 || everyMs > 7 * DAY * 1.5) return null
  let best = CRON_PERIODS[0]!
  for (const candidate of CRON_PERIODS) {
    if (Math.abs(Math.log(candidate[0] / everyMs)) < Math.abs(Math.log(best[0] / everyMs))) best = candidate
  }
  return { pattern: best[1], exact: best[0] === everyMs, periodMs: best[0] }
}

/** Single-quotes a word for sh when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

export interface CrontabOptions {
  /** Directory every line cds into (the project, where the config is found). */
  cwd: string
  /** The chaos executable as argv words, e.g. [node, /path/bin/run.js]. */
  chaos: string[]
  /** Extra arguments for every `chaos run` line (forwarded overrides, --config). */
  runArgs: string[]
  /** Where run output is appended. */
  logFile: string
  /** Where the weekly GameDay writes its log (`chaos gameday --log-file`). */
  gamedayLogFile: string
  /** Time zone for the CRON_TZ line of schedules without their own; omitted when undefined. */
  timezone?: string
  /**
   * The machine's own time zone: when any CRON_TZ line was printed, the crontab ends by setting it
   * back to this, so that entries a user adds below ours keep the machine's zone.
   */
  machineTimezone: string
  /** Where the schedules come from, for the header comment. */
  source: string
}

/** How to add the printed lines to a crontab without replacing the user's own entries. */
export const CRONTAB_INSTALL_HINT = '(crontab -l 2>/dev/null; chaos schedule --print-crontab) | crontab -'

/**
 * Crontab lines for the schedules plus a weekly GameDay (guide section 11: Fridays at 10:00).
 * cron applies a `CRON_TZ=` line to every line after it, so entries are grouped: those on the
 * machine's zone first, then one group per zone under its CRON_TZ line, and a last CRON_TZ line
 * sets the machine's zone back for whatever follows. An empty `specs` renders nothing: a crontab
 * of its own GameDay was never asked for.
 */
export function renderCrontab(specs: readonly ScheduleSpec[], options: CrontabOptions): string[] {
  if (specs.length === 0) return []
  // cron turns an unescaped % into a newline (e.g. --probability 30%).
  const cronSafe = (word: string) => shellQuote(word).replace(/%/g, '\\%')
  const chaos = options.chaos.map(cronSafe).join(' ')
  const cd = `cd ${cronSafe(options.cwd)} &&`
  /** Entries (comment lines then the cron line) by zone; '' is the machine's zone. */
  const groups = new Map<string, string[]>([['', []]])
  const add = (zone: string | undefined, entry: string[]) => {
    const key = zone ?? ''
    groups.set(key, [...(groups.get(key) ?? []), '', ...entry])
  }
  for (const spec of specs) {
    const command = `${cd} ${chaos} run ${cronSafe(spec.selection)} ${[...options.runArgs.map(cronSafe), '--quiet'].join(' ')} >> ${cronSafe(options.logFile)} 2>&1`
    const title = `# ${describeSchedule(spec)}`
    if (spec.cron !== undefined) {
      add(spec.timezone ?? options.timezone, [title, `${spec.cron} ${command}`])
      continue
    }
    // An interval has no time zone: it stays on the machine's.
    const equivalent = cronForEvery(spec.everyMs!)
    if (!equivalent) {
      add(undefined, [
        title,
        `# cron cannot express "every ${formatEvery(spec.everyMs!)}" (it fires at most once a minute and has no fixed period beyond a week); run \`chaos schedule\` in the foreground instead`,
        `# * * * * * ${command}`,
      ])
      continue
    }
    add(undefined, [
      title,
      ...(equivalent.exact
        ? []
        : [
            `# cron cannot express "every ${formatEvery(spec.everyMs!)}" exactly; nearest: every ${formatEvery(equivalent.periodMs)}`,
          ]),
      `${equivalent.pattern} ${command}`,
    ])
  }
  add(options.timezone, [
    '# weekly chaos GameDay (guide section 11): every category as one suite, Fridays at 10:00',
    `0 10 * * 5 ${cd} ${chaos} gameday --log-file ${cronSafe(options.gamedayLogFile)}`,
  ])
  const lines = [
    `# chaos-playbook schedules from ${options.source}`,
    `# add to your crontab: ${CRONTAB_INSTALL_HINT}`,
    '# (a bare "| crontab -" replaces your crontab; running the line above twice adds these entries twice)',
    '# cron does not read your shell profile: put CHAOS_TOKEN in the config file or in this crontab.',
    ...groups.get('')!,
  ]
  const zones = [...groups.keys()].filter((zone) => zone !== '')
  for (const zone of zones) lines.push('', `CRON_TZ=${zone}`, ...groups.get(zone)!.slice(1))
  if (zones.length > 0)
    lines.push(
      '',
      "# back to this machine's time zone for the lines below",
      `CRON_TZ=${options.machineTimezone}`,
    )
  return lines
}
