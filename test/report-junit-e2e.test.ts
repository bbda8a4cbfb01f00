/**
 * `--junit FILE`, `--markdown FILE` and `$GITHUB_STEP_SUMMARY` end to end: the compiled CLI (build
 * first, `npm run build`) against the real sandbox it starts, short fixture scenarios
 * (test/fixtures/run). Every JUnit file is validated by libxml2 (`xmllint`, Debian libxml2-utils)
 * against the JUnit XSD CI servers use (test/fixtures/junit/junit-10.xsd) and read back with XPath.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { fixture } from './run-helpers.js'
import { expectValidJunit as expectValid, xpath } from './junit-helpers.js'
import { assertBuilt, chaos, fast, runBudgetMs, runChaos, stopStragglers, test } from './support/index.js'

beforeAll(assertBuilt)
afterAll(() => stopStragglers())

/** What an earlier step of the same GitHub job left in the summary file: it must stay. */
const EARLIER_STEP = '# Build\n\nearlier step summary\n'
const TABLE_HEADER =
  '| Experiment | Category | State | Hypothesis | Availability | Error rate | p95 | MTTR | Rollback |'

describe.concurrent('--junit / --markdown / $GITHUB_STEP_SUMMARY (compiled CLI, real sandbox)', () => {
  const twoScenarios = ['run', fixture('e2e_pass'), fixture('e2e_failing_check'), ...fast()]
  test(
    'chaos run: a valid JUnit file with a testcase per experiment, the Markdown file, the summary appended',
    async ({ workdir: cwd }) => {
      const summary = join(cwd, 'step-summary.md')
      await writeFile(summary, EARLIER_STEP)
      const args = [...twoScenarios, '--junit', 'out/ci/junit.xml', '--markdown', 'out/chaos.md']
      const result = await runChaos(args, {
        cwd,
        env: { GITHUB_STEP_SUMMARY: summary },
        timeoutMs: runBudgetMs(args, 2),
      })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(1)

      // A folder that did not exist is created; the file is valid against the XSD.
      const junit = join(cwd, 'out', 'ci', 'junit.xml')
      await expectValid(junit)
      const suite = '/testsuites/testsuite'
      expect(await xpath(junit, `count(${suite})`)).toBe('1')
      expect(await xpath(junit, `string(${suite}/@tests)`)).toBe('2')
      expect(await xpath(junit, `string(${suite}/@failures)`)).toBe('1')
      expect(await xpath(junit, `string(${suite}/@errors)`)).toBe('0')
      expect(Number(await xpath(junit, `string(${suite}/@time)`))).toBeGreaterThan(2)
      const passed = `${suite}/testcase[starts-with(@name, "e2e_pass:")]`
      const failed = `${suite}/testcase[starts-with(@name, "e2e_failing_check:")]`
      expect(await xpath(junit, `string(${passed}/@classname)`)).toBe('pms')
      expect(await xpath(junit, `count(${passed}/failure | ${passed}/error)`)).toBe('0')
      expect(await xpath(junit, `count(${failed}/failure)`)).toBe('1')
      expect(await xpath(junit, `string(${failed}/failure/@message)`)).toBe('latency_p95_ms < 1ms during')
      expect(await xpath(junit, `string(${failed}/failure)`)).toMatch(
        /^p95 stays under 1 ms\nlatency_p95_ms < 1ms during: actual \d+(\.\d+)?ms, expected < 1ms$/,
      )
      const report = JSON.parse(
        await readFile(join(cwd, '.playbook', 'chaos_reports', 'latest.json'), 'utf8'),
      ) as { run_id: string }
      expect(await xpath(junit, `string(${suite}/properties/property[@name="run_id"]/@value)`)).toBe(
        report.run_id,
      )
      expect(
        await xpath(
          junit,
          `string(${suite}/properties/property[@name="e2e_failing_check.fault_type"]/@value)`,
        ),
      ).toBe('LATENCY')

      const markdown = await readFile(join(cwd, 'out', 'chaos.md'), 'utf8')
      expect(markdown).toContain(TABLE_HEADER)
      expect(markdown).toMatch(/^\| `e2e_pass` .* \| ✅ COMPLETED \| held \|/m)
      expect(markdown).toMatch(/^\| `e2e_failing_check` .* \| ❌ COMPLETED \| \*\*NOT held\*\* \|/m)
      expect(markdown).toMatch(/^- `e2e_failing_check`: `latency_p95_ms < 1ms during`: actual \d/m)
      // GitHub's contract: append; the earlier step's summary stays in front.
      expect(await readFile(summary, 'utf8')).toBe(`${EARLIER_STEP}${markdown}\n`)
    },
    runBudgetMs(twoScenarios, 2),
  )

  const long = ['run', fixture('e2e_long'), ...fast({ duration: '60s' })]
  test(
    'an interrupted run still writes both files: the experiment is an INTERRUPTED error (exit 130)',
    async ({ workdir: cwd }) => {
      const summary = join(cwd, 'step-summary.md')
      const run = chaos([...long, '--junit', 'junit.xml', '--markdown', 'chaos.md'], {
        cwd,
        env: { GITHUB_STEP_SUMMARY: summary },
      })
      await run.waitFor(/^\d\d:\d\d:\d\d injecting /m)
      run.child.kill('SIGINT')
      const result = await run.child
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(130)
      const junit = join(cwd, 'junit.xml')
      await expectValid(junit)
      const tc = '/testsuites/testsuite/testcase'
      expect(await xpath(junit, `string(${tc}/error/@type)`)).toBe('INTERRUPTED')
      expect(await xpath(junit, `string(${tc}/error/@message)`)).toMatch(/^interrupted \(SIGINT\)/)
      expect(
        await xpath(junit, 'string(/testsuites/testsuite/properties/property[@name="outcome"]/@value)'),
      ).toBe('INTERRUPTED')
      const markdown = await readFile(join(cwd, 'chaos.md'), 'utf8')
      expect(markdown).toMatch(/^## ⏹️ chaos .*: INTERRUPTED \(exit 130\)$/m)
      expect(markdown).toContain('> This run did not finish: the report is partial.')
      expect(await readFile(summary, 'utf8')).toBe(`${markdown}\n`)
    },
    runBudgetMs(long),
  )

  const monkey = [
    'monkey',
    ...['--chance', '1', '--every', '1', '--max-experiments', '2', '--seed', '3'],
    ...['--no-builtin', '--scenarios', join(fixture('e2e_pass'), '..'), '--ids', 'e2e_pass'],
    ...fast(),
  ]
  test(
    'chaos monkey: one testsuite per run under one testsuites root; no step summary without the variable',
    async ({ workdir: cwd }) => {
      const args = [...monkey, '--junit', 'junit.xml', '--markdown', 'chaos.md']
      const result = await runChaos(args, { cwd, timeoutMs: runBudgetMs(args, 2) })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
      const junit = join(cwd, 'junit.xml')
      await expectValid(junit)
      expect(await xpath(junit, 'count(/testsuites/testsuite)')).toBe('2')
      expect(await xpath(junit, 'string(/testsuites/@tests)')).toBe('2')
      expect(await xpath(junit, 'count(//testcase[failure or error])')).toBe('0')
      const markdown = await readFile(join(cwd, 'chaos.md'), 'utf8')
      expect(markdown.split('\n')[0]).toBe('## chaos: 2 runs, 2 passed')
      expect(markdown.split(TABLE_HEADER)).toHaveLength(3)
      expect(existsSync(join(cwd, 'step-summary.md'))).toBe(false)
    },
    runBudgetMs(monkey, 2),
  )

  test('a --junit path that is a directory is refused before anything runs (exit 2)', async ({
    workdir: cwd,
  }) => {
    const result = await runChaos(['run', fixture('e2e_pass'), ...fast(), '--junit', '.'], { cwd })
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(2)
    expect(result.stderr).toMatch(/^Error: --junit .*: is a directory$/m)
    expect(result.stdout).not.toMatch(/started the built-in sandbox/)
  })
})
