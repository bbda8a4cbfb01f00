/**
 * The project config file, `chaos.config.yaml` (or `.yml` / `.json`): found from the working
 * directory upwards or named with `--config` / `CHAOS_CONFIG`. Flags override it, and `CHAOS_TARGET`
 * / `CHAOS_TOKEN` override its `target` / `token`. Errors read like scenario errors
 * (`file:line:col field: message (hint: ...)`) and exit 2.
 */
import { METRICS_SOURCES, type MetricsSource } from './metrics/selector.js'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { configWithoutFile, DEFAULT_REPORTS_DIR, findConfigFile } from './config-files.js'
import {
  DEFAULT_BUSINESS_HOURS,
  WEEKDAYS,
  isValidTimeZone,
  parseClockTime,
  type BusinessHours,
} from './calendar/business-hours.js'
import { cronProblem, type ScheduleSpec } from './calendar/schedule-spec.js'
import {
  discoverSpecProblem,
  instanceUrlProblem,
  parseDiscoverSpec,
  parseDnsServer,
  type DiscoverSpec,
} from './discovery/spec.js'
import { parseDurationMs } from './duration.js'
import { InvalidInputError } from './errors.js'
import { BlastRadius, ExperimentId, MAX_EXPERIMENT_SECONDS } from './protocol/schemas.js'
import { formatProblem, validateDocument, type HintFor } from './scenario/document.js'
import { readInputFile } from './scenario/input-file.js'
import { displayPath } from './scenario/loader.js'
import { Category, Workload } from './scenario/schema.js'

export { CONFIG_FILE_NAMES, DEFAULT_REPORTS_DIR, findConfigFile } from './config-files.js'

/** `catalogue:` in the config: load the built-in scenarios (`builtin`, the default) or not (`none`). */
export const CATALOGUE_CHOICES = ['builtin', 'none'] as const
export type CatalogueChoice = (typeof CATALOGUE_CHOICES)[number]

const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://localhost:8080' })

/** A control endpoint's path prefix as an agent accepts it (`/chaos`, `/ops/chaos`), no trailing slash. */
export const CONTROL_PREFIX_PATTERN = /^\/[A-Za-z0-9_.~/-]*[A-Za-z0-9_.~-]$/

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

/** One `discover:` entry: a discovery spec (src/discovery/spec.ts), each problem reported on its own. */
const DiscoverEntry = z.string().superRefine((text, ctx) => {
  const problem = discoverSpecProblem(text)
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message, params: { hint: problem.hint } })
})

/** `instance_url:` the control URL template of a discovered address. */
const InstanceUrlTemplate = z.string().superRefine((text, ctx) => {
  const problem = instanceUrlProblem(text)
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message, params: { hint: problem.hint } })
})

/** A `dns_servers:` entry: an IP address with an optional port. */
const DnsServer = z.string().superRefine((text, ctx) => {
  try {
    parseDnsServer(text, 'dns_servers')
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(text)} is not a DNS server address`,
      params: { hint: 'an IP address with an optional port, e.g. 10.96.0.10 or 127.0.0.1:5353' },
    })
  }
})

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

const TimeZone = z.string().superRefine((name, ctx) => {
  if (!isValidTimeZone(name)) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(name)} is not a known time zone`,
      params: { hint: 'an IANA name such as Europe/Madrid, America/New_York or UTC' },
    })
  }
})

const ClockTime = z.string().superRefine((text, ctx) => {
  if (parseClockTime(text) === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(text)} is not a time of day written HH:MM`,
      params: { hint: 'e.g. "09:00" or "17:30" (quoted, 24-hour clock)' },
    })
  }
})

/** `monkey.business_hours`: the window, from 00:00 to 24:00 (end exclusive), on the given weekdays. */
export const BusinessHoursConfig = z
  .strictObject({
    start: ClockTime.optional().describe('First minute of the window, "09:00" by default'),
    end: ClockTime.optional().describe('End of the window (exclusive), "17:00" by default'),
    days: z.array(z.enum(WEEKDAYS)).min(1).optional().describe('Weekdays, MON to FRI by default'),
  })
  .superRefine((hours, ctx) => {
    const start =
      hours.start === undefined ? DEFAULT_BUSINESS_HOURS.startMinute : parseClockTime(hours.start)!
    const end = hours.end === undefined ? DEFAULT_BUSINESS_HOURS.endMinute : parseClockTime(hours.end)!
    if (start >= end) {
      ctx.addIssue({
        code: 'custom',
        path: [hours.end === undefined ? 'start' : 'end'],
        message: 'the window must end after it starts (windows across midnight are not supported)',
        params: { hint: 'e.g. start: "09:00", end: "17:00"' },
      })
    }
  })

/** `monkey:` defaults for `chaos monkey` (each overridden by its flag). */
export const MonkeyConfig = z.strictObject({
  probability: z.number().min(0).max(1).optional().describe('Chance of an experiment per check, 0..1'),
  interval: duration({ min: 'positive' }).optional().describe('Time between checks'),
  business_hours: z
    .union([z.boolean(), BusinessHoursConfig])
    .optional()
    .describe('true (09:00-17:00 MON-FRI), false, or { start, end, days }'),
  timezone: TimeZone.optional().describe('IANA time zone of the business hours'),
  categories: z.array(Category).optional().describe('Categories the monkey may pick from'),
  scenarios: z.array(ExperimentId).optional().describe('Scenario ids the monkey may pick from'),
  max_blast_radius: BlastRadius.optional().describe('Widest blast radius the monkey may inject'),
  min_gap: duration({ min: 'zero' }).optional().describe('Least time between two monkey experiments'),
})

/** One entry of `schedules:`: exactly one of scenario/category, exactly one of every/cron. */
export const ScheduleEntry = z
  .strictObject({
    scenario: ExperimentId.optional().describe('Scenario id to run'),
    category: Category.optional().describe('Category to run as a suite'),
    every: duration({ min: 'positive' }).optional().describe('Interval, e.g. 2h'),
    cron: z.string().optional().describe('Five-field cron pattern, e.g. "0 2 * * *"'),
    timezone: TimeZone.optional().describe('Time zone of the cron pattern'),
  })
  .superRefine((entry, ctx) => {
    const example = 'e.g. { scenario: network_latency, every: 2h } or { category: pms, cron: "0 2 * * *" }'
    if ((entry.scenario === undefined) === (entry.category === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: entry.scenario === undefined ? [] : ['category'],
        message: 'a schedule names exactly one of scenario or category',
        params: { hint: example },
      })
    }
    if ((entry.every === undefined) === (entry.cron === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: entry.every === undefined ? [] : ['cron'],
        message: 'a schedule has exactly one of every or cron',
        params: { hint: example },
      })
    }
    if (entry.every !== undefined && entry.every < 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['every'],
        message: 'must be at least 1s',
        params: { hint: 'e.g. every: 2h' },
      })
    }
    // A bad timezone is reported on its own line; checking the pattern against it would only repeat it.
    if (entry.cron !== undefined && (entry.timezone === undefined || isValidTimeZone(entry.timezone))) {
      const problem = cronProblem(entry.cron, entry.timezone)
      if (problem) {
        ctx.addIssue({
          code: 'custom',
          path: ['cron'],
          message: problem,
          params: { hint: 'minute hour day-of-month month day-of-week, e.g. "0 2 * * *" (02:00 daily)' },
        })
      }
    }
  })

/** One `proxy.routes` entry; its syntax is checked by `chaos proxy` (src/proxy/routes.ts). */
const ProxyRoute = z.strictObject({
  name: z.string().min(1).describe("The dependency's service name, e.g. pms_adapter"),
  listen: z.string().min(1).describe('HOST:PORT the service connects to (port 0: any free port)'),
  upstream: z.string().min(1).describe('The real dependency: http://host:port, https://… or tcp://host:port'),
})

/** `proxy:` in the config: defaults of `chaos proxy` (each overridden by its flag). */
export const ProxyConfig = z.strictObject({
  routes: z.array(ProxyRoute).optional(),
  control: z.string().optional().describe('HOST:PORT of the control endpoint (default 127.0.0.1:8474)'),
  environment: z.string().optional().describe('Environment reported in GET /chaos'),
  allow_production: z.boolean().optional().describe('Run in an environment named production'),
  app_metrics: HttpUrl.optional().describe("The service's own /metrics, appended to the proxy's"),
})

/** `proxy:` from the config. */
export interface ProxyFileSettings {
  routes?: { name: string; listen: string; upstream: string }[]
  control?: string
  environment?: string
  allowProduction?: boolean
  appMetricsUrl?: string
}

/** The config file as written (snake_case, like scenario files). */
export const ConfigFile = z.strictObject({
  $schema: z.string().optional(),
  target: z
    .union([HttpUrl, z.array(HttpUrl).min(1)])
    .optional()
    .describe('Control endpoint base URL of the target, or one per instance'),
  token: z.string().min(1).optional().describe('Bearer token of the chaos agent (prefer CHAOS_TOKEN)'),
  scenario_dirs: z.array(z.string().min(1)).default([]).describe('Extra scenario directories'),
  catalogue: z
    .enum(CATALOGUE_CHOICES)
    .optional()
    .describe(
      "builtin (default): the guide's scenarios plus scenario_dirs; none: only scenario_dirs and --scenarios (the flag form is --no-builtin)",
    ),
  reports_dir: z.string().min(1).default(DEFAULT_REPORTS_DIR),
  metrics_url: z
    .union([HttpUrl, z.array(HttpUrl).min(1)])
    .optional()
    .describe("The target's Prometheus metrics URL (default <target>/metrics), or one per instance"),
  control_prefix: z
    .string()
    .transform((p) => p.replace(/\/+$/, ''))
    .pipe(z.string().regex(CONTROL_PREFIX_PATTERN, 'must be a URL path such as /chaos'))
    .optional()
    .describe("Path prefix of the agent's control endpoint (default /chaos)"),
  prometheus: HttpUrl.optional().describe(
    'Prometheus base URL: PromQL checks, prometheus: discovery and the Prometheus metrics source',
  ),
  discover: z
    .union([DiscoverEntry, z.array(DiscoverEntry).min(1)])
    .optional()
    .describe(
      'Discovery specs (docs/discovery.md): prometheus:<PromQL>, prometheus-targets:<job>, dns:<name>[:<port>], dns+srv:<name>',
    ),
  instance_url: InstanceUrlTemplate.optional().describe(
    'Control URL of a discovered address: {host}, {port}, {address} (default http://{address})',
  ),
  dns_servers: z
    .array(DnsServer)
    .min(1)
    .optional()
    .describe('DNS servers for dns: specs, IP[:port] (default: the system resolvers)'),
  max_parallel: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .optional()
    .describe('Bound on concurrent control calls per fan-out (default 64)'),
  metrics_source: z
    .enum(METRICS_SOURCES)
    .optional()
    .describe(
      "Where fleet counters come from: scrape (each instance's /metrics, summed; default) or prometheus",
    ),
  metrics_selector: z
    .string()
    .min(1)
    .optional()
    .describe('PromQL label matchers of the fleet for metrics_source prometheus, e.g. job="hotel"'),
  pushgateway: HttpUrl.optional().describe('Pushgateway base URL for experiment results'),
  run: RunDefaults.optional(),
  workload: Workload.optional(),
  workload_url: HttpUrl.optional().describe(
    'Send all workload here (e.g. a load balancer) instead of spreading it over the target instances',
  ),
  monkey: MonkeyConfig.optional().describe('Defaults of chaos monkey'),
  schedules: z.array(ScheduleEntry).optional().describe('Recurring experiments of chaos schedule'),
  proxy: ProxyConfig.optional().describe('Settings of chaos proxy (docs/proxy.md)'),
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

/** `monkey:` from the config, resolved (milliseconds, minutes after midnight). */
export interface MonkeyFileSettings {
  probability?: number
  intervalMs?: number
  /** false = off, true = on with the default hours, or the configured window (on). */
  businessHours?: boolean | BusinessHours
  timezone?: string
  categories?: Category[]
  scenarios?: string[]
  maxBlastRadius?: BlastRadius
  minGapMs?: number
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
  /** `metrics_url`: one per target (one URL for a single target); absent means `<target>/metrics`. */
  metricsUrls?: string[]
  /** Control endpoint prefix, when not the default `/chaos`. */
  controlPrefix?: string
  /** Where all workload goes instead of being spread over the targets (`workload_url`). */
  workloadUrl?: string
  /** Absolute extra scenario directories. */
  scenarioDirs: string[]
  /** `catalogue:` from the file; absent means `builtin`. `--builtin` / `--no-builtin` win over it. */
  catalogue?: CatalogueChoice
  /** Absolute reports directory. */
  reportsDir: string
  prometheus?: string
  /** `discover:` specs; absent: no discovery configured in the file. */
  discover?: DiscoverSpec[]
  /** `instance_url:` template of discovered instances' control URLs. */
  instanceUrl?: string
  /** `dns_servers:` for dns: specs, as node:dns takes them. */
  dnsServers?: string[]
  /** `max_parallel:` bound on concurrent control calls. */
  maxParallel?: number
  /** `metrics_source:` where fleet counters come from. */
  metricsSource?: MetricsSource
  /** `metrics_selector:` the fleet's label matchers in Prometheus. */
  metricsSelector?: string
  pushgateway?: string
  run: RunSettings
  workload?: Workload
  /** `monkey:` defaults, when the file has that section. */
  monkey?: MonkeyFileSettings
  /** `schedules:`, when the file has that section. */
  schedules?: ScheduleSpec[]
  /** `proxy:`, when the file has that section. */
  proxy?: ProxyFileSettings
}

const configHints: HintFor = (p) => {
  if (p.hint) return p.hint
  const field = p.path[0]
  switch (field) {
    case 'target':
      return 'target: http://localhost:8080 (or a list of URLs, one per instance)'
    case 'metrics_url':
      return 'metrics_url: http://localhost:9464/metrics (or a list, one per target instance)'
    case 'control_prefix':
      return 'control_prefix: /chaos (the prefix the agent was created with)'
    case 'workload_url':
      return 'the URL the workload is sent to, e.g. http://localhost:8080 (a load balancer)'
    case 'prometheus':
      return 'the Prometheus base URL, e.g. http://localhost:9090'
    case 'discover':
      return 'discover: [\'prometheus:up{job="hotel"}\', dns:hotel.default.svc:8080] (docs/discovery.md)'
    case 'instance_url':
      return 'instance_url: http://{host}:8080 ({host}, {port}, {address})'
    case 'dns_servers':
      return 'dns_servers: [10.96.0.10, 127.0.0.1:5353]'
    case 'max_parallel':
      return 'max_parallel: 64 (a whole number from 1 to 10000)'
    case 'metrics_source':
      return 'metrics_source: scrape (or prometheus, with prometheus: and metrics_selector:)'
    case 'metrics_selector':
      return 'metrics_selector: job="hotel"'
    case 'pushgateway':
      return 'the Pushgateway base URL, e.g. http://localhost:9091'
    case 'token':
      return 'a non-empty string; prefer the CHAOS_TOKEN environment variable'
    case 'reports_dir':
      return 'a directory, relative to the config file'
    case 'scenario_dirs':
      return 'a list of directories, relative to the config file'
    case 'catalogue':
      return "catalogue: builtin (the guide's scenarios, the default) or catalogue: none (only your scenario_dirs)"
    case 'run':
      return 'run: { rate, baseline, interval, pause, recovery_timeout, duration }'
    case 'workload':
      return 'workload: { requests: [{ method: GET, path: /api/... }] }'
    case 'monkey':
      if (p.path.length === 1)
        return `monkey: { ${Object.keys(MonkeyConfig.shape).join(', ')} } (docs/unattended.md)`
      if (p.path[1] === 'probability') return 'a number from 0 to 1, e.g. 0.05 for 5 %'
      return undefined
    case 'proxy':
      if (p.path.length > 1 && p.path[1] !== 'routes') return undefined
      return 'proxy: { routes: [{ name: pms_adapter, listen: 127.0.0.1:18080, upstream: http://pms.internal:80 }], control: 127.0.0.1:8474 }'
    case 'schedules':
      if (p.path.length > 2) return undefined
      return 'schedules: [{ scenario: network_latency, every: 2h }, { category: pms, cron: "0 2 * * *" }]'
    default:
      return `fields: ${Object.keys(ConfigFile.shape)
        .filter((k) => !k.startsWith('$'))
        .join(', ')}`
  }
}

/** Parses `CHAOS_TARGET`: one URL or several separated by commas and/or spaces. */
function envTargets(value: string): string[] {
  const targets = value
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean)
  for (const t of targets) {
    if (!HttpUrl.safeParse(t).success) {
      throw new InvalidInputError(
        `CHAOS_TARGET: "${t}" is not an http(s) URL`,
        'set CHAOS_TARGET=http://host:port (several instances: comma- or space-separated)',
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
  const defaults = configWithoutFile(options)
  if (defaults) return defaults
  const file = options.path ? resolve(options.cwd, options.path) : findConfigFile(options.cwd)
  let parsed: ConfigFile = ConfigFile.parse({})
  if (file) {
    let text: string
    const shown = displayPath(file, options.cwd)
    const hint =
      'check --config / CHAOS_CONFIG, or remove it to use chaos.config.yaml found from the working directory'
    try {
      const read = await readInputFile(file)
      if ('refused' in read) throw new InvalidInputError(`config file ${shown} ${read.refused.reason}`, hint)
      text = read.text
    } catch (err) {
      if (err instanceof InvalidInputError) throw err
      const code = (err as NodeJS.ErrnoException).code
      throw new InvalidInputError(
        `config file ${shown}: ${code === 'ENOENT' ? 'not found' : (err as Error).message}`,
        hint,
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
  if (parsed.metrics_url !== undefined) {
    config.metricsUrls = typeof parsed.metrics_url === 'string' ? [parsed.metrics_url] : parsed.metrics_url
  }
  if (parsed.catalogue) config.catalogue = parsed.catalogue
  if (parsed.control_prefix) config.controlPrefix = parsed.control_prefix
  if (parsed.workload_url) config.workloadUrl = parsed.workload_url
  if (parsed.prometheus) config.prometheus = parsed.prometheus
  if (parsed.pushgateway) config.pushgateway = parsed.pushgateway
  if (parsed.discover !== undefined) {
    const texts = typeof parsed.discover === 'string' ? [parsed.discover] : parsed.discover
    config.discover = texts.map((text) => parseDiscoverSpec(text, 'discover'))
  }
  if (parsed.instance_url) config.instanceUrl = parsed.instance_url.trim().replace(/\/+$/, '')
  if (parsed.dns_servers) config.dnsServers = parsed.dns_servers.map((d) => parseDnsServer(d, 'dns_servers'))
  if (parsed.max_parallel !== undefined) config.maxParallel = parsed.max_parallel
  if (parsed.metrics_source) config.metricsSource = parsed.metrics_source
  if (parsed.metrics_selector) config.metricsSelector = parsed.metrics_selector
  if (parsed.workload) config.workload = parsed.workload
  if (parsed.monkey) config.monkey = monkeySettings(parsed.monkey)
  if (parsed.schedules) config.schedules = parsed.schedules.map(scheduleSpec)
  if (parsed.proxy) {
    const p = parsed.proxy
    config.proxy = {
      ...(p.routes !== undefined && { routes: p.routes }),
      ...(p.control !== undefined && { control: p.control }),
      ...(p.environment !== undefined && { environment: p.environment }),
      ...(p.allow_production !== undefined && { allowProduction: p.allow_production }),
      ...(p.app_metrics !== undefined && { appMetricsUrl: p.app_metrics }),
    }
  }
  return config
}

function monkeySettings(m: z.output<typeof MonkeyConfig>): MonkeyFileSettings {
  const hours = m.business_hours
  return {
    ...(m.probability !== undefined && { probability: m.probability }),
    ...(m.interval !== undefined && { intervalMs: m.interval }),
    ...(hours !== undefined && {
      businessHours:
        typeof hours === 'boolean'
          ? hours
          : {
              startMinute: hours.start ? parseClockTime(hours.start)! : DEFAULT_BUSINESS_HOURS.startMinute,
              endMinute: hours.end ? parseClockTime(hours.end)! : DEFAULT_BUSINESS_HOURS.endMinute,
              days: hours.days ?? DEFAULT_BUSINESS_HOURS.days,
            },
    }),
    ...(m.timezone !== undefined && { timezone: m.timezone }),
    ...(m.categories !== undefined && { categories: m.categories }),
    ...(m.scenarios !== undefined && { scenarios: m.scenarios }),
    ...(m.max_blast_radius !== undefined && { maxBlastRadius: m.max_blast_radius }),
    ...(m.min_gap !== undefined && { minGapMs: m.min_gap }),
  }
}

function scheduleSpec(e: z.output<typeof ScheduleEntry>): ScheduleSpec {
  return {
    selection: (e.scenario ?? e.category)!,
    kind: e.scenario !== undefined ? 'scenario' : 'category',
    ...(e.every !== undefined && { everyMs: e.every }),
    ...(e.cron !== undefined && { cron: e.cron.trim() }),
    ...(e.timezone !== undefined && { timezone: e.timezone }),
  }
}
