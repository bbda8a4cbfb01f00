/**
 * Nothing lost, through the compiled CLI: a reports directory that cannot hold reports is a
 * configuration error found before anything starts (exit 2, one line naming reports_dir), and a
 * report that cannot be written at the end of a run is printed instead, with the failed write named
 * (exit 4). The tests run as root, where permission bits deny nothing: the failures are a file
 * where a directory must be (EEXIST/ENOTDIR) and a directory where a report file must be (EISDIR).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect } from 'vitest'
import { RunRecord } from '../src/record.js'
import { fixture, REPORTS } from './run-helpers.js'
import { fast, runChaos, test } from './support/index.js'

describe('a misconfigured reports directory (exit 2, before anything starts)', () => {
  test('reports_dir naming a file, or under a file: one line naming reports_dir, no sandbox started', async ({
    workdir: cwd,
  }) => {
    await writeFile(join(cwd, 'reports-file'), 'not a directory\n')
    await writeFile(join(cwd, 'chaos.config.yaml'), 'reports_dir: reports-file\n')
    const run = await runChaos(['run', 'network_latency', ...fast()], { cwd })
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(2)
    expect(run.stderr.split('\n')).toEqual([
      `Error: reports_dir ${join(cwd, 'reports-file')}: it is a file, not a directory`,
      `Hint: point reports_dir in ${join(cwd, 'chaos.config.yaml')} at a writable directory (default .playbook/chaos_reports), or move what is in the way`,
    ])
    expect(run.stdout).not.toContain('sandbox')

    await writeFile(join(cwd, 'chaos.config.yaml'), 'reports_dir: reports-file/runs\n')
    const gameday = await runChaos(['gameday', '--categories', 'network', ...fast()], { cwd })
    expect(gameday.exitCode, `${gameday.stdout}\n${gameday.stderr}`).toBe(2)
    expect(gameday.stderr).toMatch(
      /^Error: reports_dir \S+reports-file\/runs: a parent of it is a file, not a directory\n/,
    )
    expect(gameday.stdout).not.toContain('sandbox')
  })
})

describe('a report that cannot be written at the end of a run (exit 4)', () => {
  test('the record is printed (text, or JSON with --json) and the error names the failed file', async ({
    workdir: cwd,
  }) => {
    // A directory where latest.json must go: the run itself, its lock and its other files are fine.
    const latest = join(cwd, REPORTS, 'latest.json')
    await mkdir(latest, { recursive: true })
    const args = ['run', fixture('e2e_pass'), ...fast({ duration: '1s' })]

    const text = await runChaos([...args, '--quiet'], { cwd })
    expect(text.exitCode, `${text.stdout}\n${text.stderr}`).toBe(4)
    expect(text.stderr.split('\n')[0]).toMatch(
      new RegExp(
        `^Error: the run ended \\((PASSED|FAILED|INCONCLUSIVE)\\) but its report was not written: ${latest}: EISDIR`,
      ),
    )
    expect(text.stderr).not.toMatch(/run\.lock|\n\s+at /)
    // --quiet still prints the record: it is the only complete copy.
    expect(text.stdout).toMatch(/^Chaos run \S+$/m)
    expect(text.stdout).toContain('Rollback: verified')

    const json = await runChaos([...args, '--json'], { cwd })
    expect(json.exitCode, `${json.stdout}\n${json.stderr}`).toBe(4)
    // With --json the error is one line on stdout, and the record travels inside it.
    const error = JSON.parse(json.stdout) as { error: string; exit_code: number; record: unknown }
    expect(error.exit_code).toBe(4)
    expect(error.error).toContain(`but its report was not written: ${latest}: EISDIR`)
    const record = RunRecord.parse(error.record)
    expect(record.experiments[0]).toMatchObject({ id: 'e2e_pass', rollback: { verified: true } })
    // The lock was released both times (the second run could start), and nothing else is missing.
    expect((await readdir(join(cwd, REPORTS))).filter((n) => n === 'run.lock')).toEqual([])
  })
})
