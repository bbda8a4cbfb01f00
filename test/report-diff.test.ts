/**
 * `chaos report diff` below the command: the comparison of two hand-built records
 * (reports/run-diff.ts), its text (reports/diff.ts) and which stored runs are compared
 * (src/store/run-pair.ts, on a real temp directory).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { renderRunDiff } from '../reports/diff.js'
import { diffRuns, DIFF_TOLERANCES, type RunFile } from '../reports/run-diff.js'
import { InvalidInputError } from '../src/errors.js'
import type { ExperimentRecord, RunRecord } from '../src/record.js'
import { ReportStore } from '../src/store/report-store.js'
import { pickRunsToDiff } from '../src/store/run-pair.js'
import { guideExperiment, phase, runRecord, skippedExperiment } from './report-fixtures.js'

/** The guide's experiment, healthy: 99 % available, 1 % errors, p95 40 ms, MTTR 10 s, held. */
function healthy(overrides: Partial<ExperimentRecord> = {}): ExperimentRecord {
  const e = guideExperiment()
  return guideExperiment({
    hypothesis_held: true,
    metrics: {
      ...e.metrics,
      during: phase({ successful_requests: 990, failed_requests: 10, availability: 0.99, error_rate: 0.01 }),
      mttr_seconds: 10,
    },
    ...overrides,
  })
}

function run(id: string, experiments: ExperimentRecord[], overrides: Partial<RunRecord> = {}): RunFile {
  return { file: `/reports/${id}.json`, record: runRecord({ run_id: id, experiments, ...overrides }) }
}

describe('diffRuns', () => {
  it('finds nothing to say about a run compared with itself', () => {
    const a = run('a', [healthy(), skippedExperiment()])
    const diff = diffRuns(a, a)
    expect(diff.regressions).toBe(0)
    expect(diff.regressed_experiments).toEqual([])
    expect(diff.experiments[0]).toMatchObject({
      id: 'pms_api_failure',
      presence: 'BOTH',
      availability: { then: 0.99, now: 0.99, change: 'SAME' },
      hypothesis: { then: 'HELD', now: 'HELD', change: 'SAME' },
    })
  })

  it('marks every measure that got worse beyond its tolerance', () => {
    const now = guideExperiment({
      metrics: {
        ...guideExperiment().metrics,
        during: {
          ...guideExperiment().metrics.during!,
          latency_ms: { p50: 20, p95: 90, p99: 120, max: 200 },
        },
        mttr_seconds: 45,
      },
    })
    const diff = diffRuns(run('then', [healthy()]), run('now', [now]))
    const e = diff.experiments[0]!
    expect(e.availability).toEqual({ then: 0.99, now: 0.85, change: 'REGRESSED' })
    expect(e.error_rate).toEqual({ then: 0.01, now: 0.15, change: 'REGRESSED' })
    expect(e.latency_p95_ms).toEqual({ then: 40, now: 90, change: 'REGRESSED' })
    expect(e.mttr_seconds).toEqual({ then: 10, now: 45, change: 'REGRESSED' })
    expect(e.hypothesis).toEqual({ then: 'HELD', now: 'NOT_HELD', change: 'REGRESSED' })
    expect(e.regressions).toEqual([
      'availability',
      'error_rate',
      'latency_p95_ms',
      'mttr_seconds',
      'hypothesis',
    ])
    expect(diff.regressions).toBe(5)
    expect(diff.regressed_experiments).toEqual(['pms_api_failure'])
    // The other way round, the same amounts are improvements.
    const back = diffRuns(run('now', [now]), run('then', [healthy()])).experiments[0]!
    expect(back.regressions).toEqual([])
    expect(back.availability.change).toBe('IMPROVED')
    expect(back.hypothesis.change).toBe('IMPROVED')
  })

  it('does not call sampling noise a regression: the tolerance grows as the request count shrinks', () => {
    const at = (n: number, availability: number) =>
      healthy({
        metrics: {
          ...healthy().metrics,
          during: phase({ total_requests: n, availability, error_rate: 1 - availability }),
        },
      })
    // 95 % → 92 % over 60 requests is well within two standard errors (about 8 points).
    expect(
      diffRuns(run('a', [at(60, 0.95)]), run('b', [at(60, 0.92)])).experiments[0]!.availability.change,
    ).toBe('SAME')
    // The same 3 points over 10 000 requests each is real.
    expect(
      diffRuns(run('a', [at(10_000, 0.95)]), run('b', [at(10_000, 0.92)])).experiments[0]!.availability
        .change,
    ).toBe('REGRESSED')
    // Within the points tolerance however many requests: 0.5 point.
    expect(
      diffRuns(run('a', [at(1_000_000, 0.995)]), run('b', [at(1_000_000, 0.99)])).experiments[0]!.availability
        .change,
    ).toBe('SAME')
    expect(DIFF_TOLERANCES.ratio_points).toBe(0.01)
  })

  it('keeps "not measured" as null and compares nothing with it', () => {
    const notInjected = guideExperiment({
      state: 'ABORTED',
      hypothesis_held: null,
      injected_at: null,
      metrics: { baseline: phase(), during: null, recovery: null, mttr_seconds: null, recovered: false },
    })
    const e = diffRuns(run('a', [healthy()]), run('b', [notInjected])).experiments[0]!
    expect(e.availability).toEqual({ then: 0.99, now: null, change: 'NOT_COMPARED' })
    expect(e.latency_p95_ms).toEqual({ then: 40, now: null, change: 'NOT_COMPARED' })
    expect(e.mttr_seconds).toEqual({ then: 10, now: null, change: 'NOT_COMPARED' })
    expect(e.recovered).toEqual({ then: true, now: null, change: 'NOT_COMPARED' })
    expect(e.requests).toEqual({ then: 1000, now: null })
    // Held → not decided (aborted) is still a regression of the hypothesis.
    expect(e.hypothesis).toEqual({ then: 'HELD', now: 'NOT_DECIDED', change: 'REGRESSED' })
    expect(e.state).toEqual({ then: 'COMPLETED', now: 'ABORTED' })
  })

  it('marks "never recovered" as a regression of recovery', () => {
    const never = healthy({
      metrics: { ...healthy().metrics, mttr_seconds: null, recovered: false },
    })
    const e = diffRuns(run('a', [healthy()]), run('b', [never])).experiments[0]!
    expect(e.recovered).toEqual({ then: true, now: false, change: 'REGRESSED' })
    expect(e.regressions).toEqual(['recovered'])
  })

  it('lists experiments of one run only as added or removed, in the later run’s order first', () => {
    const diff = diffRuns(
      run('a', [healthy({ id: 'kept' }), healthy({ id: 'dropped' })]),
      run('b', [healthy({ id: 'new' }), healthy({ id: 'kept' })]),
    )
    expect(diff.experiments.map((e) => [e.id, e.presence])).toEqual([
      ['new', 'ADDED'],
      ['kept', 'BOTH'],
      ['dropped', 'REMOVED'],
    ])
    expect(diff.experiments[0]!.availability).toEqual({ then: null, now: 0.99, change: 'NOT_COMPARED' })
    expect(diff.regressions).toBe(0)
  })

  it('is JSON with snake_case fields and null for what was not measured', () => {
    const diff = diffRuns(run('a', [healthy()]), run('b', [skippedExperiment('pms_api_failure')]))
    const json = JSON.parse(JSON.stringify(diff)) as Record<string, unknown>
    expect(Object.keys(json)).toEqual([
      'then',
      'now',
      'tolerances',
      'experiments',
      'regressions',
      'regressed_experiments',
    ])
    expect(json.then).toEqual({
      run_id: 'a',
      started_at: '2026-11-28T11:22:33.000Z',
      selection: ['pms'],
      outcome: 'FAILED',
      file: '/reports/a.json',
    })
    const text = JSON.stringify(diff)
    expect(text).not.toMatch(/"[a-z]+[A-Z]/) // no camelCase key
    expect((json.experiments as { error_rate: unknown }[])[0]!.error_rate).toEqual({
      then: 0.01,
      now: null,
      change: 'NOT_COMPARED',
    })
  })
})

describe('renderRunDiff', () => {
  const now = guideExperiment({
    metrics: { ...guideExperiment().metrics, mttr_seconds: null, recovered: false },
  })
  const diff = diffRuns(
    run('20261128T112233Z-3f9a1c', [healthy(), healthy({ id: 'dropped' })]),
    run('20261129T080000Z-a1b2c3', [now, healthy({ id: 'new' })], { started_at: '2026-11-29T08:00:00.000Z' }),
  )
  const text = renderRunDiff(diff)
  const lines = text.split('\n')

  it('names both runs and sums up the regressions first', () => {
    expect(lines.slice(0, 3)).toEqual([
      'then: 20261128T112233Z-3f9a1c  2026-11-28 11:22:33Z  FAILED  pms',
      'now:  20261129T080000Z-a1b2c3  2026-11-29 08:00:00Z  FAILED  pms',
      '4 regressions in 1 experiment: pms_api_failure',
    ])
  })

  it('shows each measure then → now, with the regressions marked and "never" for no recovery', () => {
    const at = lines.indexOf('pms_api_failure: REGRESSED')
    expect(lines.slice(at + 1, at + 6)).toEqual([
      '  availability 99%  → 85%       REGRESSED (down 14 points)',
      '  error rate   1%   → 15%       REGRESSED (up 14 points)',
      '  p95          40ms → 40ms',
      '  MTTR         10s  → never     REGRESSED',
      '  hypothesis   held → NOT held  REGRESSED',
    ])
    expect(lines).toContain('new: added (not in the earlier run)')
    expect(lines).toContain('dropped: removed (not in the later run)')
  })

  it('fits 80 columns, and says "not measured", never 0, for what was not measured', () => {
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80)
    const partial = renderRunDiff(
      diffRuns(run('a', [healthy()]), run('b', [skippedExperiment('pms_api_failure')])),
    )
    expect(partial).toMatch(/ {2}availability 99%\s+→ not measured$/m)
    expect(partial).toMatch(/ {2}hypothesis {3}held\s+→ not decided\s+REGRESSED$/m)
    expect(partial).not.toMatch(/→ 0/)
  })

  it('says "No regression." when nothing got worse', () => {
    expect(renderRunDiff(diffRuns(run('a', [healthy()]), run('b', [healthy()]))).split('\n')[2]).toBe(
      'No regression.',
    )
  })
})

describe('pickRunsToDiff', () => {
  const dirs: string[] = []
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
  })

  /** A store holding pms (11:00), network (12:00), pms (13:00) and pms (14:00). */
  async function store(): Promise<ReportStore> {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-diff-'))
    dirs.push(dir)
    const s = new ReportStore({ dir })
    for (const [id, hour, selection] of [
      ['r11', '11', 'pms'],
      ['r12', '12', 'network'],
      ['r13', '13', 'pms'],
      ['r14', '14', 'pms'],
    ] as const)
      await s.writeRun(
        runRecord({ run_id: id, selection: [selection], started_at: `2026-11-28T${hour}:00:00.000Z` }),
      )
    return s
  }
  const ids = (pair: [{ record: RunRecord }, { record: RunRecord }]) => pair.map((r) => r.record.run_id)

  it('takes the newest run and the previous run of the same selection by default', async () => {
    expect(ids(await pickRunsToDiff(await store(), []))).toEqual(['r13', 'r14'])
  })

  it('compares one named run with the newest of its selection, or the newest with the one before', async () => {
    const s = await store()
    expect(ids(await pickRunsToDiff(s, ['r11']))).toEqual(['r11', 'r14'])
    expect(ids(await pickRunsToDiff(s, ['r14']))).toEqual(['r13', 'r14'])
  })

  it('takes two named runs in the order given, whatever their selections', async () => {
    expect(ids(await pickRunsToDiff(await store(), ['r14', 'r12']))).toEqual(['r14', 'r12'])
  })

  it('refuses with exit 2 when there is no other run of the selection', async () => {
    const s = await store()
    const error = (await pickRunsToDiff(s, ['r12']).catch((e: unknown) => e)) as InvalidInputError
    expect(error).toBeInstanceOf(InvalidInputError)
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe(`no other run of "network" in ${s.dir} to compare r12 with`)
    const empty = new ReportStore({ dir: join(s.dir, 'none') })
    await expect(pickRunsToDiff(empty, [])).rejects.toThrow(`no run reports in ${empty.dir} to compare`)
  })
})
