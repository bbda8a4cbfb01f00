/**
 * The scenario file format. This zod schema is the single source of truth: validation, the
 * TypeScript types and the published JSON Schema (`scenarios/scenario.schema.json`) all come from it.
 */
import { z } from 'zod'
import { ExperimentId, FaultConfig, MAX_EXPERIMENT_SECONDS, ServiceName } from '../protocol/schemas.js'
import { CATEGORIES, CATEGORY_PATTERN, RESERVED_CATEGORY_NAMES } from './categories.js'
import { CheckSyntaxError, parseCheck, type Check } from './checks.js'

export { CATEGORIES }
/**
 * A category: one of the guide's five (`CATEGORIES`) or the user's own, e.g. `payments`. Open, so
 * a catalogue of your own is not forced into the hotel's categories.
 */
export const Category = z
  .string()
  .regex(CATEGORY_PATTERN, 'must be a lower-case snake_case word of at most 40 characters, e.g. payments')
  .refine((name) => !RESERVED_CATEGORY_NAMES.includes(name), {
    message: '"all" selects every scenario and cannot be a category',
  })
  .describe(`${CATEGORIES.join(', ')} (the guide's), or your own, e.g. payments`)
export type Category = z.infer<typeof Category>

/** Guide section 7 safety limits; a scenario may only tighten them. */
export const DEFAULT_SAFETY = { max_error_rate: 0.5, min_availability: 0.5 } as const

const CheckExpression = z
  .string()
  .describe('measure op bound phase, e.g. "error_rate < 5% during" (grammar: docs/checks.md)')
  .transform((text, ctx): Check => {
    try {
      return parseCheck(text)
    } catch (err) {
      if (!(err instanceof CheckSyntaxError)) throw err
      ctx.addIssue({ code: 'custom', message: err.message, params: { column: err.column, hint: err.hint } })
      return z.NEVER
    }
  })

const NamedCheck = z.strictObject({
  name: z.string().min(1).max(120),
  check: CheckExpression,
})

/** A check as written (string or `{name, check}`), normalised to a name and the parsed expression. */
export const CheckEntry = z
  .union([CheckExpression, NamedCheck])
  .transform((entry) =>
    'check' in entry ? { name: entry.name, ...entry.check } : { name: entry.expression, ...entry },
  )
export type ScenarioCheck = z.infer<typeof CheckEntry>

export const Safety = z.strictObject({
  max_error_rate: z
    .number()
    .gt(0)
    .max(DEFAULT_SAFETY.max_error_rate)
    .optional()
    .describe('Abort when the error rate over a poll window is above this (at most 0.5)'),
  min_availability: z
    .number()
    .min(DEFAULT_SAFETY.min_availability)
    .lt(1)
    .optional()
    .describe('Abort when availability over a poll window is below this (at least 0.5)'),
})
export type Safety = z.infer<typeof Safety>

export const WorkloadRequest = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  path: z.string().startsWith('/', 'must start with /'),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().optional(),
  weight: z.number().int().positive().default(1),
})
export type WorkloadRequest = z.infer<typeof WorkloadRequest>

export const Workload = z.strictObject({
  requests: z.array(WorkloadRequest).min(1),
})
export type Workload = z.infer<typeof Workload>

/** One chaos experiment definition (one file under `scenarios/<category>/`). */
export const Scenario = z.strictObject({
  $schema: z.string().optional(),
  id: ExperimentId.describe('Unique snake_case id, e.g. network_latency'),
  name: z.string().min(1).max(120),
  description: z.string().max(2000).default(''),
  category: Category,
  target_service: ServiceName.describe('Wrapped dependency the fault targets, e.g. pms_adapter'),
  duration_seconds: z
    .number()
    .positive()
    .max(MAX_EXPERIMENT_SECONDS, `must be at most ${MAX_EXPERIMENT_SECONDS} (30 minutes, guide section 7)`),
  steady_state_hypothesis: z.string().min(1).describe("The guide's hypothesis sentence"),
  fault_config: FaultConfig,
  checks: z.array(CheckEntry).min(1, 'needs at least one check to make the hypothesis measurable'),
  safety: Safety.optional(),
  workload: Workload.optional(),
  tags: z.array(z.string().min(1)).default([]),
})
export type Scenario = z.infer<typeof Scenario>
export type ScenarioInput = z.input<typeof Scenario>

/** JSON Schema of scenario files, for editors (yaml-language-server) and other tools. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Scenario, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
  return {
    ...schema,
    $id: 'https://chaos-playbook.dev/scenario.schema.json',
    title: 'chaos-playbook scenario',
  }
}
