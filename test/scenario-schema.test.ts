/**
 * The published JSON Schema stays in sync with the zod schema, and every shipped scenario points
 * editors at it. To regenerate the schema after changing src/scenario/schema.ts:
 *
 *   UPDATE_SCHEMA=1 npx vitest run test/scenario-schema.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { builtinScenarioDir, findScenarioFiles } from '../src/scenario/catalogue.js'
import { scenarioJsonSchema } from '../src/scenario/schema.js'

const schemaFile = join(builtinScenarioDir(), 'scenario.schema.json')
const expected = JSON.stringify(scenarioJsonSchema(), null, 2) + '\n'

describe('scenarios/scenario.schema.json', () => {
  it('equals the schema generated from the zod schema', () => {
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(schemaFile, expected)
    expect(
      readFileSync(schemaFile, 'utf8'),
      'regenerate: UPDATE_SCHEMA=1 npx vitest run test/scenario-schema.test.ts',
    ).toBe(expected)
  })

  it('describes the fields editors should complete', () => {
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as {
      properties: Record<string, unknown>
      required: string[]
      additionalProperties: boolean
    }
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        'id',
        'category',
        'target_service',
        'duration_seconds',
        'fault_config',
        'checks',
        'safety',
      ]),
    )
    expect(schema.required).toEqual(expect.arrayContaining(['id', 'fault_config', 'checks']))
    expect(schema.additionalProperties).toBe(false)
  })

  it('is referenced by the first line of every shipped scenario file', async () => {
    const files = await findScenarioFiles(builtinScenarioDir())
    expect(files.length).toBeGreaterThan(0)
    for (const file of files.filter((f) => /\.ya?ml$/.test(f))) {
      const firstLine = readFileSync(file, 'utf8').split('\n')[0]
      expect(firstLine, file).toBe('# yaml-language-server: $schema=../scenario.schema.json')
    }
  })
})
