/**
 * The project config file, `chaos.config.yaml` (or `.yml` / `.json`): found from the working
 * directory upwards or named with `--config` / `CHAOS_CONFIG`. Flags override it, and `CHAOS_TARGET`
 * / `CHAOS_TOKEN` override its `target` / `token`. Errors read like scenario errors
 * (`file:line:col field: message (hint: ...)`) and exit 2.
 */
import { readFile } from 'node:fs/promises'
import { existsSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import { parseDurationMs } from './duration.js'
import { InvalidInputError } from './errors.js'
import { MAX_EXPERIMENT_SECONDS } from './protocol/schemas.js'
import { formatProblem, validateDocument, type HintFor } from './scenario/document.js'
import { displayPath } from './scenario/loader.js'
import { Workload } from './scenario/schema.js'

/** File names looked for in each directory, in this order. */
export const CONFIG_FILE_NAMES = ['chaos.config.yaml', 'chaos.config.yml', 'chaos.config.json'] as const

/** Where run reports go unless the config says otherwise (relative to the project directory). */
export const DEFAULT_REPORTS_DIR = '.playbook/chaos_reports'

const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://localhost:8080' })

/** A duration written `500ms`, `10s`, `2m`, `1h`, or a bare number of seconds; parsed to milliseconds. */
function duration(options: { min: 'zero' | 'positive'; maxMs?: number }) {
  return z.union([z.string(), z.number()]).transform((raw, ctx): number => {
    const ms = typeof raw === 'number' ? raw * 1000 : parseDurationMs(raw)
    const hint = 'a duration such as 500ms, 10s, 2m (a bare number is seconds)'
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(raw)} is not a duration`, params: { hint } })
      return z.NEVER
    }
    if (options.min === 'positive' && ms === 0) {
      ctx.addIssue({ code: 'custom', message: 'must be more than 0', params: { hint } })
      return z.NEVER
    }
    if (options.maxMs !== undefined && ms > options.maxMs) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${options.maxMs / 60_000} minutes`,
        params: { hint: 'experiments last 30 minutes at most (guide section 7)' },
      })
      return z.NEVER
    }
    return ms
  })
}

/** `run:` defaults for `chaos run` (each overridden by its flag). */
export const RunDefaults = z.strictObject({
  rate: z.number().positive().max(100_000).optional().describe('Workload requests per second'),
  baseline: duration({ min: 'positive' }).optional().describe('Baseline measurement before injection'),
  interval: duration({ min: 'positive' }).optional().describe('Metrics poll interval'),
  pause: duration({ min: 'zero' }).optional().describe('Pause between experiments of a suite'),
  recovery_timeout: duration({ min: 'positive' }).optional().describe('Longest wait for recovery'),
  duration: duration({ min: 'positive', maxMs: MAX_EXPERIMENT_SECONDS * 1000 })
    .optional()
    .describe('Override every scenario duration'),
})

/** The config file as written (snake_case, like scenario files). */
export const ConfigFile = z.strictObject({
  $schema: z.string().optional(),
  target: z
    .union([HttpUrl, z.array(HttpUrl).min(1)])
    .optional()
    .describe('Control endpoint base URL of the target, or one per instance'),
  token: z.string().min(1).optional().describe('Bearer token of the chaos agent (prefer CHAOS_TOKEN)'),
  scenario_dirs: z.array(z.string().min(1)).default([]).describe('Extra scenario directories'),
  reports_dir: z.string().min(1).default(DEFAULT_REPORTS_DIR),
  prometheus: HttpUrl.optional().describe('Prometheus base URL for PromQL checks'),
  pushgateway: HttpUrl.optional().describe('Pushgateway base URL for experiment results'),
  run: RunDefaults.optional(),
  workload: Workload.optional(),
})
export type ConfigFile = z.infer<typeof ConfigFile>

/** Run defaults from the config, in milliseconds; absent means "use the built-in default". */
export interface RunSettings {
  rate?: number
  baselineMs?: number
  intervalMs?: number
  pauseMs?: number
  recoveryTimeoutMs?: number
  durationMs?: number
}

/** The resolved configuration: paths absolute, env overrides applied. */
export interface ChaosConfig {
  /** Absolute path of the config file, when one was found or given. */
  file?: string
  /** Directory relative paths in the config resolve against (the config's directory, else cwd). */
  root: string
  /** Target base URLs (one per instance); empty means "no target configured". */
  targets: string[]
  token?: string
  /** Absolute extra scenario directories. */
  scenarioDirs: string[]
  /** Absolute reports directory. */
  reportsDir: string
  prometheus?: string
  pushgateway?: string
  run: RunSettings
  workload?: Workload
}

const configHints: HintFor = (p) => {
  if (p.hint) return p.hint
  const field = p.path[0]
  switch (field) {
    case 'target':
      return 'target: http://localhost:8080 (or a list of URLs, one per instance)'
    case 'prometheus':
      return 'the Prometheus base URL, e.g. http://localhost:9090'
    case 'pushgateway':
      return 'the Pushgateway base URL, e.g. http://localhost:9091'
    case 'token':
      return 'a non-empty string; prefer the CHAOS_TOKEN environment variable'
    case 'reports_dir':
      return 'a directory, relative to the config file'
    case 'scenario_dirs':
      return 'a list of directories, relative to the config file'
    case 'run':
      return 'run: { rate, baseline, interval, pause, recovery_timeout, duration }'
    case 'workload':
      return 'workload: { requests: [{ method: GET, path: /api/... }] }'
    default:
      return `fields: ${Object.keys(ConfigFile.shape)
        .filter((k) => !k.startsWith('$'))
        .join(', ')}`
  }
}

/** The first config file found in `cwd` or one of its ancestors. */
export function findConfigFile(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    for (const name of CONFIG_FILE_NAMES) {
      const candidate = join(dir, name)
      if (existsSync(candidate) && statSync(candidate).isFile()) return candidate
    }
    if (dirname(dir) === dir) return undefined
  }
}

/** Parses `CHAOS_TARGET`: one URL or several separated by commas. */
function envTargets(value: string): string[] {
  const targets = value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
  for (const t of targets) {
    if (!HttpUrl.safeParse(t).success) {
      throw new InvalidInputError(
        `CHAOS_TARGET: "${t}" is not an http(s) URL`,
        'set CHAOS_TARGET=http://host:port (several instances: comma-separated)',
      )
    }
  }
  return targets
}

/**
 * Loads the configuration. `path` is `--config` (already including `CHAOS_CONFIG`); without it the
 * file is looked for from `cwd` upwards; without a file the defaults apply. Throws
 * {@link InvalidInputError} listing every problem of the file.
 */
export async function loadConfig(options: {
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  path?: string
}): Promise<ChaosConfig> {
  const file = options.path ? resolve(options.cwd, options.path) : findConfigFile(options.cwd)
  let parsed: ConfigFile = ConfigFile.parse({})
  if (file) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new InvalidInputError(
        `config file ${displayPath(file, options.cwd)}: ${code === 'ENOENT' ? 'not found' : (err as Error).message}`,
        'check --config / CHAOS_CONFIG, or remove it to use chaos.config.yaml found from the working directory',
      )
    }
    const doc = validateDocument(text, displayPath(file, options.cwd), ConfigFile, {
      hintFor: configHints,
      what: 'one config mapping',
    })
    // An empty config file is fine: it just means "defaults".
    const problems = doc.data === null && doc.problems.length === 1 ? [] : doc.problems
    if (problems.length > 0) {
      throw new InvalidInputError(
        `${problems.length} problem${problems.length === 1 ? '' : 's'} in config file ${displayPath(file, options.cwd)}`,
        'fix the config file (fields: docs/scenario-format.md#config)',
        problems.map(formatProblem),
      )
    }
    if (doc.value) parsed = doc.value
  }

  const root = file ? dirname(file) : resolve(options.cwd)
  const fileTargets =
    parsed.target === undefined ? [] : typeof parsed.target === 'string' ? [parsed.target] : parsed.target
  const envTarget = options.env.CHAOS_TARGET?.trim()
  const envToken = options.env.CHAOS_TOKEN
  const run = parsed.run ?? {}
  const config: ChaosConfig = {
    root,
    targets: envTarget ? envTargets(envTarget) : fileTargets,
    scenarioDirs: parsed.scenario_dirs.map((d) => resolve(root, d)),
    reportsDir: resolve(root, parsed.reports_dir),
    run: {
      ...(run.rate !== undefined && { rate: run.rate }),
      ...(run.baseline !== undefined && { baselineMs: run.baseline }),
      ...(run.interval !== undefined && { intervalMs: run.interval }),
      ...(run.pause !== undefined && { pauseMs: run.pause }),
      ...(run.recovery_timeout !== undefined && { recoveryTimeoutMs: run.recovery_timeout }),
      ...(run.duration !== undefined && { durationMs: run.duration }),
    },
  }
  if (file) config.file = file
  const token = envToken ? envToken : parsed.token
  if (token) config.token = token
  if (parsed.prometheus) config.prometheus = parsed.prometheus
  if (parsed.pushgateway) config.pushgateway = parsed.pushgateway
  if (parsed.workload) config.workload = parsed.workload
  return config
}
