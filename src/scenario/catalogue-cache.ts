/**
 * A cache of the validated catalogue, so that a command that only reads it (`chaos list`) skips
 * reading, parsing and validating every scenario file, and loading the YAML parser and zod, when
 * nothing changed.
 *
 * One JSON file per set of scenario directories, in a cache directory the caller names. An entry is
 * used only when its key matches exactly. The key covers every scenario file (path, size, mtime,
 * ctime, inode: any edit, touch, replacement, addition or removal changes it) and the code that
 * validates (the stats of the scenario and protocol modules, and the versions of zod and yaml), so
 * a changed schema invalidates it too. Only catalogues without problems are stored: a broken file is
 * always parsed again and reported with its real positions. Writes are atomic (temporary file, then
 * rename); an unreadable, corrupt or mismatching cache is ignored, and failing to write one only
 * costs the next run its speed.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import type { Scenario } from './schema.js'

/** Bumped when the cache file layout changes. */
const FORMAT = 1
/** Cache files kept (one per set of scenario directories); the least recently written go first. */
const MAX_FILES = 16

/** A cached scenario: its absolute path and the validated value (the display path depends on cwd). */
export interface CachedScenario {
  file: string
  scenario: Scenario
}

interface CacheFile {
  format: number
  key: string
  scenarios: CachedScenario[]
}

/** `path size mtime ctime inode` of a file, or undefined when it cannot be read. */
function statLine(path: string): string | undefined {
  try {
    const s = statSync(path)
    return `${path} ${s.size} ${s.mtimeMs} ${s.ctimeMs} ${s.ino}`
  } catch {
    return undefined
  }
}

/**
 * The installed version of a dependency, found as Node finds it (`node_modules/<name>` in this
 * module's directory or the nearest ancestor holding one); cheaper than asking the ESM resolver.
 */
function dependencyVersion(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const manifest = readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')
      return `${name} ${(JSON.parse(manifest) as { version?: string }).version}`
    } catch {
      if (dirname(dir) === dir) return `${name} ?`
    }
  }
}

/**
 * The directories (under this package's `src`) holding every module that parses and validates a
 * scenario; test/catalogue-cache-e2e.test.ts checks that loader.ts imports nothing from elsewhere.
 */
export const VALIDATION_DIRS = ['scenario', 'protocol'] as const

let codeFingerprint: string | undefined

/** What the validation code looks like: its modules' stats and the versions of zod and yaml. */
function code(): string {
  if (codeFingerprint !== undefined) return codeFingerprint
  const src = dirname(dirname(fileURLToPath(import.meta.url)))
  const lines: string[] = [String(FORMAT), dependencyVersion('zod'), dependencyVersion('yaml')]
  for (const dir of VALIDATION_DIRS.map((d) => join(src, d))) {
    let names: string[] = []
    try {
      names = readdirSync(dir).sort()
    } catch {
      // A missing directory leaves no lines; the scenario files' stats still key the cache.
    }
    for (const name of names) {
      if (/\.[cm]?[jt]s$/.test(name) && !name.endsWith('.d.ts'))
        lines.push(statLine(join(dir, name)) ?? `${name} ?`)
    }
  }
  return (codeFingerprint = lines.join('\n'))
}

/**
 * The key for these scenario files (in load order), or undefined when one of them cannot be read.
 * Kept as plain text and compared whole: no hash to collide (and no node:crypto to load).
 */
export function catalogueKey(files: readonly string[]): string | undefined {
  const lines = [code()]
  for (const file of files) {
    const line = statLine(file)
    if (line === undefined) return undefined
    lines.push(line)
  }
  return lines.join('\n')
}

/** FNV-1a (32 bit), hex: a short file name for a set of directories (a clash only costs a miss). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return (hash >>> 0).toString(16).padStart(8, '0')
}

function cacheFile(cacheDir: string, dirs: readonly string[]): string {
  return join(cacheDir, `catalogue-${fnv1a(dirs.join('\n'))}.json`)
}

/** The cached scenarios of `dirs` when the cache holds exactly `key`; undefined otherwise. */
export function readCatalogueCache(
  cacheDir: string,
  dirs: readonly string[],
  key: string,
): CachedScenario[] | undefined {
  try {
    const data = JSON.parse(readFileSync(cacheFile(cacheDir, dirs), 'utf8')) as Partial<CacheFile>
    if (data.format !== FORMAT || data.key !== key || !Array.isArray(data.scenarios)) return undefined
    const valid = data.scenarios.every(
      (s: Partial<CachedScenario>) =>
        typeof s?.file === 'string' && typeof s.scenario === 'object' && s.scenario !== null,
    )
    return valid ? data.scenarios : undefined
  } catch {
    return undefined
  }
}

/** Stores the scenarios of `dirs` under `key`; best effort (errors are swallowed). */
export function writeCatalogueCache(
  cacheDir: string,
  dirs: readonly string[],
  key: string,
  scenarios: readonly CachedScenario[],
): void {
  const entry: CacheFile = { format: FORMAT, key, scenarios: [...scenarios] }
  const text = JSON.stringify(entry)
  // Only values that survive JSON unchanged are cached (a workload body could hold e.g. .inf).
  if (!isDeepStrictEqual(JSON.parse(text), entry)) return
  const target = cacheFile(cacheDir, dirs)
  const temp = `${target}.${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 })
    writeFileSync(temp, text, { mode: 0o600, flag: 'wx' })
    renameSync(temp, target)
    prune(cacheDir)
  } catch {
    rmSync(temp, { force: true })
  }
}

/** Keeps the cache directory bounded (temporary directories in tests each get an entry). */
function prune(cacheDir: string): void {
  const entries = readdirSync(cacheDir)
    .filter((name) => name.startsWith('catalogue-'))
    .map((name) => ({
      path: join(cacheDir, name),
      mtime: statSync(join(cacheDir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0,
    }))
    .sort((a, b) => b.mtime - a.mtime)
  for (const old of entries.slice(MAX_FILES)) rmSync(old.path, { force: true })
}

/**
 * The default cache directory: `CHAOS_CACHE_DIR`, else `$XDG_CACHE_HOME/chaos-playbook`, else
 * `~/.cache/chaos-playbook` (per user, so no one else can plant a catalogue). `CHAOS_CACHE_DIR=off`
 * turns the cache off.
 */
export function catalogueCacheDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const explicit = env.CHAOS_CACHE_DIR?.trim()
  if (explicit) return explicit === 'off' ? undefined : explicit
  const base = env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache')
  return join(base, 'chaos-playbook')
}
