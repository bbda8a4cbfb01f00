/**
 * The JUnit XML and Markdown renderers on hand-built records (test/report-fixtures.ts): every XML
 * document is validated by `xmllint` against the JUnit XSD CI servers use and read back with XPath
 * (test/junit-helpers.ts).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderJunit, xmlAttr, xmlText } from '../reports/junit.js'
import { mdCode, mdText, renderMarkdown } from '../reports/markdown.js'
import { createOutput, type Output } from '../src/cli/output.js'
import { openReportFiles, reportFileTargets } from '../src/cli/report-files.js'
import { InvalidInputError } from '../src/errors.js'
import { withAnalysis } from '../src/interpretation/rules.js'
import type { RunRecord } from '../src/record.js'
import { guideExperiment, runRecord, skippedExperiment } from './report-fixtures.js'
import { expectValidJunit, xpath } from './junit-helpers.js'

let dir: string
let n = 0
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chaos-junit-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Writes `xml` to a file and validates it against the XSD; returns the file. */
async function validated(xml: string): Promise<string> {
  const file = join(dir, `report-${n++}.xml`)
  await writeFile(file, xml)
  await expectValidJunit(file)
  return file
}

const HOSTILE = 'a "q" \'s\' <b>&amp; ]]> | pipe\ttab\nline\u0001\u0008\u001b\uFFFE\uD800 end 😀'

describe('renderJunit', () => {
  it('the guide experiment: one failure per failed check, message the check, text actual vs expected', async () => {
    const record = withAnalysis(runRecord())
    const file = await validated(renderJunit([record]))
    expect(await xpath(file, 'count(/testsuites/testsuite)')).toBe('1')
    expect(await xpath(file, 'string(/testsuites/testsuite/@tests)')).toBe('1')
    expect(await xpath(file, 'string(/testsuites/testsuite/@failures)')).toBe('1')
    expect(await xpath(file, 'string(/testsuites/testsuite/@errors)')).toBe('0')
    // 11:22:33 → 11:24:28 is 115 s; the run's start in the Ant form (UTC, no zone).
    expect(await xpath(file, 'string(/testsuites/testsuite/@time)')).toBe('115.000')
    expect(await xpath(file, 'string(/testsuites/testsuite/@timestamp)')).toBe('2026-11-28T11:22:33')
    const tc = '/testsuites/testsuite/testcase'
    expect(await xpath(file, `string(${tc}/@name)`)).toBe('pms_api_failure: PMS API Failure')
    expect(await xpath(file, `string(${tc}/@classname)`)).toBe('pms')
    expect(await xpath(file, `string(${tc}/@time)`)).toBe('115.000')
    expect(await xpath(file, `count(${tc}/failure)`)).toBe('1')
    expect(await xpath(file, `string(${tc}/failure/@message)`)).toBe('availability > 95% during')
    expect(await xpath(file, `string(${tc}/failure)`)).toBe(
      'availability > 95% during: actual 85%, expected > 95%',
    )
    expect(await xpath(file, `string(${tc}/system-out)`)).toContain('Check FAILED: availability > 95% during')
    const prop = (name: string) =>
      xpath(file, `string(/testsuites/testsuite/properties/property[@name="${name}"]/@value)`)
    expect(await prop('run_id')).toBe(record.run_id)
    expect(await prop('pms_api_failure.fault_type')).toBe('EXCEPTION')
    expect(await prop('pms_api_failure.probability')).toBe('0.2')
    expect(await prop('pms_api_failure.blast_radius')).toBe('SINGLE_SERVICE')
    expect(await prop('pms_api_failure.mttr_seconds')).toBe('45')
    expect(await prop('pms_api_failure.hypothesis_held')).toBe('false')
  })

  it('maps every experiment state: passed, failures, errors, skipped; each test case counted once', async () => {
    const passed = guideExperiment({
      id: 'held',
      hypothesis_held: true,
      checks: guideExperiment().checks.filter((c) => c.passed),
    })
    const aborted = guideExperiment({ id: 'aborted', state: 'ABORTED', abort_reason: 'error rate 50% > 20%' })
    const failed = guideExperiment({
      id: 'failed',
      state: 'FAILED',
      hypothesis_held: null,
      checks: [],
      error: 'target unreachable',
    })
    const interrupted = guideExperiment({
      id: 'interrupted',
      state: 'INTERRUPTED',
      hypothesis_held: null,
      checks: [],
      abort_reason: 'interrupted (SIGINT)',
    })
    const inconclusive = guideExperiment({
      id: 'inconclusive',
      hypothesis_held: null,
      inconclusive_reason: 'no fault was injected during the experiment',
      checks: [
        {
          name: 'trips',
          expression: 'circuit_breaker_trips >= 1 during',
          phase: 'during',
          expected: 1,
          actual: null,
          passed: null,
          detail: 'the target exports no circuit_breaker_trips_total',
        },
      ],
    })
    const leaked = guideExperiment({
      id: 'leaked',
      hypothesis_held: true,
      checks: [],
      rollback: {
        attempted: true,
        verified: false,
        attempts: 3,
        method: 'STOP_ALL',
        error: 'fault still active',
        faults_after_rollback: 4,
      },
    })
    const record = runRecord({
      outcome: 'ABORTED',
      exit_code: 3,
      experiments: [passed, aborted, failed, interrupted, inconclusive, leaked, skippedExperiment('skipped')],
    })
    const file = await validated(renderJunit([record]))
    const suite = '/testsuites/testsuite'
    expect(await xpath(file, `string(${suite}/@tests)`)).toBe('7')
    // aborted (its failed check + the abort): failure; failed, interrupted, inconclusive, leaked: errors.
    expect(await xpath(file, `string(${suite}/@failures)`)).toBe('1')
    expect(await xpath(file, `string(${suite}/@errors)`)).toBe('4')
    expect(await xpath(file, `string(${suite}/@skipped)`)).toBe('1')
    const tc = (id: string) => `${suite}/testcase[starts-with(@name, "${id}:")]`
    expect(await xpath(file, `count(${tc('held')}/*[not(self::system-out)])`)).toBe('0')
    expect(await xpath(file, `count(${tc('aborted')}/failure)`)).toBe('2')
    expect(await xpath(file, `string(${tc('aborted')}/failure[@type="ABORTED"]/@message)`)).toBe(
      'aborted: error rate 50% > 20%',
    )
    expect(await xpath(file, `string(${tc('failed')}/error/@message)`)).toBe('failed: target unreachable')
    expect(await xpath(file, `string(${tc('interrupted')}/error/@type)`)).toBe('INTERRUPTED')
    expect(await xpath(file, `string(${tc('interrupted')}/error/@message)`)).toBe('interrupted (SIGINT)')
    expect(await xpath(file, `string(${tc('inconclusive')}/error/@type)`)).toBe('INCONCLUSIVE')
    expect(await xpath(file, `string(${tc('inconclusive')}/error)`)).toContain(
      'circuit_breaker_trips >= 1 during: not evaluated (the target exports no circuit_breaker_trips_total)',
    )
    expect(await xpath(file, `string(${tc('leaked')}/error/@type)`)).toBe('ROLLBACK_NOT_VERIFIED')
    expect(await xpath(file, `string(${tc('leaked')}/error/@message)`)).toBe(
      'rollback not verified: fault still active',
    )
    expect(await xpath(file, `string(${tc('skipped')}/skipped/@message)`)).toBe(
      'not run: the suite stopped before it',
    )
    expect(await xpath(file, `string(${tc('skipped')}/@time)`)).toBe('0.000')
    // No MTTR, no hypothesis decision: the property is left out rather than given an empty value.
    expect(await xpath(file, `count(${suite}/properties/property[@name="skipped.mttr_seconds"])`)).toBe('0')
  })

  it('escapes markup and drops characters XML 1.0 forbids, in attributes and text alike', async () => {
    const hostile = guideExperiment({
      id: 'hostile',
      name: HOSTILE,
      category: HOSTILE,
      checks: [{ ...guideExperiment().checks[1]!, name: HOSTILE, detail: HOSTILE }],
      abort_reason: HOSTILE,
      state: 'ABORTED',
    })
    const record = runRecord({ selection: [HOSTILE], run_id: HOSTILE, experiments: [hostile] })
    const file = await validated(renderJunit([record]))
    // What survives: everything but the forbidden characters; tab and line break kept in attributes.
    const kept = 'a "q" \'s\' <b>&amp; ]]> | pipe\ttab\nline end 😀'
    expect(await xpath(file, 'string(//testcase/@classname)')).toBe(kept)
    expect(await xpath(file, 'string(//testcase/@name)')).toBe(`hostile: ${kept}`)
    expect(await xpath(file, 'string(//testcase/failure[@type="ABORTED"]/@message)')).toBe(`aborted: ${kept}`)
    expect(await xpath(file, 'string(//testcase/failure[@type="CHECK_FAILED"])')).toContain(kept)
    expect(await xpath(file, 'string(//property[@name="run_id"]/@value)')).toBe(kept)
    expect(xmlText(']]>')).toBe(']]&gt;')
    expect(xmlAttr('"\n')).toBe('&quot;&#10;')
  })

  it('a session of several runs: one testsuite each, totals on the root; none at all is an empty root', async () => {
    const runs: RunRecord[] = [
      runRecord(),
      runRecord({
        run_id: '20261128T120000Z-aaaaaa',
        started_at: '2026-11-28T12:00:00.000Z',
        finished_at: '2026-11-28T12:00:30.500Z',
        selection: ['network_latency'],
        experiments: [skippedExperiment()],
      }),
    ]
    const file = await validated(renderJunit(runs))
    expect(await xpath(file, 'count(/testsuites/testsuite)')).toBe('2')
    expect(await xpath(file, 'string(/testsuites/testsuite[2]/@name)')).toBe('chaos network_latency')
    expect(await xpath(file, 'string(/testsuites/testsuite[2]/@time)')).toBe('30.500')
    expect(await xpath(file, 'string(/testsuites/@tests)')).toBe('2')
    expect(await xpath(file, 'string(/testsuites/@time)')).toBe('145.500')
    const empty = await validated(renderJunit([]))
    expect(await xpath(empty, 'string(/testsuites/@tests)')).toBe('0')
  })
})

/** The cells of a GFM table row: split at `|` not escaped by a backslash. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim())
}

describe('renderMarkdown', () => {
  it('the summary table, what failed with actual vs expected, and the analysis lines', () => {
    const record = withAnalysis(
      runRecord({ experiments: [guideExperiment(), skippedExperiment()], partial: true }),
    )
    const md = renderMarkdown([record])
    const lines = md.split('\n')
    expect(lines[0]).toBe('## ❌ chaos pms: FAILED (exit 1)')
    const header = lines.findIndex((l) => l.startsWith('| Experiment |'))
    expect(cells(lines[header]!)).toEqual([
      'Experiment',
      'Category',
      'State',
      'Hypothesis',
      'Availability',
      'Error rate',
      'p95',
      'MTTR',
      'Rollback',
    ])
    expect(cells(lines[header + 2]!)).toEqual([
      '`pms_api_failure` PMS API Failure',
      'pms',
      '❌ COMPLETED',
      '**NOT held**',
      '85%',
      '15%',
      '40ms',
      '45s',
      'verified',
    ])
    expect(cells(lines[header + 3]!)[2]).toBe('⏭️ SKIPPED')
    expect(md).toContain('> This run did not finish: the report is partial.')
    expect(md).toContain(
      '### What failed\n\n- `pms_api_failure`: `availability > 95% during`: actual 85%, expected > 95%',
    )
    expect(md).toContain('### Analysis')
    for (const line of record.experiments[0]!.analysis) expect(md).toContain(line.message.split(' (')[0])
    expect(md).toContain('- 📝 **Action:**')
  })

  it('keeps every row at nine cells whatever the names hold (| escaped), on one line', () => {
    const record = runRecord({
      experiments: [guideExperiment({ id: 'pipe|id', name: HOSTILE, category: 'a|b' })],
    })
    const md = renderMarkdown([record])
    const rows = md.split('\n').filter((l) => l.startsWith('| '))
    expect(rows).toHaveLength(3)
    for (const row of rows) expect(cells(row)).toHaveLength(9)
    expect(cells(rows[2]!)[0]).toBe('`pipe\\|id` a "q" \'s\' \\<b>\\&amp; \\]\\]> \\| pipe\ttab line end 😀')
    // Control characters never reach the page.
    // eslint-disable-next-line no-control-regex
    expect(md).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE]|[\uD800-\uDFFF]/u)
  })

  it('escapes what would be markup and leaves plain text readable', () => {
    expect(mdText('pms_adapter at 2x baseline (45s < 2m)')).toBe('pms_adapter at 2x baseline (45s < 2m)')
    expect(mdText('_emph_ **bold** [link](x) <img src=x> `code` ~~s~~ &amp;')).toBe(
      '\\_emph\\_ \\*\\*bold\\*\\* \\[link\\](x) \\<img src=x> \\`code\\` \\~\\~s\\~\\~ \\&amp;',
    )
    expect(mdText('# not a heading')).toBe('\\# not a heading')
    expect(mdText('> not a quote')).toBe('\\> not a quote')
    expect(mdText('1. not a list')).toBe('1\\. not a list')
    expect(mdCode('a`b')).toBe('``a`b``')
    expect(mdCode('a|b', true)).toBe('`a\\|b`')
  })

  it('several runs: an overview line, then one section per run; none at all says so', () => {
    const md = renderMarkdown([runRecord(), runRecord({ outcome: 'PASSED', exit_code: 0 })])
    expect(md.split('\n')[0]).toBe('## chaos: 2 runs, 1 passed, 1 not passed')
    expect(md.match(/^### /gm)).toHaveLength(2)
    expect(renderMarkdown([])).toBe('## chaos: 0 runs, 0 passed\n\nNo runs were made.\n')
  })
})

/** An Output that keeps what it prints (the report files' warnings go to stderr). */
function memoryOutput(): { out: Output; stderr: () => string } {
  let err = ''
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString())
        done()
      },
    })
  const out = createOutput({
    stdout: sink(() => {}),
    stderr: sink((s) => (err += s)),
    color: false,
    tty: false,
    json: false,
    debug: false,
  })
  return { out, stderr: () => err }
}

describe('the report files (src/cli/report-files.ts)', () => {
  it('rewrites both files with every run so far and appends the step summary once, at close', async () => {
    const folder = join(dir, 'files-runs')
    const summary = join(dir, 'files-runs-summary.md')
    await writeFile(summary, 'earlier step\n')
    const { out, stderr } = memoryOutput()
    const targets = reportFileTargets({ junit: 'ci/junit.xml', markdown: 'ci/chaos.md' }, summary, folder)
    expect(targets.junit).toBe(join(folder, 'ci', 'junit.xml'))
    const files = (await openReportFiles(targets, out))!
    await files.add(runRecord())
    await expectValidJunit(targets.junit!)
    expect(await xpath(targets.junit!, 'count(/testsuites/testsuite)')).toBe('1')
    // The step summary is GitHub's to show once per command: nothing is appended before close.
    expect(await readFile(summary, 'utf8')).toBe('earlier step\n')
    await files.add(runRecord({ run_id: '20261128T120000Z-aaaaaa', outcome: 'PASSED', exit_code: 0 }))
    expect(await xpath(targets.junit!, 'count(/testsuites/testsuite)')).toBe('2')
    await files.close()
    await files.close()
    const markdown = await readFile(targets.markdown!, 'utf8')
    expect(markdown).toBe(renderMarkdown(files.records))
    expect(await readFile(summary, 'utf8')).toBe(`earlier step\n${markdown}\n`)
    // Atomic writes leave no temp file behind.
    expect(await readdir(join(folder, 'ci'))).toEqual(['chaos.md', 'junit.xml'])
    expect(stderr()).toBe('')
  })

  it('no run at all: an empty JUnit file and the error that stopped the command in the Markdown', async () => {
    const folder = join(dir, 'files-none')
    const summary = join(folder, 'summary.md')
    const { out } = memoryOutput()
    const targets = reportFileTargets({ junit: 'junit.xml' }, summary, folder)
    const files = (await openReportFiles(targets, out))!
    await files.close(new Error('another chaos run is using the reports directory'))
    await expectValidJunit(targets.junit!)
    expect(await xpath(targets.junit!, 'string(/testsuites/@tests)')).toBe('0')
    expect(await readFile(summary, 'utf8')).toContain(
      'No runs were made. Error: another chaos run is using the reports directory',
    )
  })

  it('nothing asked for: no files object; a directory as --junit: exit 2 before anything runs', async () => {
    const { out } = memoryOutput()
    expect(await openReportFiles(reportFileTargets({}, '', dir), out)).toBeUndefined()
    const refused = openReportFiles(reportFileTargets({ junit: '.' }, undefined, dir), out)
    await expect(refused).rejects.toBeInstanceOf(InvalidInputError)
    await expect(refused).rejects.toThrow(`--junit ${dir}: is a directory`)
  })

  it('a file that cannot be written is a warning, never the run’s failure', async () => {
    const folder = join(dir, 'files-unwritable')
    const { out, stderr } = memoryOutput()
    const targets = reportFileTargets({ junit: 'junit.xml' }, undefined, folder)
    const files = (await openReportFiles(targets, out))!
    // The folder became a file after the check: the write fails.
    await rm(folder, { recursive: true })
    await writeFile(folder, '')
    await files.add(runRecord())
    await files.close()
    expect(stderr()).toMatch(/^Warning: --junit .*junit\.xml not written: ENOTDIR\n$/)
  })
})

describe('renderMarkdown, issue 13: a fleet', () => {
  it('names each instance that refused the start, did not verify its rollback, or was skipped', () => {
    const base = { requests: 10, failed_requests: 0, error_rate: 0, calls_seen: null, faults_injected: null }
    const md = renderMarkdown([
      runRecord({
        experiments: [
          guideExperiment({
            instances: [
              {
                ...base,
                url: 'http://a:1',
                reached: true,
                start: 'STARTED',
                rollback_verified: true,
                rollback_error: null,
              },
              {
                ...base,
                url: 'http://b:1',
                reached: false,
                start: 'REFUSED',
                rollback_verified: null,
                rollback_error: null,
              },
              {
                ...base,
                url: 'http://c:1',
                reached: true,
                start: 'STARTED',
                rollback_verified: false,
                rollback_error: 'still active',
              },
            ],
            discovery: {
              sources: ['dns:hotel'],
              found: [],
              skipped: [{ url: 'http://d:1', reason: 'down' }],
            },
          }),
        ],
      }),
    ])
    expect(md).toContain('- `pms_api_failure`: instance `http://b:1` refused the start')
    expect(md).toContain(
      '- `pms_api_failure`: instance `http://c:1`: **rollback NOT verified**: still active',
    )
    expect(md).toContain('- `pms_api_failure`: instance `http://d:1` skipped: down')
    expect(md).not.toContain('http://a:1')
  })
})
