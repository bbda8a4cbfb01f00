/**
 * The terminal output of a run, rendered from real records and events: live lines are sentences
 * (never `chaos_*` names, which stay in events.jsonl and beside each line in --log-file), and every
 * table fits the width it is given while keeping its natural cli-table3 layout when there is room.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { Chalk } from 'chalk'
import Table from 'cli-table3'
import { describe, expect, it } from 'vitest'
import { runSummaryTable } from '../reports/run-table.js'
import { runListTable, summarizeRun } from '../reports/summary.js'
import { openLogFile, teeOutput } from '../src/cli/log-file.js'
import { createOutput, terminalColumns } from '../src/cli/output.js'
import { createRunView, sizedStream } from '../src/cli/run-view.js'
import { reportPathLines, runEndLines } from '../src/cli/run-end.js'
import { buildPlan, resolveRunOptions } from '../src/plan.js'
import { CHAOS_EVENTS } from '../src/record.js'
import { catalogueEntries, catalogueTable } from '../src/render/catalogue.js'
import { clockTime, eventSentence } from '../src/render/live-lines.js'
import { formatPlanSummary } from '../src/render/plan.js'
import { fitTable, wrapCell } from '../src/render/table.js'
import { loadCatalogue } from '../src/scenario/catalogue.js'
import { guideExperiment, runRecord, skippedExperiment } from './report-fixtures.js'

const plain = new Chalk({ level: 0 })
const colour = new Chalk({ level: 1 })

/** The widest line of `text`, in visible characters. */
const widest = (text: string | string[]) =>
  Math.max(
    ...(Array.isArray(text) ? text : [text])
      .flatMap((t) => t.split('\n'))
      .map((l) => stripVTControlCharacters(l).length),
  )

/** Fields each event carries in a real run (src/engine/phases/*). */
const FIELDS: Record<string, Record<string, unknown>> = {
  chaos_preflight_passed: { instances: 1, environment: 'staging' },
  chaos_preflight_metrics_missing: {
    message: 'the target exports no chaos_agent_circuit_breaker_trips_total',
  },
  chaos_steady_state_not_held: { checks: ['error_rate < 1% before'] },
  chaos_experiment_started: {
    experiment_id: 'pms_api_failure',
    injected_as: 'x1',
    target_service: 'pms_adapter',
    fault_type: 'EXCEPTION',
    probability: 0.2,
    blast_radius: 'SINGLE_SERVICE',
    duration_seconds: 10,
    instances: ['http://a'],
  },
  chaos_fault_injected: { faults_injected: 12 },
  chaos_lease_renewal_failed: { target: 'http://a', error: 'ECONNRESET' },
  chaos_safety_error_rate_high: { error_rate: 0.6, limit: 0.5, requests: 40 },
  chaos_safety_availability_low: { availability: 0.4, limit: 0.5, requests: 40 },
  chaos_safety_metrics_unreadable: { polls: 3 },
  chaos_experiment_aborted: { reason: 'safety: error rate 60% above 50%', injected: true },
  chaos_experiment_failed: { reason: 'target unreachable', injected: true },
  chaos_experiment_interrupted: { reason: 'interrupted (SIGINT)', injected: true },
  chaos_experiment_completed: { faults_injected: 7, state: 'COMPLETED', abort_reason: null },
  chaos_rollback_retry: { target: 'http://a', method: 'DELETE', attempt: 2, error: 'timeout' },
  chaos_rollback_failed: { error: 'faults continued after the rollback' },
  chaos_experiment_context_exited: { rollback_verified: true, method: 'DELETE' },
  chaos_recovered: { mttr_seconds: 1.2, recovery_timeout_seconds: 120 },
  chaos_recovery_timeout: { mttr_seconds: null, recovery_timeout_seconds: 120 },
  chaos_experiment_finished: { state: 'COMPLETED', hypothesis_held: true },
  chaos_experiment_hook_failed: { error: 'push failed' },
  chaos_pushgateway_push_failed: { error: 'ECONNREFUSED' },
}

describe('live lines', () => {
  it('tell every lifecycle event as a sentence without its event name', () => {
    for (const event of CHAOS_EVENTS) {
      const sentence = eventSentence(event, FIELDS[event] ?? {})
      if (event === 'chaos_experiment_finished') expect(sentence).toBeNull()
      else expect(sentence, event).toMatch(/^[a-zA-Z0-9]/)
      for (const name of CHAOS_EVENTS) expect(sentence ?? '', event).not.toContain(name)
      expect(sentence ?? '', event).not.toMatch(/\w+=/)
    }
    expect(eventSentence('chaos_experiment_started', FIELDS.chaos_experiment_started!)).toBe(
      'injecting EXCEPTION into pms_adapter (20%, SINGLE_SERVICE) for 10s',
    )
    expect(eventSentence('chaos_experiment_context_exited', FIELDS.chaos_experiment_context_exited!)).toBe(
      'rolled back (DELETE), verified',
    )
    expect(eventSentence('chaos_recovered', FIELDS.chaos_recovered!)).toBe('recovered in 1.2s')
    // Discovery: how many instances found were skipped, said live (none: nothing added).
    expect(
      eventSentence('chaos_preflight_passed', { instances: 3, skipped: 1, environment: 'dev, dev, dev' }),
    ).toBe('preflight passed: 3 instances (1 found but skipped, see the report), environment dev, dev, dev')
    expect(eventSentence('chaos_preflight_passed', { instances: 3, skipped: 0, environment: 'dev' })).toBe(
      'preflight passed: 3 instances, environment dev',
    )
    // An event this runner does not know yet is named in words, with its fields.
    expect(eventSentence('chaos_brand_new_thing', { experiment_id: 'x', count: 2 })).toBe(
      'brand new thing: count 2',
    )
  })

  it('are stamped with the local time of the injected clock', () => {
    const at = new Date(2026, 10, 30, 9, 5, 7).getTime()
    expect(clockTime(at)).toBe('09:05:07')
    const printed: string[] = []
    const out = createOutput({
      stdout: { write: (s: string) => printed.push(s) } as unknown as NodeJS.WritableStream,
      stderr: { write: () => true } as unknown as NodeJS.WritableStream,
      color: false,
      tty: false,
      json: false,
      debug: false,
    })
    const clock = { now: () => at, monotonic: () => 0, setTimeout: () => ({}), clearTimeout: () => {} }
    const view = createRunView(out, { quiet: false, clock })
    view.onEvent('info', 'chaos_experiment_started', FIELDS.chaos_experiment_started!)
    view.onEvent('info', 'chaos_experiment_finished', FIELDS.chaos_experiment_finished!)
    view.close()
    expect(printed).toEqual(['09:05:07 injecting EXCEPTION into pms_adapter (20%, SINGLE_SERVICE) for 10s\n'])
  })

  it('carry the event name beside the sentence in --log-file, not on the terminal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-live-'))
    try {
      const printed: string[] = []
      const sink = { write: (s: string) => printed.push(s) } as unknown as NodeJS.WritableStream
      const base = createOutput({
        stdout: sink,
        stderr: sink,
        color: true,
        tty: false,
        json: false,
        debug: false,
      })
      const log = openLogFile(join(dir, 'run.log'))
      teeOutput(base, log).eventLine(colour.yellow('12:00:00 recovered in 1.2s'), 'chaos_recovered')
      log.close()
      expect(stripVTControlCharacters(printed.join(''))).toBe('12:00:00 recovered in 1.2s\n')
      expect(await readFile(join(dir, 'run.log'), 'utf8')).toBe(
        '12:00:00 recovered in 1.2s [chaos_recovered]\n',
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('terminal width', () => {
  it('is the terminal’s, else COLUMNS, else 80 (a pty nobody sized reports 0)', () => {
    expect(terminalColumns(120, '60')).toBe(120)
    expect(terminalColumns(0, undefined)).toBe(80)
    expect(terminalColumns(undefined, '100')).toBe(100)
    expect(terminalColumns(undefined, 'wide')).toBe(80)
  })

  it('is 80 for the spinner on a terminal that reports 0 columns; writes reach the real terminal', () => {
    const written: string[] = []
    const tty = {
      isTTY: true,
      columns: 0,
      rows: 0,
      write: (s: string) => written.push(s),
    } as unknown as NodeJS.WritableStream
    const sized = sizedStream(tty)
    expect(sized.columns).toBe(80)
    sized.write('frame')
    expect(written).toEqual(['frame'])
    ;(tty as unknown as { columns: number }).columns = 132
    expect(sized.columns).toBe(132)
  })
})

describe('tables that fit', () => {
  it('wrap a long cell at an underscore and keep a short one', () => {
    expect(wrapCell('database_connection_pool_exhaustion', 16)).toEqual([
      'database_',
      'connection_pool_',
      'exhaustion',
    ])
    expect(wrapCell(colour.red('held'), 10)).toEqual([colour.red('held')])
  })

  it('draw exactly what cli-table3 draws when there is room (row rules included)', () => {
    const rows = [
      ['pms_api_failure', colour.green('COMPLETED')],
      ['network_latency', 'ABORTED'],
    ]
    const table = new Table({ head: ['Experiment', 'State'], style: { head: [], border: [] } })
    table.push(...rows)
    expect(fitTable([{ head: 'Experiment' }, { head: 'State' }], rows, { rowRules: true, width: 160 })).toBe(
      table.toString(),
    )
  })

  it('fit the catalogue at 80 and 160 columns, dropping the category first', async () => {
    const { scenarios } = await loadCatalogue({ cwd: process.cwd() })
    const entries = catalogueEntries(scenarios)
    const natural = catalogueTable(entries, plain)
    expect(widest(natural)).toBeGreaterThan(80)
    for (const width of [60, 80, 160]) {
      const table = catalogueTable(entries, colour, width)
      expect(widest(table), `at ${width}`).toBeLessThanOrEqual(width)
    }
    const at80 = catalogueTable(entries, plain, 80)
    expect(
      at80
        .split('\n')[1]!
        .split('│')
        .map((h) => h.trim()),
    ).toEqual(['', 'id', 'fault', 'p', 'blast', 'target', 'time', ''])
    for (const e of entries) expect(at80).toContain(e.id.split('_')[0]!)
    expect(catalogueTable(entries, plain, 160)).toBe(natural)
  })

  it('fit the run summary and report list at 80 columns and keep the verdict columns', () => {
    const long = 'database_connection_pool_exhaustion'
    const record = runRecord({
      experiments: [guideExperiment(), guideExperiment({ id: long }), skippedExperiment()],
    })
    for (const width of [80, 160]) {
      const table = runSummaryTable(record, colour, width)
      expect(widest(table), `at ${width}`).toBeLessThanOrEqual(width)
      expect(table).toMatch(/Hyp|Hypothesis/)
      expect(table).toContain('Rollback')
      const list = runListTable(
        [summarizeRun(record, '/r/a.json'), summarizeRun(record, '/r/b.json')],
        colour,
        width,
      )
      expect(widest(list), `at ${width}`).toBeLessThanOrEqual(width)
      expect(list).toContain(record.run_id)
    }
    expect(runSummaryTable(record, plain, 80)).not.toContain('Trips')
  })

  it('end a run with the table, the report files and the outcome, all within 80 columns', () => {
    const record = runRecord()
    const dir = '/work/app/.playbook/chaos_reports'
    const written = {
      text: `${dir}/20261128T112233Z-pms.txt`,
      files: {
        json: `${dir}/20261128T112233Z-pms.json`,
        text: `${dir}/20261128T112233Z-pms.txt`,
        html: `${dir}/20261128T112233Z-pms.html`,
      },
    }
    const lines = runEndLines(record, written, { color: plain, columns: 80 }, { cwd: '/work/app' })
    expect(widest(lines)).toBeLessThanOrEqual(80)
    expect(lines.slice(-5)).toEqual([
      'reports in .playbook/chaos_reports/',
      '  20261128T112233Z-pms.txt',
      '  20261128T112233Z-pms.json',
      '  20261128T112233Z-pms.html',
      'FAILED (exit 1)',
    ])
    // The digest (verdict, failed checks, what to do) sits between the table and the files.
    expect(lines.join('\n')).toMatch(/^FAILED — .*\nfailed: .*\nnext: [\s\S]*\nreports in/m)
    expect(lines.join('\n')).not.toContain('Experiment: PMS API Failure')
    expect(reportPathLines(written, '/elsewhere')[0]).toBe(`reports in ${dir}/`)
    expect(runEndLines(record, written, { color: plain, columns: 80 }, { cwd: '/', quiet: true })).toEqual([
      `FAILED (exit 1) · report: ${written.text}`,
    ])
  })

  it('say an unverified rollback and its next step on the screen, whatever else is shown', () => {
    const lie = guideExperiment({ id: 'rollback_lie' })
    lie.rollback = { ...lie.rollback, verified: false, error: 'faults continued after the rollback' }
    const record = runRecord({ experiments: [guideExperiment(), lie], outcome: 'ERROR', exit_code: 4 })
    const written = { text: '/r/x.txt', files: { text: '/r/x.txt', json: '/r/x.json', html: '/r/x.html' } }
    const lines = runEndLines(record, written, { color: plain, columns: 80 }, { cwd: '/r' })
    expect(lines).toContain(
      'ROLLBACK NOT VERIFIED for rollback_lie: the fault may still be live; run chaos stop --all',
    )
    expect(
      runEndLines(runRecord(), written, { color: plain, columns: 80 }, { cwd: '/r' }).join('\n'),
    ).not.toContain('NOT VERIFIED')
  })

  it('print the plan in short within the width, and say how many more there are', async () => {
    const catalogue = await loadCatalogue({ cwd: process.cwd() })
    const plan = buildPlan(catalogue.scenarios, ['all'], resolveRunOptions({}))
    const lines = formatPlanSummary(plan, colour, 80)
    expect(widest(lines)).toBeLessThanOrEqual(80)
    expect(stripVTControlCharacters(lines[0]!)).toMatch(/^Plan: 27 experiments, about \S+/)
    expect(lines).toHaveLength(12)
    expect(lines.at(-1)).toContain('… and 17 more')
  })
})
