/**
 * `chaos report diff` and `chaos report show` on two real runs: the compiled CLI (build first:
 * `npm run build`) runs the same passing scenario twice against its own sandbox, then compares
 * them (text and --json) and shows the first run by everything a run prints or `report list`
 * shows: the .txt path, the .json path, the run id and a unique prefix of it.
 */
import { join } from 'node:path'
import { describe, expect } from 'vitest'
import { runDigest } from '../reports/digest.js'
import type { RunDiff } from '../reports/run-diff.js'
import { RunRecord } from '../src/record.js'
import { fixture, REPORTS } from './run-helpers.js'
import { assertBuilt, fast, runBudgetMs, runChaos, test } from './support/index.js'

/** The report commands after the runs: a dozen CLI starts, each CPU-bound on a loaded machine. */
const REPORT_COMMANDS_BUDGET_MS = 120_000

/** One real run; returns the record and the .txt path the run printed. */
async function realRun(cwd: string): Promise<{ record: RunRecord; txt: string }> {
  const r = await runChaos(['run', fixture('e2e_pass'), ...fast(), '-q'], { cwd })
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0)
  // The text report's path, wherever the run's closing lines print it.
  const txt = /(\/\S+?\.txt)(?=\s|$)/m.exec(r.stdout)?.[1]
  expect(txt, r.stdout).toBeDefined()
  const show = await runChaos(['report', 'show', txt!, '--format', 'json'], { cwd })
  expect(show.exitCode, show.stderr).toBe(0)
  return { record: RunRecord.parse(JSON.parse(show.stdout)), txt: txt! }
}

describe('chaos report diff / show on two real runs', () => {
  test(
    'compares the two latest runs of the selection, and show finds a run by what the run printed',
    async ({ workdir: cwd }) => {
      assertBuilt()
      const first = await realRun(cwd)
      const second = await realRun(cwd)
      expect(first.record.run_id).not.toBe(second.record.run_id)

      // Text: both runs named, the one experiment compared measure by measure.
      const text = await runChaos(['report', 'diff'], { cwd })
      expect(text.exitCode, text.stderr).toBe(0)
      const lines = text.stdout.split('\n')
      expect(lines[0]).toMatch(
        new RegExp(`^then: ${first.record.run_id}  \\S+ \\S+  PASSED  e2e_pass\\.yaml$`),
      )
      expect(lines[1]).toMatch(new RegExp(`^now:  ${second.record.run_id} `))
      // Two real runs on a shared machine may differ beyond the tolerances (a p95 spike): the line
      // says which, and the JSON below must agree with it.
      const verdictLine = lines.find((l) => /^e2e_pass: (no regression|REGRESSED)/.test(l))
      expect(verdictLine, text.stdout).toBeDefined()
      for (const label of ['availability', 'error rate  ', 'p95         ', 'MTTR        ', 'hypothesis  '])
        expect(
          lines.some((l) => l.startsWith(`  ${label}`)),
          label,
        ).toBe(true)
      expect(text.stdout).toMatch(/^ {2}hypothesis {3}held → held$/m)
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80)

      // --json: the typed result, with the measured values of both reports.
      const json = await runChaos(['report', 'diff', '--json'], { cwd })
      expect(json.exitCode, json.stderr).toBe(0)
      const diff = JSON.parse(json.stdout) as RunDiff
      expect(diff.then.run_id).toBe(first.record.run_id)
      expect(diff.now.run_id).toBe(second.record.run_id)
      expect(diff.then.file).toBe(first.txt.replace(/\.txt$/, '.json'))
      expect(diff.experiments).toHaveLength(1)
      const e = diff.experiments[0]!
      const [a, b] = [first.record.experiments[0]!, second.record.experiments[0]!]
      expect(e).toMatchObject({
        id: 'e2e_pass',
        presence: 'BOTH',
        availability: { then: a.metrics.during!.availability, now: b.metrics.during!.availability },
        error_rate: { then: a.metrics.during!.error_rate, now: b.metrics.during!.error_rate },
        latency_p95_ms: { then: a.metrics.during!.latency_ms.p95, now: b.metrics.during!.latency_ms.p95 },
        mttr_seconds: { then: a.metrics.mttr_seconds, now: b.metrics.mttr_seconds },
        hypothesis: { then: 'HELD', now: 'HELD', change: 'SAME' },
      })
      expect(diff.regressions).toBe(e.regressions.length)
      expect(verdictLine).toMatch(
        e.regressions.length === 0 ? /^e2e_pass: no regression/ : /^e2e_pass: REGRESSED/,
      )

      // Naming the runs: the same pair either way; reversed, then and now swap.
      const named = await runChaos(['report', 'diff', first.txt, second.record.run_id, '--json'], { cwd })
      expect((JSON.parse(named.stdout) as RunDiff).then.run_id, named.stderr).toBe(first.record.run_id)

      // `report show` by the .txt path, the .json path, the run id and a unique prefix: the same report.
      const json1 = join(
        cwd,
        REPORTS,
        `${first.txt
          .split('/')
          .pop()!
          .replace(/\.txt$/, '')}.json`,
      )
      const prefix = first.record.run_id.slice(0, -3)
      for (const ref of [first.txt, json1, first.record.run_id, prefix]) {
        const show = await runChaos(['report', 'show', ref], { cwd })
        expect(show.exitCode, `${ref}: ${show.stderr}`).toBe(0)
        expect(show.stdout.split('\n').slice(0, 5), ref).toEqual([
          ...runDigest(first.record),
          '',
          `Chaos run ${first.record.run_id}`,
        ])
      }
      expect(runDigest(first.record)[0]).toBe('PASSED — 1 of 1 experiment held its hypothesis')

      // A prefix both runs share is ambiguous: exit 2, both candidates named, and a hint.
      const shared = [...first.record.run_id].findIndex((ch, i) => ch !== second.record.run_id[i])
      const ambiguous = await runChaos(
        ['report', 'show', first.record.run_id.slice(0, Math.min(shared, 8))],
        {
          cwd,
        },
      )
      expect(ambiguous.exitCode).toBe(2)
      expect(ambiguous.stderr).toContain(first.record.run_id)
      expect(ambiguous.stderr).toContain(second.record.run_id)
      expect(ambiguous.stderr).toMatch(/^Error: "\S+" matches 2 runs in .*\nHint: give more of the run id/)
    },
    2 * runBudgetMs(fast()) + REPORT_COMMANDS_BUDGET_MS,
  )
})
