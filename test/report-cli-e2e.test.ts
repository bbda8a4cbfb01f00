/**
 * `chaos report latest|list|show` through the real compiled CLI (bin/run.js runs dist/), on a
 * reports directory written by the store. Build first: npx tsc -p tsconfig.build.json
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunRecord } from '../src/record.js'
import { withAnalysis } from '../src/interpretation/rules.js'
import { runDigest } from '../reports/digest.js'
import { serializeRecord } from '../reports/json.js'
import { ReportStore } from '../src/store/report-store.js'
import type { RunSummary } from '../reports/summary.js'
import { guideExperiment, runRecord, skippedExperiment } from './report-fixtures.js'
import { runChaos } from './support/index.js'

const root = join(import.meta.dirname, '..')

let project: string
let reportsDir: string
const older = withAnalysis(runRecord())
const newer = withAnalysis(
  runRecord({
    run_id: '20261129T080000Z-a1b2c3',
    started_at: '2026-11-29T08:00:00.000Z',
    finished_at: '2026-11-29T08:03:00.000Z',
    selection: ['all'],
    outcome: 'ABORTED',
    exit_code: 3,
    partial: true,
    experiments: [
      guideExperiment({ state: 'ABORTED', abort_reason: 'availability 40% below 50%' }),
      skippedExperiment(),
    ],
  }),
)

/** Runs the CLI with a clean environment (no CHAOS_* or NODE_ENV from the shell or vitest). */
function chaos(args: string[], cwd = project) {
  return runChaos(args, { cwd })
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'commands', 'report', 'latest.js')))
    throw new Error('dist/ is missing the report commands: run `npx tsc -p tsconfig.build.json` first')
  project = await mkdtemp(join(tmpdir(), 'chaos-report-cli-'))
  reportsDir = join(project, '.playbook', 'chaos_reports')
  const store = new ReportStore({ dir: reportsDir })
  await store.writeRun(older)
  await store.writeRun(newer)
})
afterAll(async () => {
  await rm(project, { recursive: true, force: true })
})

describe('chaos report latest', () => {
  it('prints the last run as the text report (default reports dir under the cwd)', async () => {
    const r = await chaos(['report', 'latest'])
    expect(r.exitCode, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines.slice(0, 3)).toEqual(runDigest(newer))
    expect(lines[4]).toBe('Chaos run 20261129T080000Z-a1b2c3 [PARTIAL]')
    expect(lines).toContain('Outcome: ABORTED (exit 3)')
    expect(lines).toContain('Abort reason: availability 40% below 50%')
    expect(lines).toContain('  - Affected Requests: 200 (20%) met at least one fault')
    expect(r.stdout).toContain('📝 Action: Experiment aborted: availability 40% below 50%')
    expect(r.stderr).toBe('')
  })

  it('prints the JSON report byte for byte with --format json', async () => {
    const r = await chaos(['report', 'latest', '--format', 'json'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout + '\n').toBe(serializeRecord(newer))
  })

  it('returns the record with --json', async () => {
    const r = await chaos(['report', 'latest', '--json'])
    expect(r.exitCode).toBe(0)
    expect((JSON.parse(r.stdout) as RunRecord).run_id).toBe('20261129T080000Z-a1b2c3')
  })

  it('fails with one line and exit 2 when there is no report yet', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'chaos-report-empty-'))
    try {
      const r = await chaos(['report', 'latest'], empty)
      expect(r.exitCode).toBe(2)
      expect(r.stdout).toBe('')
      expect(r.stderr.split('\n')).toEqual([
        `Error: no chaos run report in ${join(empty, '.playbook', 'chaos_reports')} yet`,
        'Hint: run `chaos run` first',
      ])
    } finally {
      await rm(empty, { recursive: true, force: true })
    }
  })

  it('uses reports_dir from the config file, and --reports-dir over it', async () => {
    const other = await mkdtemp(join(tmpdir(), 'chaos-report-config-'))
    try {
      await writeFile(join(other, 'chaos.config.yaml'), 'reports_dir: ./results\n')
      await new ReportStore({ dir: join(other, 'results') }).writeRun(older)
      const viaConfig = await chaos(['report', 'latest', '--format', 'json'], other)
      expect(viaConfig.exitCode, viaConfig.stderr).toBe(0)
      expect((JSON.parse(viaConfig.stdout) as RunRecord).run_id).toBe(older.run_id)
      const viaFlag = await chaos(
        ['report', 'latest', '--format', 'json', '--reports-dir', reportsDir],
        other,
      )
      expect((JSON.parse(viaFlag.stdout) as RunRecord).run_id).toBe(newer.run_id)
    } finally {
      await rm(other, { recursive: true, force: true })
    }
  })
})

describe('chaos report list', () => {
  it('shows a table of past runs, newest first', async () => {
    // Every column at 160 columns; narrower terminals: test/terminal-output-e2e.test.ts.
    const r = await runChaos(['report', 'list'], { cwd: project, env: { COLUMNS: '160' } })
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toMatch(
      /│ run_id\s+│ started\s+│ selection\s+│ outcome\s+│ experiments\s+│ passed\/failed │/,
    )
    const newerRow = r.stdout.indexOf('│ 20261129T080000Z-a1b2c3 │ 2026-11-29 08:00:00Z │ all')
    const olderRow = r.stdout.indexOf('│ 20261128T112233Z-3f9a1c │ 2026-11-28 11:22:33Z │ pms')
    expect(newerRow).toBeGreaterThan(0)
    expect(olderRow).toBeGreaterThan(newerRow)
    expect(r.stdout).toMatch(/ABORTED \(partial\)\s+│ 2 \(1 skipped\)\s+│ 0\/1/)
    expect(r.stdout).toContain(`2 runs in ${reportsDir}`)
    const narrow = await runChaos(['report', 'list'], { cwd: project, env: { COLUMNS: '80' } })
    expect(narrow.stdout).toMatch(
      /│ 20261129T080000Z-a1b2c3 │ all +│ ABORTED \(part\.\) │ 2 \(1 sk\.\) │ 0\/1 /,
    )
  })

  it('gives one JSON object per run with --format json, and warns about damaged files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-report-list-'))
    try {
      await new ReportStore({ dir }).writeRun(older)
      await writeFile(join(dir, 'torn.json'), serializeRecord(newer).slice(0, 300))
      const r = await chaos(['report', 'list', '--format', 'json', '--reports-dir', dir])
      expect(r.exitCode).toBe(0)
      const runs = JSON.parse(r.stdout) as RunSummary[]
      expect(runs.map((s) => [s.run_id, s.outcome, s.experiments, s.passed, s.failed])).toEqual([
        [older.run_id, 'FAILED', 1, 0, 1],
      ])
      expect(r.stderr).toMatch(
        new RegExp(`^Warning: skipped ${join(dir, 'torn.json')}: not a chaos report \\(not JSON\\)`),
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('says so when there are no runs yet', async () => {
    const dir = join(project, 'nothing-here')
    const r = await chaos(['report', 'list', '--reports-dir', dir])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toBe(`No run reports in ${dir} yet - run \`chaos run\` first.`)
  })
})

describe('chaos report show', () => {
  it('finds a run by id', async () => {
    const r = await chaos(['report', 'show', older.run_id])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout.split('\n').slice(0, 5)).toEqual([...runDigest(older), '', `Chaos run ${older.run_id}`])
    expect(r.stdout).toContain('  ❌ availability > 95% during - actual 85%, expected > 95%')
  })

  it('reads a report file by path, relative to the cwd', async () => {
    const copy = join(project, 'exported', 'report.json')
    await mkdir(join(project, 'exported'), { recursive: true })
    await writeFile(copy, await readFile(join(reportsDir, '20261128T112233Z-pms.json')))
    const r = await chaos(['report', 'show', 'exported/report.json', '--format', 'json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout + '\n').toBe(serializeRecord(older))
  })

  it('fails with exit 2 for an unknown run or a file that is not a report', async () => {
    const unknown = await chaos(['report', 'show', 'no-such-run'])
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr.split('\n')[0]).toBe(`Error: no run report "no-such-run" in ${reportsDir}`)
    await writeFile(join(project, 'notes.json'), '{"hello": 1}')
    const notReport = await chaos(['report', 'show', 'notes.json'])
    expect(notReport.exitCode).toBe(2)
    expect(notReport.stderr).toMatch(/^Error: .*notes\.json: not a chaos report \(/)
    expect(notReport.stderr).not.toMatch(/\n\s+at /)
  })

  it('says "not a chaos report" for any other file without echoing a byte of it (defect 13)', async () => {
    const secret = 'root:x:0:0:hunter2-secret-line:/root:/bin/bash'
    await writeFile(join(project, 'passwd'), `${secret}\ndaemon:x:1:1::/:/usr/sbin/nologin\n`)
    await symlink(join(project, 'passwd'), join(project, 'planted.json'))
    for (const name of ['passwd', 'planted.json']) {
      const r = await chaos(['report', 'show', name])
      expect(r.exitCode, r.stderr).toBe(2)
      expect(r.stderr).toMatch(new RegExp(`^Error: .*${name}: not a chaos report \\(not JSON\\)`))
      expect(r.stdout + r.stderr).not.toMatch(/hunter2|daemon|x:0:0/)
    }
  })

  it('rejects an unknown format as a usage error (exit 2)', async () => {
    const r = await chaos(['report', 'show', older.run_id, '--format', 'yaml'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^Error: Expected --format=yaml to be one of: text, json/)
  })
})
