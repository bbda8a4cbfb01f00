/**
 * Loads scenario files (YAML or JSON), validates them with the {@link Scenario} schema and reports
 * every problem of every file, each positioned in its source, so one `chaos validate` run shows
 * everything there is to fix.
 */
import { basename, dirname, relative, resolve, sep } from 'node:path'
import {
  BLAST_RADII,
  FAULT_TABLE,
  FAULT_TYPES,
  MAX_EXPERIMENT_SECONDS,
  type FaultType,
  type ParamHelp,
} from '../protocol/schemas.js'
import { closest, getIn, validateDocument, type HintFor, type RawProblem } from './document.js'
import { displayPath, type LoadedScenario, type LoadResult, type Problem } from './files.js'
import { readInputFile, type InputFile } from './input-file.js'
import { CATEGORIES, Scenario } from './schema.js'

// The light helpers live in files.ts (no YAML, no zod) so a cached catalogue loads without this module.
export {
  displayPath,
  formatProblem,
  formatProblems,
  isScenarioFileName,
  SCENARIO_EXTENSIONS,
  type LoadedScenario,
  type LoadResult,
  type Problem,
} from './files.js'

/** Example values for the envelope fields, used in hints (parameters have theirs in the fault table). */
const ENVELOPE_EXAMPLES: Record<string, string> = {
  probability: '0.3',
  fault_type: 'LATENCY',
}

/** Help for a fault parameter: from its own fault type's row, else from the first row that has it. */
function paramHelp(faultType: unknown, field: string): ParamHelp | undefined {
  // hasOwn: a fault_type such as "constructor" must not reach Object.prototype.
  if (typeof faultType === 'string' && Object.hasOwn(FAULT_TABLE, faultType)) {
    const own = FAULT_TABLE[faultType as FaultType].help as Record<string, ParamHelp>
    if (Object.hasOwn(own, field)) return own[field]
  }
  for (const type of FAULT_TYPES) {
    const help = FAULT_TABLE[type].help as Record<string, ParamHelp>
    if (Object.hasOwn(help, field)) return help[field]
  }
  return undefined
}

const FIELD_HINTS: Record<string, string> = {
  id: 'a unique snake_case id, e.g. network_latency',
  name: 'a short human name, e.g. Network Latency',
  category: `one of the guide's ${CATEGORIES.join(', ')}, or your own lower-case word, e.g. payments`,
  target_service:
    'a wrapped dependency, e.g. pms_adapter, whatsapp_client, gmail_client, database, session_store',
  duration_seconds: `a number of seconds, more than 0 and at most ${MAX_EXPERIMENT_SECONDS} (30 minutes)`,
  steady_state_hypothesis: 'the sentence the experiment tests, e.g. "P95 latency < 2x baseline"',
  fault_config: `a mapping with fault_type (${FAULT_TYPES.join(', ')}), probability and its parameters`,
  probability: 'a probability between 0 and 1, e.g. 0.3 for 30 %',
  blast_radius: `one of ${BLAST_RADII.join(', ')}; start with SINGLE_REQUEST (guide section 4)`,
  enabled: 'true or false',
  checks: 'a list of checks such as "error_rate < 5% during" (docs/checks.md)',
  check: 'measure op bound phase, e.g. "error_rate < 5% during" (docs/checks.md)',
  max_error_rate: 'a ratio above 0 and at most 0.5 (safety may only be tightened)',
  min_availability: 'a ratio of at least 0.5 and below 1 (safety may only be tightened)',
  tags: 'a list of strings',
  path: 'a request path starting with /, e.g. /api/availability',
  method: 'GET, POST, PUT, PATCH or DELETE',
  weight: 'a positive whole number (relative share of the workload)',
}

const scenarioHints: HintFor = (p: RawProblem, data: unknown) => {
  if (p.hint) return p.hint
  const field = [...p.path].reverse().find((part): part is string => typeof part === 'string')
  if (field === undefined) return 'each entry of checks is a string or {name, check}'
  const faultType = getIn(data, ['fault_config', 'fault_type'])
  const param = p.path[0] === 'fault_config' ? paramHelp(faultType, field) : undefined
  if (p.missing && p.path[0] === 'fault_config') {
    const example = ENVELOPE_EXAMPLES[field] ?? param?.example
    const who = typeof faultType === 'string' ? `${faultType} faults need` : 'add'
    return example ? `${who} ${field}, e.g. ${field}: ${example}` : `${who} ${field}`
  }
  // Categories are open, but a malformed one close to a built-in is most likely a typo of it.
  const written = getIn(data, ['category'])
  const guess =
    field === 'category' && p.path.length === 1 && typeof written === 'string'
      ? closest(written.toLowerCase(), CATEGORIES)
      : undefined
  if (guess) return `did you mean ${guess}? (${FIELD_HINTS.category})`
  const hint = FIELD_HINTS[field] ?? param?.hint
  if (p.missing) return `add ${field}: ${hint ?? 'see docs/scenario-format.md'}`
  return hint ?? 'see docs/scenario-format.md'
}

/** Parses and validates one scenario file's text. `file` is the absolute path, `display` what users see. */
export function parseScenario(
  text: string,
  file: string,
  display: string = file,
): { scenario?: Scenario; problems: Problem[]; locateId: () => Problem } {
  const doc = validateDocument(text, display, Scenario, { hintFor: scenarioHints, what: 'one scenario' })
  const locateId = () => doc.locate({ path: ['id'], message: '' })
  const problems = [...doc.problems]
  // A built-in layout puts each scenario under its category's directory; a mismatch is a mistake.
  const parent = basename(dirname(file))
  const category = getIn(doc.data, ['category'])
  if (
    typeof category === 'string' &&
    (CATEGORIES as readonly string[]).includes(parent) &&
    (CATEGORIES as readonly string[]).includes(category) &&
    parent !== category
  ) {
    problems.push(
      doc.locate({
        path: ['category'],
        message: `is "${category}" but the file is in the "${parent}" directory`,
        hint: `move the file to ${category}/ or set category: ${parent}`,
      }),
    )
  }
  if (problems.length > 0 || doc.value === undefined) return { problems, locateId }
  return { scenario: doc.value, problems, locateId }
}

/** `scenarios/network/network_latency.yaml` when `file` is inside the built-in directory `builtinDir`. */
function builtinDisplay(file: string, builtinDir: string | undefined): string | undefined {
  if (builtinDir === undefined) return undefined
  const rel = relative(builtinDir, file)
  if (!rel || rel.startsWith('..') || rel.startsWith(sep) || /^[A-Za-z]:/.test(rel)) return undefined
  return ['scenarios', ...rel.split(sep)].join('/')
}

/**
 * Loads and validates scenario files (in the given order). Every problem of every file is
 * collected, including ids used by more than one file; a file that cannot be read (missing, not a
 * regular file, larger than the input limit) is one problem, and the other files still load.
 * `builtinDir`, when the built-in catalogue is among the files, words a clash with a built-in id.
 */
export async function loadScenarioFiles(
  files: readonly string[],
  options: { cwd: string; builtinDir?: string },
): Promise<LoadResult> {
  const absolute = [...new Set(files.map((f) => resolve(options.cwd, f)))]
  const texts = await Promise.all(
    absolute.map(async (file): Promise<{ file: string; read?: InputFile; error?: NodeJS.ErrnoException }> => {
      try {
        return { file, read: await readInputFile(file) }
      } catch (err) {
        return { file, error: err as NodeJS.ErrnoException }
      }
    }),
  )
  const scenarios: LoadedScenario[] = []
  const problems: Problem[] = []
  const seen = new Map<string, { at: Problem; file: string }>()
  for (const entry of texts) {
    const display = displayPath(entry.file, options.cwd)
    const unreadable = (reason: string, hint: string) =>
      problems.push({ file: display, line: 1, col: 1, field: '', message: reason, hint })
    if (entry.error || !entry.read) {
      const reason = entry.error?.code === 'ENOENT' ? 'no such file' : entry.error?.message
      unreadable(`cannot read: ${reason ?? 'unknown error'}`, 'check the path')
      continue
    }
    if ('refused' in entry.read) {
      unreadable(`not read: the file ${entry.read.refused.reason}`, entry.read.refused.hint)
      continue
    }
    const parsed = parseScenario(entry.read.text, entry.file, display)
    problems.push(...parsed.problems)
    if (!parsed.scenario) continue
    const id = parsed.scenario.id
    const first = seen.get(id)
    if (first) {
      const here = parsed.locateId()
      const builtin = builtinDisplay(first.file, options.builtinDir)
      problems.push(
        builtin
          ? {
              ...here,
              message: `id "${id}" is also the built-in scenario ${builtin}`,
              hint: 'give your scenario its own id (or leave the built-ins out: catalogue: none in the config, or --no-builtin)',
            }
          : {
              ...here,
              message: `duplicate id "${id}" (also in ${first.at.file}:${first.at.line}:${first.at.col})`,
              hint: 'scenario ids must be unique across every loaded directory; rename one',
            },
      )
      continue
    }
    seen.set(id, { at: parsed.locateId(), file: entry.file })
    scenarios.push({ file: entry.file, display, scenario: parsed.scenario })
  }
  return { scenarios, problems }
}
