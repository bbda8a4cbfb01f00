/**
 * The protocol's fault table is the one list of fault types: the JSON Schemas generated from zod, the agent's
 * fault modules, the failing set, the loader's hints, the report wording and the generated docs
 * tables all agree with it. To regenerate the docs tables after changing src/protocol/faults.ts:
 *
 *   UPDATE_SCHEMA=1 npx vitest run test/fault-table.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { z } from 'zod'
import { FAULTS, isInjectedError } from '../src/agent/index.js'
import type { Clock } from '../src/clock.js'
import {
  ENVELOPE_FIELDS,
  FAILING_FAULT_TYPES,
  FAULT_TABLE,
  FAULT_TYPES,
  FaultConfig,
  type FaultRow,
  type FaultType,
} from '../src/protocol/schemas.js'
import { parseScenario } from '../src/scenario/loader.js'
import { faultSummary } from '../src/wording.js'
import { RecordedFaultConfig, runReportJsonSchema } from '../src/record.js'
import { scenarioJsonSchema } from '../src/scenario/schema.js'

const root = join(import.meta.dirname, '..')
const rows = FAULT_TYPES.map((type) => [type, FAULT_TABLE[type] as FaultRow] as const)

/** True when the parameter may be left out (it is optional or has a default). */
const isOptional = (schema: z.ZodType) => schema.safeParse(undefined).success

function requiredParams(row: FaultRow): string[] {
  return Object.entries(row.params)
    .filter(([, schema]) => !isOptional(schema))
    .map(([name]) => name)
}

/** The smallest valid config of a type, built from the loader's examples as an author would write it. */
function exampleConfig(type: FaultType, row: FaultRow, probability = 1): Record<string, unknown> {
  const params = requiredParams(row).map((name): [string, unknown] => [
    name,
    parseYaml(row.help[name]!.example ?? ''),
  ])
  return { fault_type: type, probability, ...Object.fromEntries(params) }
}

interface JsonObjectSchema {
  properties: Record<string, { const?: string }>
  required?: string[]
}

/** The `oneOf` variants of a generated `fault_config`, keyed by their `fault_type` constant. */
function variants(fault: { oneOf?: JsonObjectSchema[] }): Map<string, JsonObjectSchema> {
  expect(fault.oneOf, 'fault_config is a oneOf').toBeDefined()
  return new Map(fault.oneOf!.map((v) => [v.properties.fault_type!.const!, v]))
}

describe('the fault table and the generated JSON Schemas', () => {
  // The generators; test/scenario-schema.test.ts and test/report-record.test.ts prove the committed
  // files equal them (reading the files here would race with their regeneration).
  const scenarioSchema = scenarioJsonSchema() as {
    properties: { fault_config: { oneOf?: JsonObjectSchema[] } }
  }
  const reportSchema = runReportJsonSchema() as {
    properties: { experiments: { items: { properties: { fault_config: { oneOf?: JsonObjectSchema[] } } } } }
  }
  const inScenario = variants(scenarioSchema.properties.fault_config)
  const inReport = variants(reportSchema.properties.experiments.items.properties.fault_config)

  it('lists exactly the table rows, in table order', () => {
    expect([...inScenario.keys()]).toEqual(FAULT_TYPES)
    expect([...inReport.keys()]).toEqual(FAULT_TYPES)
  })

  it.each(rows)(
    'scenario.schema.json: %s has the envelope plus the row params, same required ones',
    (type, row) => {
      const variant = inScenario.get(type)!
      expect(Object.keys(variant.properties)).toEqual([...ENVELOPE_FIELDS, ...Object.keys(row.params)])
      expect(variant.required).toEqual(['fault_type', 'probability', ...requiredParams(row)])
      for (const [name, schema] of Object.entries(row.params)) {
        const { $schema: _version, ...own } = z.toJSONSchema(schema, { io: 'input' })
        expect(variant.properties[name], name).toEqual(own)
      }
    },
  )

  it.each(rows)('run-report.schema.json: %s records the row params, all optional', (type, row) => {
    const variant = inReport.get(type)!
    const recorded = Object.keys(variant.properties).filter((k) => !ENVELOPE_FIELDS.includes(k))
    expect(recorded).toEqual(Object.keys(row.params))
    expect(variant.required).toEqual(['fault_type', 'probability', 'blast_radius'])
  })
})

describe('the fault table and the agent', () => {
  it('has one fault module per row and no other', () => {
    expect(Object.keys(FAULTS).sort()).toEqual([...FAULT_TYPES].sort())
  })

  /** Timers fire on the next turn and monotonic time jumps by their delay: waits cost nothing. */
  function instantClock(): Clock {
    let now = 0
    return {
      now: () => now,
      monotonic: () => now,
      setTimeout: (fn, ms) => setImmediate(() => ((now += ms), fn())),
      clearTimeout: (handle) => clearImmediate(handle as NodeJS.Immediate),
    }
  }

  it.each(rows)('%s: the agent module fails calls exactly when the row says "failing"', async (type, row) => {
    const config = FaultConfig.parse(exampleConfig(type, row))
    const env = { experiment: 'table', random: () => 0.5, clock: instantClock(), heapLimitBytes: 1 << 30 }
    const fault = (FAULTS[type] as (c: FaultConfig, e: typeof env) => ReturnType<(typeof FAULTS)['LATENCY']>)(
      config,
      env,
    )
    const rollback = new AbortController()
    const errors: unknown[] = []
    // Enough calls for a rate limit from the loader's example (10 per window) to start failing.
    for (let i = 0; i < 50 && errors.length === 0; i++) {
      const ctx = { experiment: 'table', service: 'svc', signal: undefined, rollback: rollback.signal }
      await fault.apply(ctx)?.catch((err: unknown) => errors.push(err))
    }
    fault.release()
    expect(errors.length > 0, `${type} failed a call`).toBe(row.failing)
    for (const err of errors) {
      expect(isInjectedError(err)).toBe(true)
      expect((err as { fault_type: unknown }).fault_type).toBe(type)
    }
  })
})

describe('the fault table and the runner', () => {
  it('the failing set is the rows flagged failing', () => {
    expect([...FAILING_FAULT_TYPES]).toEqual(FAULT_TYPES.filter((t) => FAULT_TABLE[t].failing))
  })

  const scenarioText = (faultConfig: Record<string, unknown>) =>
    toYaml({
      id: 'table_probe',
      name: 'Table probe',
      category: 'service',
      target_service: 'pms_adapter',
      duration_seconds: 60,
      steady_state_hypothesis: 'Errors stay low',
      fault_config: faultConfig,
      checks: ['error_rate < 5% during'],
    })
  const problemsOf = (faultConfig: Record<string, unknown>) =>
    parseScenario(scenarioText(faultConfig), '/x/table_probe.yaml', 'table_probe.yaml').problems

  it.each(rows)('%s: the loader example makes a valid scenario', (type, row) => {
    expect(problemsOf(exampleConfig(type, row))).toEqual([])
  })

  it.each(rows)('%s: the loader names a missing required parameter with its example', (type, row) => {
    for (const name of requiredParams(row)) {
      const { [name]: _dropped, ...config } = exampleConfig(type, row)
      const [problem, ...more] = problemsOf(config)
      expect(more).toEqual([])
      expect(problem).toMatchObject({ field: `fault_config.${name}`, message: 'missing required field' })
      expect(problem!.hint).toBe(`${type} faults need ${name}, e.g. ${name}: ${row.help[name]!.example}`)
    }
  })

  it.each(rows)('%s: the loader hints at each parameter given a wrong value', (type, row) => {
    for (const name of Object.keys(row.params)) {
      const problems = problemsOf({ ...exampleConfig(type, row), [name]: [1] })
      expect(problems.length, name).toBeGreaterThan(0)
      expect(problems[0], name).toMatchObject({ field: `fault_config.${name}`, hint: row.help[name]!.hint })
    }
  })

  it('the report words each row in its own way, with the probability', () => {
    const summaries = rows.map(([type, row]) => {
      const recorded = RecordedFaultConfig.parse(FaultConfig.parse(exampleConfig(type, row, 0.3)))
      return faultSummary(recorded)
    })
    for (const summary of summaries) expect(summary).toContain('30%')
    expect(new Set(summaries).size).toBe(rows.length)
  })
})

const START = '<!-- fault table: generated from src/protocol/faults.ts by test/fault-table.test.ts -->'
const END = '<!-- end of fault table -->'

/** A parameter for the docs: its name, hint and default. */
function paramDoc(name: string, schema: z.ZodType, help: string): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { default?: unknown }
  const fallback = json.default === undefined ? '' : `; default \`${JSON.stringify(json.default)}\``
  return `\`${name}\` (${help}${fallback})`
}

const DOC_TABLES: Record<string, () => string[]> = {
  'docs/scenario-format.md': () => [
    '| `fault_type` | Required parameters | Optional parameters | Fails calls | Effect on a selected call |',
    '|---|---|---|---|---|',
    ...rows.map(([type, row]) => {
      const params = Object.entries(row.params).map(([name, schema]) => ({
        optional: isOptional(schema),
        text: paramDoc(name, schema, row.help[name]!.hint),
      }))
      const list = (optional: boolean) =>
        params
          .filter((p) => p.optional === optional)
          .map((p) => p.text)
          .join(', ')
      return `| \`${type}\` | ${list(false)} | ${list(true)} | ${row.failing ? 'yes' : 'no'} | ${row.description} |`
    }),
  ],
  'docs/control-protocol.md': () => [
    '| `fault_type` | Effect on a selected call |',
    '| --- | --- |',
    ...rows.map(([type, row]) => `| \`${type}\` | ${row.description} |`),
  ],
}

describe('the generated docs tables', () => {
  it.each(Object.keys(DOC_TABLES))('%s lists every row of the fault table', (file) => {
    const path = join(root, file)
    const text = readFileSync(path, 'utf8')
    const start = text.indexOf(START)
    const end = text.indexOf(END)
    expect(start, `${file} has the generated-table markers`).toBeGreaterThan(-1)
    expect(end).toBeGreaterThan(start)
    const expected = `${text.slice(0, start)}${START}\n${DOC_TABLES[file]!().join('\n')}\n${text.slice(end)}`
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(path, expected)
    expect(
      readFileSync(path, 'utf8'),
      'regenerate: UPDATE_SCHEMA=1 npx vitest run test/fault-table.test.ts',
    ).toBe(expected)
  })
})
