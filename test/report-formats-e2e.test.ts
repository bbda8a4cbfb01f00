/**
 * The format table (reports/formats.ts) is the one list of report formats: every row renders a
 * record, the store writes exactly one file per row, and `chaos report show|latest --format`
 * accepts exactly the table's names (through the compiled CLI: build first, `npm run build`).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import ReportLatest from '../commands/report/latest.js'
import ReportShow from '../commands/report/show.js'
import { REPORT_FORMAT_NAMES, REPORT_FORMATS, renderReport } from '../reports/formats.js'
import { withAnalysis } from '../src/interpretation/rules.js'
import { ReportStore } from '../src/store/report-store.js'
import { guideExperiment, runRecord, skippedExperiment } from './report-fixtures.js'
import { assertBuilt, BIN } from './support/index.js'

const record = withAnalysis(
  runRecord({ experiments: [guideExperiment(), guideExperiment({ state: 'ABORTED' }), skippedExperiment()] }),
)

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chaos-report-formats-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('the format table', () => {
  it.each(REPORT_FORMAT_NAMES)('%s renders the fixture record, the same with or without colour', (name) => {
    const plain = REPORT_FORMATS[name].render(record, { color: false })
    expect(plain.length).toBeGreaterThan(0)
    expect(plain.endsWith('\n')).toBe(true)
    expect(plain).toContain(record.run_id)
    // Colour is for a terminal only: stripping its escapes gives the file's text back.
    // eslint-disable-next-line no-control-regex
    expect(REPORT_FORMATS[name].render(record, { color: true }).replace(/\x1b\[[0-9;]*m/g, '')).toBe(plain)
    expect(renderReport(record, name, { color: false })).toBe(plain.trimEnd())
  })

  it('gives every format its own extension, none the store uses for itself', () => {
    const extensions = REPORT_FORMAT_NAMES.map((name) => REPORT_FORMATS[name].extension)
    expect(new Set(extensions).size).toBe(extensions.length)
    for (const ext of extensions) expect(ext).toMatch(/^[a-z0-9]+$/)
    expect(extensions).not.toContain('jsonl')
    expect(extensions).not.toContain('lock')
  })

  it('is what the store writes: one run file and one latest file per format', async () => {
    const written = await new ReportStore({ dir }).writeRun(record)
    expect(Object.keys(written.files).sort()).toEqual([...REPORT_FORMAT_NAMES].sort())
    expect(Object.keys(written.latest).sort()).toEqual([...REPORT_FORMAT_NAMES].sort())
    const expected: string[] = []
    for (const name of REPORT_FORMAT_NAMES) {
      const { extension, render } = REPORT_FORMATS[name]
      expect(written.files[name]).toBe(join(dir, `20261128T112233Z-pms.${extension}`))
      expect(written.latest[name]).toBe(join(dir, `latest.${extension}`))
      const text = render(record, { color: false })
      expect(await readFile(written.files[name], 'utf8')).toBe(text)
      expect(await readFile(written.latest[name], 'utf8')).toBe(text)
      expected.push(`20261128T112233Z-pms.${extension}`, `latest.${extension}`)
    }
    expect((await readdir(dir)).sort()).toEqual(expected.sort())
  })

  it('gives `chaos report show` and `chaos report latest` their --format options', () => {
    expect(ReportShow.flags.format.options).toEqual(REPORT_FORMAT_NAMES)
    expect(ReportLatest.flags.format.options).toEqual(REPORT_FORMAT_NAMES)
  })
})

describe('chaos report show --format (compiled CLI)', () => {
  const chaos = (args: string[]) =>
    execa('node', [BIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1' },
      extendEnv: false,
      reject: false,
    })

  beforeAll(async () => {
    assertBuilt()
    await new ReportStore({ dir }).writeRun(record)
  })

  it.each(REPORT_FORMAT_NAMES)('accepts %s and prints that rendering', async (name) => {
    const r = await chaos(['report', 'show', record.run_id, '--format', name, '--reports-dir', dir])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toBe(renderReport(record, name, { color: false }))
  })

  it('refuses any other name with exit 2, listing exactly the table', async () => {
    const r = await chaos([
      'report',
      'show',
      record.run_id,
      '--format',
      'no-such-format',
      '--reports-dir',
      dir,
    ])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain(
      `Expected --format=no-such-format to be one of: ${REPORT_FORMAT_NAMES.join(', ')}`,
    )
  })
})
