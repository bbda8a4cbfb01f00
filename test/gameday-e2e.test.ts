/**
 * `chaos gameday`: categories as one suite, one combined report, exit 0 only when every hypothesis
 * held, `--log-file`, and the refusal of an overlapping invocation (exit 3, before anything starts).
 * The CLI cases run the compiled CLI against the built-in sandbox with the fixture catalogue in
 * test/fixtures/gameday (`--no-builtin`): one passing scenario in network and in pms, one failing
 * in database.
 */
import { existsSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { categoryTable, summarizeByCategory } from '../reports/gameday.js'
import { openLogFile, teeOutput } from '../src/cli/log-file.js'
import { createOutput } from '../src/cli/output.js'
import { ChaosError } from '../src/errors.js'
import { Chalk } from 'chalk'
import { parse as parseYaml } from 'yaml'
import Gameday from '../commands/gameday.js'
import { guideExperiment, runRecord, skippedExperiment } from './report-fixtures.js'
import { REPORTS, latestReport } from './run-helpers.js'
import { ROOT, chaos, fast, runBudgetMs, runChaos, test } from './support/index.js'

const FIXTURES = join(ROOT, 'test', 'fixtures', 'gameday')
const GAMEDAY = ['gameday', '--no-builtin', '--scenarios', FIXTURES]

function thrown(fn: () => unknown): ChaosError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ChaosError) return err
    throw err
  }
  throw new Error('did not throw')
}

/** The run reports in a reports directory (not latest.json). */
async function runReports(cwd: string): Promise<string[]> {
  return (await readdir(join(cwd, REPORTS))).filter((f) => f.endsWith('.json') && f !== 'latest.json')
}

describe('GameDay summary by category', () => {
  it('counts held, not held, inconclusive, stopped and skipped experiments per category', () => {
    const record = runRecord({
      experiments: [
        guideExperiment({ hypothesis_held: true }),
        guideExperiment({ id: 'pms_slow', hypothesis_held: false }),
        guideExperiment({ id: 'pms_unmeasured', hypothesis_held: null }),
        guideExperiment({ id: 'pms_refused', state: 'ABORTED', hypothesis_held: null }),
        skippedExperiment('network_latency'),
      ],
    })
    const summary = summarizeByCategory(record)
    expect(summary).toEqual([
      { category: 'pms', experiments: 4, held: 1, not_held: 1, inconclusive: 1, stopped: 1, skipped: 0 },
      { category: 'network', experiments: 1, held: 0, not_held: 0, inconclusive: 0, stopped: 0, skipped: 1 },
    ])
    const table = categoryTable(summary, new Chalk({ level: 0 }))
    expect(table).toMatch(/│ pms\s+│ 4\s+│ 1\s+│ 1\s+│ 1\s+│ 1\s+│ 0\s+│/)
    expect(table).toMatch(/│ total\s+│ 5\s+│ 1\s+│ 1\s+│ 1\s+│ 1\s+│ 1\s+│/)
  })
})

describe('--log-file output', () => {
  test('appends every line, plain, to the file while printing as usual', async ({ workdir: cwd }) => {
    const file = join(cwd, 'chaos.log')
    const printed: string[] = []
    const sink = (into: string[]) =>
      ({ write: (s: string) => into.push(s) }) as unknown as NodeJS.WritableStream
    const base = createOutput({
      stdout: sink(printed),
      stderr: sink(printed),
      color: true,
      tty: false,
      json: false,
      debug: false,
    })
    for (const round of [1, 2]) {
      const log = openLogFile(file)
      const out = teeOutput(base, log)
      out.line(out.color.green(`held ${round}`))
      out.errorLine(out.color.yellow(`warning ${round}`))
      out.debugLine('not in the log without --debug')
      log.close()
      out.line('after close: terminal only')
    }
    expect(printed.join('')).toContain('\u001b[32mheld 1\u001b[39m')
    expect(await readFile(file, 'utf8')).toBe('held 1\nwarning 1\nheld 2\nwarning 2\n')
  })

  test('refuses a path it cannot open with exit 2', ({ workdir: cwd }) => {
    const err = thrown(() => openLogFile(join(cwd, 'missing-dir', 'x.log')))
    expect(err.exitCode).toBe(2)
    expect(err.message).toMatch(/^--log-file .*x\.log: cannot open for appending \(ENOENT\)$/)
  })
})

// Concurrent, at most `maxConcurrency` (vitest.config.ts) at once; each case's timeout is the budget
// of the runs it makes (runBudgetMs: their configured phases plus start-up), not a fixed constant.
const ARGS = [...GAMEDAY, ...fast({ duration: '2s' })]

describe.concurrent('chaos gameday (compiled CLI, built-in sandbox)', () => {
  const passArgs = [...ARGS, '--log-file', 'gameday.log', '--categories', 'pms,network']
  const failArgs = [...ARGS, '--log-file', 'gameday.log', '--categories', 'database', '--json']
  test(
    'runs the chosen categories as one suite (exit 0), writes one combined report and appends to --log-file',
    async ({ workdir: cwd }) => {
      const pass = await runChaos(passArgs, { cwd, timeoutMs: runBudgetMs(passArgs, 2) })
      expect(pass.exitCode, `${pass.stdout}\n${pass.stderr}`).toBe(0)
      expect(pass.stdout).toMatch(/^chaos gameday \S+ \(pid \d+\): 2 experiments in network, pms$/m)
      expect(pass.stdout).toContain('GameDay PASSED (exit 0)')
      expect(pass.stdout).toMatch(/^Plan: 2 experiments, about \S+/m)

      const report = await latestReport(cwd)
      expect(report.selection).toEqual(['network', 'pms'])
      expect(report.experiments.map((e) => [e.id, e.hypothesis_held])).toEqual([
        ['gd_network_pass', true],
        ['gd_pms_pass', true],
      ])
      expect(await runReports(cwd)).toHaveLength(1)
      // The text report is written and its path printed; it is the combined GameDay report.
      const printed = /^report: (\S+\.txt) \(json: (\S+\.json)\)$/m.exec(pass.stdout)
      expect(printed).not.toBeNull()
      const text = await readFile(printed![1]!, 'utf8')
      expect(text).toBe(await readFile(join(cwd, REPORTS, 'latest.txt'), 'utf8'))
      expect(text).toContain('gd_network_pass')
      expect(text).toContain('gd_pms_pass')

      // The log has every stdout line, in order, without colour; a live line also names its event.
      const log1 = await readFile(join(cwd, 'gameday.log'), 'utf8')
      expect(log1.replace(/ \[chaos_[a-z_]+\]$/gm, '')).toBe(String(pass.stdout).trimEnd() + '\n')
      expect(log1).toMatch(/^\d\d:\d\d:\d\d injecting .* \[chaos_experiment_started\]$/m)
      expect(pass.stdout).not.toMatch(/chaos_[a-z]+_[a-z]/)
      expect(log1).not.toContain('\u001b')

      // A second GameDay with the failing category: exit 1, appended to the same log, JSON result.
      const fail = await runChaos(failArgs, { cwd })
      expect(fail.exitCode, String(fail.stderr)).toBe(1)
      const result = JSON.parse(String(fail.stdout)) as {
        outcome: string
        exit_code: number
        categories: string[]
        by_category: unknown[]
        report: { text: string }
      }
      expect(result).toMatchObject({ outcome: 'FAILED', exit_code: 1, categories: ['database'] })
      expect(result.by_category).toEqual([
        {
          category: 'database',
          experiments: 1,
          held: 0,
          not_held: 1,
          inconclusive: 0,
          stopped: 0,
          skipped: 0,
        },
      ])
      expect(existsSync(result.report.text)).toBe(true)
      const log2 = await readFile(join(cwd, 'gameday.log'), 'utf8')
      expect(log2.startsWith(log1)).toBe(true)
      expect(log2.slice(log1.length)).toMatch(/^chaos gameday .*: 1 experiments in database\n/)
      expect(log2).toMatch(/gd_database_fails: hypothesis FAILED/)
      expect(log2.trimEnd().split('\n').at(-1)).toBe('GameDay FAILED (exit 1)')
      expect(await runReports(cwd)).toHaveLength(2)
    },
    runBudgetMs(passArgs, 2) + runBudgetMs(failArgs),
  )

  const allArgs = [...ARGS, '--quiet']
  test(
    'exits 1 when any hypothesis fails, after running every category',
    async ({ workdir: cwd }) => {
      const result = await runChaos(allArgs, { cwd, timeoutMs: runBudgetMs(allArgs, 3) })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(1)
      const report = await latestReport(cwd)
      expect(report.selection).toEqual(['network', 'database', 'pms'])
      expect(report.experiments.map((e) => [e.id, e.state, e.hypothesis_held])).toEqual([
        ['gd_network_pass', 'COMPLETED', true],
        ['gd_database_fails', 'COMPLETED', false],
        ['gd_pms_pass', 'COMPLETED', true],
      ])
      expect(result.stdout).toMatch(/│ total\s+│ 3\s+│ 2\s+│ 1\s+│ 0\s+│ 0\s+│/)
      expect(result.stdout).toContain('GameDay FAILED (exit 1)')
    },
    runBudgetMs(allArgs, 3),
  )

  const firstArgs = [
    ...GAMEDAY,
    '--categories',
    'pms',
    ...fast({ duration: '60s' }),
    '--log-file',
    'first.log',
  ]
  const secondArgs = [...ARGS, '--categories', 'network', '--log-file', 'second.log']
  test(
    'refuses an overlapping invocation at once with exit 3 (before starting anything)',
    async ({ workdir: cwd }) => {
      const first = chaos(firstArgs, { cwd })
      await first.waitFor(/^\d\d:\d\d:\d\d injecting /)
      const pid = first.child.pid!

      const second = await runChaos(secondArgs, { cwd })
      expect(second.exitCode, `${second.stdout}\n${second.stderr}`).toBe(3)
      const refusal = `Error: another chaos run is using ${join(cwd, REPORTS)}: pid ${pid}, selection "pms"`
      expect(second.stderr).toContain(refusal)
      expect(second.stderr).toContain(`Hint: wait for it to finish or stop it (kill -INT ${pid})`)
      expect(second.stdout).not.toContain('started the built-in sandbox')
      expect(await readFile(join(cwd, 'second.log'), 'utf8')).toContain(refusal)

      // The first GameDay is unaffected: interrupted now, it rolls back and exits 130.
      first.child.kill('SIGINT')
      const done = await first.child
      expect(done.exitCode, String(done.stderr)).toBe(130)
      const report = await latestReport(cwd)
      expect(report.selection).toEqual(['pms'])
      expect(report.experiments[0]!.rollback.verified).toBe(true)
      expect(existsSync(join(cwd, REPORTS, 'run.lock'))).toBe(false)
    },
    runBudgetMs(firstArgs) + runBudgetMs(secondArgs),
  )

  test('rejects bad input with exit 2 and one line naming the flag', async ({ workdir: cwd }) => {
    const typo = await runChaos(['gameday', '--categories', 'netwrok'], { cwd })
    expect(typo.exitCode).toBe(2)
    expect(typo.stderr).toContain('Error: --categories: "netwrok" is not a category')
    const empty = await runChaos(['gameday', '--no-builtin', '--categories', 'service'], { cwd })
    expect(empty.exitCode).toBe(2)
    expect(empty.stderr).toContain('Error: no scenarios in category service')
    expect(existsSync(join(cwd, REPORTS))).toBe(false)
  })
})

describe('the example CI workflows (docs/examples)', () => {
  interface Step {
    run?: string
    uses?: string
    with?: { path?: string }
  }
  interface Workflow {
    on: { schedule?: Array<{ cron: string }>; workflow_dispatch?: unknown; push?: unknown }
    jobs: Record<string, { needs?: string | string[]; steps: Step[] }>
  }
  const read = async (name: string) =>
    parseYaml(await readFile(join(ROOT, 'docs', 'examples', name), 'utf8')) as Workflow
  const known = new Set([...Object.keys(Gameday.flags), ...Object.keys(Gameday.baseFlags), 'json'])
  /** Every `--flag` of the `npx chaos gameday` lines exists on the command. */
  const gamedayFlags = (steps: Step[]) =>
    steps
      .flatMap((s) => (s.run ?? '').split('\n'))
      .filter((line) => line.includes('npx chaos gameday'))
      .flatMap((line) => [...line.matchAll(/--([\w-]+)/g)].map((m) => m[1]!))

  it('nightly: cron at 2 AM and manual trigger, npm ci, npx chaos gameday, uploads latest.txt', async () => {
    const wf = await read('chaos-ci.yml')
    expect(wf.on.schedule).toEqual([{ cron: '0 2 * * *' }])
    expect(wf.on).toHaveProperty('workflow_dispatch')
    const steps = wf.jobs['chaos-tests']!.steps
    const runs = steps.map((s) => s.run ?? '')
    expect(runs.findIndex((r) => r.includes('npm ci'))).toBeLessThan(
      runs.findIndex((r) => r.includes('npx chaos gameday')),
    )
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))
    expect(upload?.with?.path).toContain('.playbook/chaos_reports/latest.txt')
    const flags = gamedayFlags(steps)
    expect(flags.length).toBeGreaterThan(0)
    for (const flag of flags) expect(known, `--${flag}`).toContain(flag)
  })

  it('pre-deployment gate: production deploys only after the chaos gate job', async () => {
    const wf = await read('chaos-gate.yml')
    expect(wf.jobs['deploy-production']!.needs).toBe('chaos-gate')
    const flags = gamedayFlags(wf.jobs['chaos-gate']!.steps)
    expect(flags).toContain('categories')
    for (const flag of flags) expect(known, `--${flag}`).toContain(flag)
  })
})
