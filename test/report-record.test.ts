/**
 * The run record schema, its published JSON Schema and the JSON serialisation. To regenerate the
 * JSON Schema after changing src/record.ts:
 *
 *   UPDATE_SCHEMA=1 npx vitest run test/report-record.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { InvalidInputError } from '../src/errors.js'
import { compactTimestamp, createRunId, RunRecord, runReportJsonSchema } from '../src/record.js'
import { parseRecord, serializeRecord } from '../reports/json.js'
import { guideExperiment, runRecord } from './report-fixtures.js'

const schemaFile = join(import.meta.dirname, '..', 'reports', 'run-report.schema.json')
const expected = JSON.stringify(runReportJsonSchema(), null, 2) + '\n'

describe('reports/run-report.schema.json', () => {
  it('equals the schema generated from the zod schema', () => {
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(schemaFile, expected)
    expect(
      readFileSync(schemaFile, 'utf8'),
      'regenerate: UPDATE_SCHEMA=1 npx vitest run test/report-record.test.ts',
    ).toBe(expected)
  })

  it('accepts a real record and rejects broken ones (checked through the published JSON Schema)', () => {
    const published = z.fromJSONSchema(
      JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>,
    )
    expect(published.safeParse(runRecord()).success).toBe(true)
    const lowerCaseOutcome = { ...runRecord(), outcome: 'passed' }
    expect(published.safeParse(lowerCaseOutcome).success).toBe(false)
    const badRatio = runRecord({
      experiments: [guideExperiment({ metrics: { ...guideExperiment().metrics, mttr_seconds: -1 } })],
    })
    expect(published.safeParse(badRatio).success).toBe(false)
    expect(published.safeParse({ ...runRecord(), surprise: true }).success).toBe(false)
  })
})

describe('RunRecord', () => {
  it('keeps every field of the hand-built record', () => {
    const record = runRecord()
    expect(RunRecord.parse(record)).toEqual(record)
  })

  it('rejects camelCase, lower-case enums and wrong versions', () => {
    expect(RunRecord.safeParse({ ...runRecord(), schema_version: 3 }).success).toBe(false)
    expect(
      RunRecord.safeParse(runRecord({ experiments: [guideExperiment({ state: 'completed' as never })] }))
        .success,
    ).toBe(false)
    const { run_id, ...rest } = runRecord()
    expect(RunRecord.safeParse({ ...rest, runId: run_id }).success).toBe(false)
  })

  it('keeps extra fault_config fields (fault types may grow)', () => {
    const parsed = RunRecord.parse(runRecord())
    expect(parsed.experiments[0]!.fault_config).toMatchObject({ exception_class: 'ConnectionError' })
  })
})

describe('run ids', () => {
  it('uses a compact UTC timestamp', () => {
    expect(compactTimestamp(Date.parse('2026-11-28T11:22:33.456Z'))).toBe('20261128T112233Z')
    expect(createRunId(Date.parse('2026-11-28T11:22:33Z'), () => 0.5)).toBe('20261128T112233Z-800000')
    expect(createRunId(Date.parse('2026-11-28T11:22:33Z'))).toMatch(/^20261128T112233Z-[0-9a-f]{6}$/)
  })
})

describe('serializeRecord', () => {
  it('orders keys like the schema whatever order the record was built in', () => {
    const record = runRecord()
    const reversed = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reversed)
        : value && typeof value === 'object'
          ? Object.fromEntries(
              Object.entries(value as Record<string, unknown>)
                .reverse()
                .map(([k, v]) => [k, reversed(v)]),
            )
          : value
    const shuffled = reversed(record) as RunRecord
    expect(JSON.stringify(shuffled)).not.toBe(JSON.stringify(record))
    expect(serializeRecord(shuffled)).toBe(serializeRecord(record))
    const text = serializeRecord(record)
    expect(text.indexOf('"schema_version"')).toBeLessThan(text.indexOf('"run_id"'))
    expect(text.endsWith('}\n')).toBe(true)
  })

  it('sorts open maps: failures_by_class and extra fault fields', () => {
    const out = JSON.parse(serializeRecord(runRecord())) as RunRecord
    const e = out.experiments[0]!
    expect(Object.keys(e.metrics.during!.failures_by_class)).toEqual(['http_503', 'timeout'])
    expect(Object.keys(e.fault_config)).toEqual([
      'fault_type',
      'probability',
      'blast_radius',
      'enabled',
      'exception_class',
      'exception_message',
    ])
  })

  it('refuses a record that breaks the schema', () => {
    expect(() => serializeRecord({ ...runRecord(), outcome: 'OK' as never })).toThrow()
  })
})

describe('parseRecord', () => {
  it('round-trips a serialised record', () => {
    expect(parseRecord(serializeRecord(runRecord()), 'x.json')).toEqual(RunRecord.parse(runRecord()))
  })

  it('names the file and the field in a one-line error (exit 2)', () => {
    const broken = JSON.stringify({ ...runRecord(), outcome: 'MAYBE' })
    let error: unknown
    try {
      parseRecord(broken, 'runs/a.json')
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(InvalidInputError)
    expect((error as InvalidInputError).exitCode).toBe(2)
    expect((error as Error).message).toMatch(/^runs\/a\.json: not a chaos report \(outcome: /)
    expect(() => parseRecord('{"schema_version": 1,', 'b.json')).toThrow(
      /^b\.json: not a chaos report \(not JSON\)$/,
    )
  })
})
