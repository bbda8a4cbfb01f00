/**
 * The run's terminal output as users see it (compiled CLI, built-in sandbox): piped, live lines are
 * timestamped sentences with no event names (those stay in events.jsonl and, beside each line, in
 * --log-file); the run prints its short plan first and ends with the summary table and the report
 * files. Tables fit 80 and 160 columns piped (COLUMNS) and in a real pty; on a pty that reports 0
 * columns the spinner runs as at 80 columns instead of redrawing without end.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { CHAOS_EVENTS } from '../src/record.js'
import { fixture, readEvents, REPORTS } from './run-helpers.js'
import { assertBuilt, fast, runBudgetMs, runChaos, stopStragglers, test } from './support/index.js'
import { hasScript, inPty } from './support/pty.js'

beforeAll(assertBuilt)
afterAll(() => stopStragglers())

const TIME = /^\d\d:\d\d:\d\d /

/** Lines of terminal output as displayed: carriage returns (spinner redraws) split lines too. */
const displayed = (text: string) => text.split(/\r?\n|\r/)

/** The lines wider than `width` (none expected). */
const tooWide = (text: string, width: number) => displayed(text).filter((line) => line.length > width)

/**
 * A pty's output as lines on the screen: a cursor move to a column or a line starts a new line
 * (ora redraws its spinner that way); other escape sequences take no room.
 */
const screen = (raw: string) =>
  raw
    // eslint-disable-next-line no-control-regex -- terminal escape sequences
    .replace(/\x1b\[\d*[GAB]/g, '\r')
    // eslint-disable-next-line no-control-regex -- terminal escape sequences
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')

const RUN = ['run', fixture('e2e_pass'), ...fast()]

describe.concurrent('terminal output of chaos run (compiled CLI)', () => {
  test(
    'piped: plan first, timestamped sentences, the short end; event names in events.jsonl and --log-file; tables fit 80 and 160 columns',
    async ({ workdir: cwd }) => {
      const result = await runChaos([...RUN, '--log-file', 'run.log'], { cwd, env: { COLUMNS: '80' } })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
      const lines = result.stdout.split('\n')
      expect(lines[0]).toMatch(/^Plan: 1 experiment, about \S+ \(at most \S+ with recovery waits\)$/)
      expect(lines[1]).toMatch(/^ {2} 1\. e2e_pass +\w+ on \w+, /)

      const live = lines.filter((line) => TIME.test(line))
      expect(live.length).toBeGreaterThanOrEqual(5)
      expect(live).toContainEqual(
        expect.stringMatching(/^\S+ preflight passed: 1 instance, environment development$/),
      )
      expect(live).toContainEqual(expect.stringMatching(/^\S+ injecting \w+ into \w+ \(\S+, \w+\) for 3s$/))
      expect(live).toContainEqual(expect.stringMatching(/^\S+ rolled back \(DELETE\), verified$/))
      for (const name of CHAOS_EVENTS) expect(result.stdout).not.toContain(name)

      // The end: summary table, report files, outcome; not the text report's blocks.
      expect(result.stdout).toMatch(/│ e2e_pass +│/)
      expect(result.stdout).not.toContain('Experiment: ')
      expect(lines.slice(-5)).toEqual([
        `reports in ${REPORTS}/`,
        expect.stringMatching(/^ {2}\S+-e2e_pass\.txt$/),
        expect.stringMatching(/^ {2}\S+-e2e_pass\.json$/),
        expect.stringMatching(/^ {2}\S+-e2e_pass\.html$/),
        'PASSED (exit 0)',
      ])
      // The digest comes before the report files: verdict, checks, what to do.
      expect(result.stdout).toMatch(/^PASSED — .*\n.*\n.*\nreports in /m)
      expect(tooWide(result.stdout, 80)).toEqual([])

      const events = (await readEvents(cwd)).map((e) => e.event)
      expect(events).toEqual(
        expect.arrayContaining([
          'chaos_preflight_passed',
          'chaos_experiment_started',
          'chaos_experiment_context_exited',
        ]),
      )
      const log = await readFile(join(cwd, 'run.log'), 'utf8')
      expect(log).toMatch(/^\d\d:\d\d:\d\d injecting .* \[chaos_experiment_started\]$/m)
      expect(log).toMatch(
        /^\d\d:\d\d:\d\d rolled back \(DELETE\), verified \[chaos_experiment_context_exited\]$/m,
      )

      for (const width of [80, 160]) {
        const env = { COLUMNS: String(width) }
        for (const args of [['list', 'pms'], ['list'], ['report', 'list']]) {
          const r = await runChaos(args, { cwd, env })
          expect(r.exitCode, r.stderr).toBe(0)
          expect(tooWide(r.stdout, width), `${args.join(' ')} at ${width}`).toEqual([])
          expect(r.stdout).toContain('┌')
        }
      }
      // At 160 the catalogue keeps every column.
      expect((await runChaos(['list'], { cwd, env: { COLUMNS: '160' } })).stdout).toMatch(
        /│ id +│ category +│ fault +│/,
      )
    },
    runBudgetMs(RUN) + 60_000,
  )

  test.skipIf(!hasScript)(
    'in a pty of 80 columns: the run, chaos list pms and report list fit; the run ends with the table',
    async ({ workdir: cwd }) => {
      const run = inPty(RUN, cwd, { cols: 80 })
      const result = await run.child
      expect(result.exitCode, run.output()).toBe(0)
      expect(tooWide(screen(run.raw()), 80)).toEqual([])
      expect(run.output()).toMatch(/│ e2e_pass +│/)
      expect(screen(run.raw())).toMatch(/(^|\r)\d\d:\d\d:\d\d injecting /m)
      for (const args of [
        ['list', 'pms'],
        ['report', 'list'],
      ]) {
        const pty = inPty(args, cwd, { cols: 80, timeoutMs: 60_000 })
        expect((await pty.child).exitCode, pty.output()).toBe(0)
        expect(tooWide(screen(pty.raw()), 80), args.join(' ')).toEqual([])
        expect(pty.output()).toContain('┌')
      }
    },
    runBudgetMs(RUN) + 120_000,
  )

  test.skipIf(!hasScript)(
    'in a pty that reports 0 columns: the spinner runs as at 80 columns, without a flood of cursor moves',
    async ({ workdir: cwd }) => {
      const run = inPty(RUN, cwd, { cols: 0 })
      const result = await run.child
      expect(result.exitCode, run.output()).toBe(0)
      const raw = run.raw()
      // ora's "dots" frames: the spinner did run.
      const frames = (raw.match(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/g) ?? []).length
      expect(frames).toBeGreaterThan(5)
      // One cursor-up per wrapped spinner line at most; at 0 columns ora counted infinitely many.
      // eslint-disable-next-line no-control-regex -- terminal escape sequences
      const ups = (raw.match(/\x1b\[\d*A/g) ?? []).length
      expect(ups).toBeLessThanOrEqual(frames)
      expect(tooWide(screen(raw), 80)).toEqual([])
    },
    runBudgetMs(RUN),
  )
})
