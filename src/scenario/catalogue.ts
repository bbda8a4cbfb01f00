/**
 * The scenario catalogue: the built-in `scenarios/` directory of this package plus user
 * directories (config `scenario_dirs`, `--scenarios DIR`), and the resolution of a selection
 * (`network`, `pms_api_failure`, `./my.yaml`, `all`) into an ordered list of experiments.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InvalidInputError } from '../errors.js'
import { catalogueKey, readCatalogueCache, writeCatalogueCache } from './catalogue-cache.js'
import { compareCategories, knownCategories } from './categories.js'
import {
  displayPath,
  formatProblems,
  isScenarioFileName,
  SCENARIO_EXTENSIONS,
  type LoadedScenario,
  type Problem,
} from './files.js'

// The parser and the schema (YAML, zod) are imported only when a file must be read: a catalogue
// served from the cache never loads them, which is most of `chaos list`'s start-up time.
const loader = () => import('./loader.js')

/** The package name that marks the package root. */
const PACKAGE_NAME = 'chaos-playbook'

/**
 * The built-in scenarios in the guide's section 5 order (5.1 network ... 5.5 resource, numbered
 * within each). Suites run in this order; user scenarios follow the built-ins of their category.
 */
export const BUILTIN_ORDER: readonly string[] = [
  'network_latency',
  'network_timeout',
  'network_connection_failure',
  'network_high_latency_spike',
  'network_intermittent_connectivity',
  'service_random_failure',
  'service_circuit_breaker_trip',
  'service_rate_limiting',
  'service_cascading_failure',
  'service_slow_response',
  'service_unavailable',
  'database_connection_failure',
  'database_slow_query',
  'database_query_timeout',
  'database_pool_exhaustion',
  'database_transaction_deadlock',
  'pms_api_failure',
  'pms_slow_response',
  'pms_rate_limiting',
  'pms_api_timeout',
  'pms_complete_unavailability',
  'pms_intermittent_failures',
  'resource_memory_pressure',
  'resource_cpu_throttling',
  'resource_disk_io_slowdown',
  'resource_exhaustion',
  'resource_memory_leak',
]

let cachedRoot: string | undefined

/**
 * The directory holding this package's package.json, found by walking up from this module
 * (works from `src/` under tsx and from `dist/src/` once built).
 */
export function packageRoot(from: string = import.meta.url): string {
  if (cachedRoot && from === import.meta.url) return cachedRoot
  for (let dir = dirname(fileURLToPath(from)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }
        if (pkg.name === PACKAGE_NAME) {
          if (from === import.meta.url) cachedRoot = dir
          return dir
        }
      } catch {
        // An unreadable package.json belongs to something else; keep walking.
      }
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${from}`)
  }
}

/** The built-in catalogue directory. */
export function builtinScenarioDir(): string {
  return join(packageRoot(), 'scenarios')
}

/** Every scenario file under `dir` (recursively; hidden directories and node_modules skipped), sorted. */
export async function findScenarioFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return (
    entries
      .filter((e) => isScenarioFileName(e.name))
      .map((e) => ({ e, file: join(e.parentPath, e.name) }))
      // A symlink to a file counts: a Kubernetes ConfigMap mounted as a directory is one symlink per
      // key (into its hidden ..data directory, skipped below), never a regular file.
      .filter(
        ({ e, file }) =>
          e.isFile() || (e.isSymbolicLink() && statSync(file, { throwIfNoEntry: false })?.isFile()),
      )
      .map(({ file }) => file)
      .filter((file) => !/[/\\](\.[^/\\]+|node_modules)[/\\]/.test(file.slice(dir.length)))
      .sort()
  )
}

/**
 * The scenario files named by `paths` (files as given, directories searched recursively), for
 * `chaos validate PATH...`. A directory holding no scenario file throws {@link InvalidInputError}:
 * a CI gate that validates nothing must fail, not pass.
 */
export async function scenarioFilesIn(paths: readonly string[], options: { cwd: string }): Promise<string[]> {
  const files: string[] = []
  for (const p of paths) {
    const abs = resolve(options.cwd, p)
    if (!existsSync(abs) || !statSync(abs).isDirectory()) {
      files.push(abs)
      continue
    }
    const found = await findScenarioFiles(abs)
    if (found.length === 0) {
      throw new InvalidInputError(
        `no scenario files found in ${displayPath(abs, options.cwd)}`,
        `scenario files end in ${SCENARIO_EXTENSIONS.join(', ')}; name the files or a directory holding them`,
      )
    }
    files.push(...found)
  }
  return files
}

/** Loaded scenarios in catalogue order, with the problems of files that failed to load. */
export interface Catalogue {
  scenarios: LoadedScenario[]
  problems: Problem[]
  /** Directories read, built-in first. */
  dirs: string[]
}

/** Catalogue order: category (guide order, then the user's alphabetically), the guide's numbering, id. */
export function compareScenarios(a: LoadedScenario, b: LoadedScenario): number {
  const cat = compareCategories(a.scenario.category, b.scenario.category)
  if (cat !== 0) return cat
  const rank = (s: LoadedScenario) => {
    const i = BUILTIN_ORDER.indexOf(s.scenario.id)
    return i < 0 ? BUILTIN_ORDER.length : i
  }
  return rank(a) - rank(b) || a.scenario.id.localeCompare(b.scenario.id)
}

/**
 * Loads the built-in catalogue (unless `builtin: false`) and the extra directories. Problems are
 * returned, not thrown, so `validate` can show them all; see {@link assertNoProblems}.
 */
export async function loadCatalogue(options: {
  cwd: string
  dirs?: readonly string[]
  builtin?: boolean
  builtinDir?: string
  /** Where to keep the validated catalogue between runs (see catalogue-cache.ts); no cache when absent. */
  cacheDir?: string
}): Promise<Catalogue> {
  const dirs: string[] = []
  const builtinDir = options.builtin !== false ? (options.builtinDir ?? builtinScenarioDir()) : undefined
  if (builtinDir !== undefined) dirs.push(builtinDir)
  for (const d of options.dirs ?? []) {
    const abs = resolve(options.cwd, d)
    if (!existsSync(abs) || !statSync(abs).isDirectory()) {
      throw new InvalidInputError(
        `scenario directory ${displayPath(abs, options.cwd)} does not exist`,
        'check --scenarios and scenario_dirs in the config file',
      )
    }
    if (!dirs.includes(abs)) dirs.push(abs)
  }
  const files = (
    await Promise.all(dirs.map((d) => (existsSync(d) ? findScenarioFiles(d) : Promise.resolve([]))))
  ).flat()
  // Keyed before reading, so a file changed meanwhile leaves a key that no later run matches.
  const key = options.cacheDir === undefined ? undefined : catalogueKey(files)
  const cache =
    options.cacheDir !== undefined && key !== undefined ? { dir: options.cacheDir, key } : undefined
  const cached = cache && readCatalogueCache(cache.dir, dirs, cache.key)
  if (cached) {
    const scenarios = cached.map(({ file, scenario }) => ({
      file,
      display: displayPath(file, options.cwd),
      scenario,
    }))
    return { scenarios: scenarios.sort(compareScenarios), problems: [], dirs }
  }
  const { loadScenarioFiles } = await loader()
  const { scenarios, problems } = await loadScenarioFiles(files, {
    cwd: options.cwd,
    ...(builtinDir !== undefined && { builtinDir }),
  })
  if (cache && problems.length === 0) {
    const entries = scenarios.map(({ file, scenario }) => ({ file, scenario }))
    writeCatalogueCache(cache.dir, dirs, cache.key, entries)
  }
  return { scenarios: scenarios.sort(compareScenarios), problems, dirs }
}

/** Throws {@link InvalidInputError} (exit 2) listing every problem, if there is any. */
export function assertNoProblems(problems: readonly Problem[], what = 'scenario'): void {
  if (problems.length === 0) return
  const files = new Set(problems.map((p) => p.file)).size
  throw new InvalidInputError(
    `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${files} ${what} file${files === 1 ? '' : 's'}`,
    'fix the files above (format: docs/scenario-format.md, checks: docs/checks.md)',
    formatProblems(problems),
  )
}

/** True when a selection word names a path rather than a category or id. */
function looksLikePath(word: string): boolean {
  return /[/\\]/.test(word) || isScenarioFileName(word) || word.startsWith('.')
}

/**
 * Resolves a selection — categories, scenario ids, files or directories, `all` — into scenarios:
 * in the order the words are given, each word expanding in catalogue order, duplicates dropped.
 * Files outside the catalogue are loaded and validated. Unknown words throw {@link InvalidInputError}.
 */
export async function resolveSelection(
  catalogue: Catalogue,
  selection: readonly string[],
  options: { cwd: string },
): Promise<LoadedScenario[]> {
  const categories = knownCategories(catalogue.scenarios)
  if (selection.length === 0) {
    throw new InvalidInputError(
      'nothing selected',
      `name a category (${categories.join(', ')}), a scenario id, a file, or all`,
    )
  }
  const picked: LoadedScenario[] = []
  const unknown: string[] = []
  const problems: Problem[] = []
  const byId = new Map(catalogue.scenarios.map((s) => [s.scenario.id, s]))
  const byFile = new Map(catalogue.scenarios.map((s) => [s.file, s]))

  for (const word of selection) {
    if (word === 'all') picked.push(...catalogue.scenarios)
    else if (categories.includes(word))
      picked.push(...catalogue.scenarios.filter((s) => s.scenario.category === word))
    else if (byId.has(word)) picked.push(byId.get(word)!)
    else if (existsSync(resolve(options.cwd, word)) || looksLikePath(word)) {
      const abs = resolve(options.cwd, word)
      if (!existsSync(abs)) {
        problems.push({
          file: word,
          line: 1,
          col: 1,
          field: '',
          message: 'no such file',
          hint: 'check the path',
        })
        continue
      }
      const files = statSync(abs).isDirectory() ? await findScenarioFiles(abs) : [abs]
      const fresh = files.filter((f) => !byFile.has(f))
      const { loadScenarioFiles } = await loader()
      const loaded = await loadScenarioFiles(fresh, options)
      problems.push(...loaded.problems)
      const fromFiles = new Map(loaded.scenarios.map((s) => [s.file, s]))
      const found = files.map((f) => byFile.get(f) ?? fromFiles.get(f)).filter((s) => s !== undefined)
      picked.push(...found.sort(compareScenarios))
    } else unknown.push(word)
  }

  assertNoProblems(problems)
  if (unknown.length > 0) {
    const { closest } = await import('./document.js')
    const names = [...categories, 'all', ...byId.keys()]
    const lines = unknown.map((word) => {
      const guess = closest(word, names)
      return `unknown selection "${word}"${guess ? ` (did you mean ${guess}?)` : ''}`
    })
    throw new InvalidInputError(
      unknown.length === 1 ? lines[0]! : `${unknown.length} unknown selections`,
      `select a category (${categories.join(', ')}), a scenario id (see chaos list), a file or directory, or all`,
      unknown.length === 1 ? [] : lines,
    )
  }

  const result: LoadedScenario[] = []
  const ids = new Map<string, LoadedScenario>()
  for (const s of picked) {
    const same = ids.get(s.scenario.id)
    if (same?.file === s.file) continue
    if (same) {
      throw new InvalidInputError(
        `two selected scenarios share the id "${s.scenario.id}": ${same.display} and ${s.display}`,
        'select only one of them, or give one a different id',
      )
    }
    ids.set(s.scenario.id, s)
    result.push(s)
  }
  if (result.length === 0) {
    throw new InvalidInputError(
      `no scenarios match ${selection.join(' ')}`,
      'see chaos list for the catalogue, or add --scenarios DIR',
    )
  }
  return result
}
