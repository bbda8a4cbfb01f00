/** The report store on a real temp directory: file names, atomic writes, reading back, events. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidInputError } from '../src/errors.js'
import { createMemoryLogger } from '../src/logger.js'
import type { RunRecord, TimeseriesPoint } from '../src/record.js'
import { parseRecord, serializeRecord } from '../reports/json.js'
import { writeFileAtomic } from '../src/store/atomic-write.js'
import { ReportStore, selectionSlug } from '../src/store/report-store.js'
import { renderText } from '../reports/text.js'
import { guideExperiment, runRecord } from './report-fixtures.js'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-reports-'))
  dirs.push(dir)
  return dir
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

/** A record started `i` seconds after the fixture's start. */
function nthRun(i: number, extra: Partial<RunRecord> = {}): RunRecord {
  const started = new Date(Date.parse('2026-11-28T11:22:33.000Z') + i * 1000).toISOString()
  return runRecord({ run_id: `run-${i}`, started_at: started, finished_at: started, ...extra })
}

describe('selectionSlug', () => {
  it('makes a short, safe file-name part from the selection', () => {
    expect(selectionSlug(['pms'])).toBe('pms')
    expect(selectionSlug(['pms_api_failure', 'network_latency'])).toBe('pms_api_failure+network_latency')
    expect(selectionSlug(['./my scenarios/Slow DB.yaml'])).toBe('slow-db')
    expect(selectionSlug([])).toBe('run')
    expect(selectionSlug(['../../etc/passwd'])).toBe('passwd')
    expect(selectionSlug(['x'.repeat(100)]).length).toBe(60)
  })
})

describe('ReportStore.writeRun', () => {
  it('writes <timestamp>-<selection>.json/.txt/.html and latest.json/.txt/.html', async () => {
    const dir = join(await tempDir(), 'nested', 'chaos_reports')
    const store = new ReportStore({ dir })
    const record = runRecord()
    const paths = await store.writeRun(record)
    expect(paths.json).toBe(join(dir, '20261128T112233Z-pms.json'))
    expect(paths.text).toBe(join(dir, '20261128T112233Z-pms.txt'))
    expect((await readdir(dir)).sort()).toEqual([
      '20261128T112233Z-pms.html',
      '20261128T112233Z-pms.json',
      '20261128T112233Z-pms.txt',
      'latest.html',
      'latest.json',
      'latest.txt',
    ])
    expect(paths.files).toEqual({
      json: paths.json,
      text: paths.text,
      html: join(dir, '20261128T112233Z-pms.html'),
    })
    expect(paths.latest).toEqual({
      json: join(dir, 'latest.json'),
      text: join(dir, 'latest.txt'),
      html: join(dir, 'latest.html'),
    })
    expect(await readFile(paths.json, 'utf8')).toBe(serializeRecord(record))
    expect(await readFile(paths.latest.json, 'utf8')).toBe(serializeRecord(record))
    expect(await readFile(paths.latest.text, 'utf8')).toBe(renderText(record, { color: false }))
  })

  it('replaces the same run, and never lets another run take its name', async () => {
    const store = new ReportStore({ dir: await tempDir() })
    const first = await store.writeRun(runRecord({ partial: true, outcome: 'INTERRUPTED', exit_code: 130 }))
    const again = await store.writeRun(runRecord())
    expect(again.json).toBe(first.json)
    expect(parseRecord(await readFile(again.json, 'utf8'), 'x').partial).toBe(false)
    const other = await store.writeRun(runRecord({ run_id: 'another-run' }))
    expect(other.json).toMatch(/20261128T112233Z-pms-2\.json$/)
    expect((await store.listRuns()).map((r) => r.record.run_id).sort()).toEqual([
      '20261128T112233Z-3f9a1c',
      'another-run',
    ])
  })

  it('refuses a record that breaks the schema and writes nothing', async () => {
    const dir = await tempDir()
    const store = new ReportStore({ dir })
    await expect(store.writeRun({ ...runRecord(), outcome: 'DONE' as never })).rejects.toThrow()
    expect(await readdir(dir)).toEqual([])
  })

  it('concurrent writers never produce a torn file, for readers or afterwards', async () => {
    const dir = await tempDir()
    // Large records (about 0.5 MB each) so that a non-atomic write would be seen half-done.
    const timeseries: TimeseriesPoint[] = Array.from({ length: 4000 }, (_, t) => ({
      t,
      phase: 'DURING',
      requests: 20,
      errors: t % 3,
      latency_p95_ms: 40 + (t % 7),
      faults_injected: t % 5,
      breaker_state: 'CLOSED',
    }))
    const records = Array.from({ length: 12 }, (_, i) =>
      nthRun(i, { experiments: [guideExperiment({ timeseries })] }),
    )
    const ids = new Set(records.map((r) => r.run_id))
    let writing = true
    let reads = 0
    const reader = (async () => {
      while (writing) {
        let text: string
        try {
          text = await readFile(join(dir, 'latest.json'), 'utf8')
        } catch {
          await new Promise((r) => setImmediate(r))
          continue
        }
        expect(ids.has(parseRecord(text, 'latest.json').run_id)).toBe(true)
        reads++
      }
    })()
    // Separate store instances: independent writers sharing the directory; the second round
    // replaces every file while the reader keeps reading.
    for (let round = 0; round < 2; round++)
      await Promise.all(records.map((r) => new ReportStore({ dir }).writeRun(r)))
    writing = false
    await reader
    expect(reads).toBeGreaterThan(0)
    const runs = await new ReportStore({ dir }).listRuns()
    expect(runs.map((r) => r.record.run_id).sort()).toEqual([...ids].sort())
    for (const run of runs) expect(run.record.experiments[0]!.timeseries).toHaveLength(4000)
    expect(ids.has((await new ReportStore({ dir }).readLatest()).record.run_id)).toBe(true)
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('a crash between temp write and rename leaves the previous latest intact', async () => {
    const dir = await tempDir()
    const store = new ReportStore({ dir })
    const previous = nthRun(1)
    await store.writeRun(previous)
    // What a runner killed after writing its temp files but before renaming them leaves behind.
    const next = serializeRecord(nthRun(2))
    await writeFile(join(dir, '.latest.json.0123456789ab.tmp'), next.slice(0, next.length / 2))
    await writeFile(join(dir, '.20261128T112235Z-pms.json.ba9876543210.tmp'), next)
    expect((await store.readLatest()).record.run_id).toBe('run-1')
    expect((await store.listRuns()).map((r) => r.record.run_id)).toEqual(['run-1'])
    await expect(store.readRun('run-2')).rejects.toThrow(InvalidInputError)
    // The next run writes normally next to the leftovers.
    await store.writeRun(nthRun(3))
    expect((await store.readLatest()).record.run_id).toBe('run-3')
  })

  it('writeFileAtomic with exclusive only creates', async () => {
    const file = join(await tempDir(), 'a.json')
    expect(await writeFileAtomic(file, '1', { exclusive: true })).toBe(true)
    expect(await writeFileAtomic(file, '2', { exclusive: true })).toBe(false)
    expect(await readFile(file, 'utf8')).toBe('1')
    expect(await writeFileAtomic(file, '3')).toBe(true)
    expect(await readFile(file, 'utf8')).toBe('3')
  })
})

describe('ReportStore reading', () => {
  it('lists runs newest first and skips damaged files with a warning', async () => {
    const dir = await tempDir()
    const logger = createMemoryLogger()
    const store = new ReportStore({ dir, logger })
    await store.writeRun(nthRun(5, { selection: ['network'] }))
    await store.writeRun(nthRun(9, { selection: ['pms'] }))
    await store.writeRun(nthRun(7, { selection: ['all'] }))
    await writeFile(join(dir, 'broken.json'), '{"schema_version": 1, "run_id": ')
    await writeFile(join(dir, 'other.json'), '{"hello": "world"}')
    const runs = await store.listRuns()
    expect(runs.map((r) => r.record.run_id)).toEqual(['run-9', 'run-7', 'run-5'])
    expect(logger.entries.map((e) => [e.level, e.event, (e.fields.file as string).split('/').pop()])).toEqual(
      [
        ['warn', 'chaos_report_unreadable', 'broken.json'],
        ['warn', 'chaos_report_unreadable', 'other.json'],
      ],
    )
  })

  it('an empty or missing directory has no runs and no latest', async () => {
    const store = new ReportStore({ dir: join(await tempDir(), 'missing') })
    expect(await store.listRuns()).toEqual([])
    const error = await store.readLatest().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidInputError)
    expect((error as InvalidInputError).exitCode).toBe(2)
    expect((error as InvalidInputError).message).toMatch(/^no chaos run report in .*missing yet$/)
    expect((error as InvalidInputError).hint).toBe('run `chaos run` first')
  })

  it('finds a run by id, file name, stem, absolute path or "latest"', async () => {
    const dir = await tempDir()
    const store = new ReportStore({ dir })
    const { json } = await store.writeRun(nthRun(1))
    await store.writeRun(nthRun(2))
    for (const ref of ['run-1', '20261128T112234Z-pms', '20261128T112234Z-pms.json', json])
      expect((await store.readRun(ref)).record.run_id, ref).toBe('run-1')
    expect((await store.readRun('latest')).record.run_id).toBe('run-2')
    await expect(store.readRun('nope')).rejects.toThrow(/^no run report "nope" in /)
    await expect(store.readRun('../outside')).rejects.toThrow(InvalidInputError)
  })

  it('reads what a run prints: the .txt (by path or name) stands for the .json beside it', async () => {
    const dir = await tempDir()
    const store = new ReportStore({ dir })
    const written = await store.writeRun(nthRun(1))
    await store.writeRun(nthRun(2))
    for (const ref of [written.text, '20261128T112234Z-pms.txt'])
      expect(await store.readRun(ref), ref).toEqual({ file: written.json, record: nthRun(1) })
    expect((await store.readRun(join(dir, 'latest.txt'))).record.run_id).toBe('run-2')
    expect((await store.readRun('latest.txt')).record.run_id).toBe('run-2')
    await rm(written.json)
    await expect(store.readRun(written.text)).rejects.toThrow(
      `${written.text}: no JSON report beside it (${written.json})`,
    )
    await expect(store.readRun(join(dir, 'gone.txt'))).rejects.toThrow(
      `no such report file: ${join(dir, 'gone.txt')}`,
    )
    await expect(store.readRun(join(dir, 'gone.json'))).rejects.toThrow(
      `no such report file: ${join(dir, 'gone.json')}`,
    )
    await expect(store.readRun(dir)).rejects.toThrow(`${dir}: not a chaos report (a directory)`)
  })

  it('takes a unique prefix of a run id or file name, and names the candidates of an ambiguous one', async () => {
    const dir = await tempDir()
    const store = new ReportStore({ dir })
    await store.writeRun(nthRun(1, { run_id: '20261128T112234Z-3f9a1c' }))
    await store.writeRun(nthRun(2, { run_id: '20261128T112235Z-77aa00', selection: ['network'] }))
    expect((await store.readRun('20261128T112234Z-3f')).record.run_id).toBe('20261128T112234Z-3f9a1c')
    expect((await store.readRun('20261128T112235Z-net')).record.run_id).toBe('20261128T112235Z-77aa00')
    const error = (await store.readRun('20261128T1122').catch((e: unknown) => e)) as InvalidInputError
    expect(error).toBeInstanceOf(InvalidInputError)
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe(
      `"20261128T1122" matches 2 runs in ${dir}: 20261128T112235Z-77aa00 (network, FAILED), 20261128T112234Z-3f9a1c (pms, FAILED)`,
    )
    expect(error.hint).toBe('give more of the run id (see `chaos report list`)')
    // A name with its extension is a file name, never a prefix.
    await expect(store.readRun('20261128T1122.txt')).rejects.toThrow(/^no run report "20261128T1122.txt" in /)
  })
})

describe('ReportStore events', () => {
  it('appends JSON lines in call order, with a timestamp from the clock', async () => {
    const dir = await tempDir()
    const store = new ReportStore({ dir, now: () => Date.parse('2026-11-28T11:22:33.000Z') })
    const names = ['chaos_experiment_started', 'chaos_fault_injected', 'chaos_experiment_context_exited']
    for (let i = 0; i < 60; i++)
      void store.appendEvent({ event: names[i % 3]!, run_id: 'r1', experiment_id: 'pms_api_failure', seq: i })
    await store.flushEvents()
    const text = await readFile(join(dir, 'events.jsonl'), 'utf8')
    const lines = text.trimEnd().split('\n')
    expect(lines).toHaveLength(60)
    expect(JSON.parse(lines[0]!)).toEqual({
      ts: '2026-11-28T11:22:33.000Z',
      event: 'chaos_experiment_started',
      run_id: 'r1',
      experiment_id: 'pms_api_failure',
      seq: 0,
    })
    expect((await store.readEvents()).map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i))
  })

  it('keeps whole lines with two writers, and skips a torn last line when reading', async () => {
    const dir = await tempDir()
    const a = new ReportStore({ dir })
    const b = new ReportStore({ dir })
    const payload = 'x'.repeat(2000)
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 ? a : b).appendEvent({ event: 'chaos_safety_error_rate_high', seq: i, payload }),
      ),
    )
    await writeFile(join(dir, 'events.jsonl'), '{"ts": "2026-11-28T11:2', { flag: 'a' })
    const events = await a.readEvents()
    expect(events).toHaveLength(100)
    expect(new Set(events.map((e) => e.seq)).size).toBe(100)
  })

  it('rejects an event name outside the chaos_* namespace', async () => {
    const dir = await tempDir()
    const store = new ReportStore({ dir })
    await expect(store.appendEvent({ event: 'experimentStarted' })).rejects.toThrow(/chaos_\* event name/)
    await store.appendEvent({ event: 'chaos_run_finished' })
    expect((await store.readEvents()).map((e) => e.event)).toEqual(['chaos_run_finished'])
  })
})
