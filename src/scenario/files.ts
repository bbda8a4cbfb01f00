/**
 * The light half of scenario loading: which files are scenarios, how their paths are shown, and
 * the positioned problem type. Nothing here imports the YAML parser or the schema (zod), so a
 * catalogue served from the cache (see catalogue-cache.ts) never loads them.
 */
import { isAbsolute, relative } from 'node:path'
import type { Scenario } from './schema.js'

/** One problem in one input file, positioned (1-based) in its source. */
export interface Problem {
  file: string
  line: number
  col: number
  /** Dotted path of the field (`fault_config.latency_ms`, `checks[2]`); empty for syntax errors. */
  field: string
  message: string
  hint?: string
}

/** `file:line:col field: message (hint: ...)` on one line. */
export function formatProblem(p: Problem): string {
  const field = p.field ? ` ${p.field}:` : ''
  const hint = p.hint ? ` (hint: ${p.hint})` : ''
  return `${p.file}:${p.line}:${p.col}${field} ${p.message}${hint}`
}

/** Every problem, one formatted line each. */
export function formatProblems(problems: readonly Problem[]): string[] {
  return problems.map(formatProblem)
}

/** File extensions read as scenarios. `*.schema.json` files are never scenarios. */
export const SCENARIO_EXTENSIONS = ['.yaml', '.yml', '.json'] as const

/** True for a path that names a scenario file by its extension. */
export function isScenarioFileName(name: string): boolean {
  return SCENARIO_EXTENSIONS.some((ext) => name.endsWith(ext)) && !name.endsWith('.schema.json')
}

/** How a path is shown: relative to `cwd` when inside it, absolute otherwise. */
export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}

/** A validated scenario and where it came from. */
export interface LoadedScenario {
  /** Absolute path of the file. */
  file: string
  /** The path as shown to the user (relative to the working directory when inside it). */
  display: string
  scenario: Scenario
}

export interface LoadResult {
  scenarios: LoadedScenario[]
  problems: Problem[]
}
