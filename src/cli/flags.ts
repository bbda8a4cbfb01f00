/**
 * The one flag vocabulary of `chaos`: every flag that more than one command takes is defined here,
 * typed (oclif `Flags.custom`), so a name means the same thing, parses the same way and fails with
 * the same one-line error (naming the flag, exit 2) on every command. docs/flags.md lists them.
 *
 * Values are parsed by src/cli/flag-values.ts, loaded only when such a flag is given: defining the
 * flags must stay cheap, since every command module imports this one.
 */
import { Flags, type Interfaces } from '@oclif/core'
import type { BlastRadius } from '../protocol/schemas.js'
import type { RunOverrides } from '../plan.js'
import type { Category } from '../scenario/schema.js'
import type { DiscoverSpec } from '../discovery/spec.js'
import type { OverrideFlagValues } from './flag-values.js'

export type { OverrideFlagValues } from './flag-values.js'

const values = () => import('./flag-values.js')

type Parser<T> = (values: typeof import('./flag-values.js'), text: string, flag: string) => T

/** A typed flag whose text is parsed (and checked) by `parser`; errors name the flag. */
function typed<T>(parser: Parser<T>): Interfaces.FlagDefinition<T> {
  // oclif's typings refuse a single flag whose value is an array (NotArray<T>), which the list
  // flags are (one `--categories "network pms"` → ['network', 'pms']); at run time a custom flag's
  // value is whatever parse returns, so the definition is typed here instead.
  return Flags.custom<unknown>({
    parse: async (input, _ctx, opts) => parser(await values(), input, `--${opts.name}`),
  }) as unknown as Interfaces.FlagDefinition<T>
}

/** A flag's former spellings, still accepted with a deprecation warning. */
interface Renamed {
  aliases?: string[]
  deprecateAliases?: boolean
}

/** A duration (`500ms`, `10s`, `2m`, `1h`, bare number = seconds), in milliseconds; positive. */
export const durationFlag = typed((v, text, flag) => v.parseDuration(text, flag))
/** A duration that may be 0 (a pause, a gap), in milliseconds. */
export const gapFlag = typed((v, text, flag) => v.parseDuration(text, flag, { allowZero: true }))
/** A probability: `0.3` or `30%`. */
export const probabilityFlag = typed((v, text, flag) => v.parseProbability(text, flag))
/** A blast radius, any case, `-` or `_`. */
export const blastRadiusFlag = typed<BlastRadius>((v, text, flag) => v.parseBlastRadius(text, flag))
/** Categories, comma- and/or space-separated, in guide order. */
export const categoriesFlag = typed<Category[]>((v, text, flag) => v.parseCategories(text, flag))
/** Scenario ids, comma- and/or space-separated (checked against the catalogue once loaded). */
export const idsFlag = typed<string[]>((v, text, flag) => v.parseIdList(text, flag))
/** An IANA time zone. */
export const timezoneFlag = typed((v, text, flag) => v.parseTimeZone(text, flag))

// ---------------------------------------------------------------------------------------------
// Targets (run, monkey, schedule, gameday, status, stop)

/** `--target` (repeatable, or comma-separated), `--token` and `--control-prefix`. */
export const targetFlags = {
  target: Flags.custom<string>({
    parse: async (input, _ctx, opts) => (await values()).parseTargetUrl(input, `--${opts.name}`),
  })({
    description:
      'base URL of the target service with the chaos agent (repeat per instance) [env: CHAOS_TARGET]',
    // No oclif `env:` here: oclif hands an env value of a `multiple` flag to the parser as a string
    // it then iterates, one character per "URL". src/config.ts reads CHAOS_TARGET (one URL, or a
    // comma- or space-separated list) and resolveTarget lets this flag win over it.
    multiple: true,
    delimiter: ',',
    helpValue: 'URL',
  }),
  token: Flags.string({ description: 'bearer token of the chaos agent', env: 'CHAOS_TOKEN' }),
  'control-prefix': typed((v, text, flag) => v.parseControlPrefix(text, flag))({
    description: "path prefix of the agent's control endpoint [default: /chaos, config control_prefix]",
    helpValue: 'PATH',
  }),
}

/** `--metrics-url`: where a target serves its Prometheus metrics, when not at `<target>/metrics`. */
export const metricsUrlFlag = {
  'metrics-url': Flags.custom<string>({
    parse: async (input, _ctx, opts) => (await values()).parseMetricsUrl(input, `--${opts.name}`),
  })({
    description:
      "the target's Prometheus metrics URL, one per --target in the same order [default: <target>/metrics, config metrics_url]",
    multiple: true,
    delimiter: ',',
    helpValue: 'URL',
  }),
}

/**
 * Discovery (run, monkey, schedule, gameday, status, stop; docs/discovery.md): `--discover`
 * (repeatable, no comma splitting: PromQL has commas), `--instance-url`, `--dns-server`,
 * `--max-parallel`, and `--prometheus`, which discovery shares with PromQL checks and the
 * Prometheus metrics source.
 */
export const discoveryFlags = {
  discover: Flags.custom<DiscoverSpec>({
    parse: async (input, _ctx, opts) => (await values()).parseDiscoverSpec(input, `--${opts.name}`),
  })({
    description:
      'find instances (repeatable): prometheus:<PromQL>, prometheus-targets:<job>, dns:<name>[:<port>], dns+srv:<name> [config discover]',
    multiple: true,
    helpValue: 'SPEC',
  }),
  'instance-url': typed((v, text, flag) => v.parseInstanceUrl(text, flag))({
    description:
      'control URL of a discovered address: {host}, {port}, {address} [default: http://{address}, config instance_url]',
    helpValue: 'TEMPLATE',
  }),
  'dns-server': Flags.custom<string>({
    parse: async (input, _ctx, opts) => (await values()).parseDnsServer(input, `--${opts.name}`),
  })({
    description:
      'DNS server for dns: specs, IP[:PORT] (repeatable) [default: the system resolvers, config dns_servers]',
    multiple: true,
    helpValue: 'HOST:PORT',
  }),
  'max-parallel': typed((v, text, flag) => v.parseMaxParallel(text, flag))({
    description: 'most control calls in flight at once per fan-out [default: 64, config max_parallel]',
    helpValue: 'N',
  }),
  prometheus: Flags.string({
    description: 'Prometheus base URL: PromQL checks and prometheus: discovery [config prometheus]',
    helpValue: 'URL',
  }),
}

/** The target flags plus where the workload goes and the metrics back-ends of an experiment run. */
export const runTargetFlags = {
  ...targetFlags,
  ...metricsUrlFlag,
  'workload-url': Flags.custom<string>({
    parse: async (input, _ctx, opts) => (await values()).parseTargetUrl(input, `--${opts.name}`),
  })({
    description:
      'send all workload to this URL (e.g. the load balancer in front of the instances) [default: spread over every --target]',
    helpValue: 'URL',
  }),
  ...discoveryFlags,
  'metrics-source': Flags.string({
    options: ['scrape', 'prometheus'],
    helpValue: 'SOURCE',
    description:
      "where fleet counters come from: scrape (each instance's /metrics, summed) or prometheus (PromQL over --metrics-selector; needs --prometheus) [default: scrape, config metrics_source]",
  }),
  'metrics-selector': Flags.string({
    helpValue: 'MATCHERS',
    description:
      'PromQL label matchers of the fleet for --metrics-source prometheus, e.g. job="hotel" [default: from a --discover prometheus: spec, config metrics_selector]',
  }),
  pushgateway: Flags.string({
    description: "Pushgateway base URL: push each experiment's results (job chaos) after it ends",
    helpValue: 'URL',
  }),
}

// ---------------------------------------------------------------------------------------------
// The catalogue (list, validate, run, monkey, schedule, gameday)

function scenariosFlag(renamed: Renamed = {}) {
  return Flags.string({
    description: 'extra scenario directory (repeatable)',
    multiple: true,
    helpValue: 'DIR',
    ...renamed,
  })
}

export const catalogueFlags = {
  scenarios: scenariosFlag(),
  // No default: absent means the config's `catalogue:` (builtin unless it says none).
  builtin: Flags.boolean({
    description:
      'include the built-in catalogue (--no-builtin: only --scenarios / scenario_dirs) [default: config catalogue, else builtin]',
    allowNo: true,
  }),
}

// ---------------------------------------------------------------------------------------------
// How each experiment runs (run, monkey, schedule, gameday): flags over config over defaults

const pollInterval = typed((v, text, flag) => v.parsePollInterval(text, flag))

function faultProbabilityFlag(renamed: Renamed = {}) {
  return probabilityFlag({
    helpValue: 'P',
    description: "override each fault's probability (0.3 or 30%)",
    ...renamed,
  })
}

function pollIntervalFlag(renamed: Renamed = {}) {
  return pollInterval({
    helpValue: 'DURATION',
    description: 'metrics poll interval during an experiment, at most 1m [default: 1s]',
    ...renamed,
  })
}

export const overrideFlags = {
  duration: typed((v, text, flag) => v.parseExperimentDuration(text, flag))({
    helpValue: 'DURATION',
    description: 'override each experiment duration (500ms, 10s, 2m; at most 30m)',
  }),
  probability: faultProbabilityFlag(),
  'blast-radius': blastRadiusFlag({
    helpValue: 'LEVEL',
    description: 'override each blast radius: SINGLE_REQUEST, SINGLE_SERVICE, SERVICE_CLUSTER, ENTIRE_SYSTEM',
  }),
  rate: typed((v, text, flag) => v.parseRate(text, flag))({
    helpValue: 'RPS',
    description: 'workload requests per second [default: 20]',
  }),
  baseline: durationFlag({
    helpValue: 'DURATION',
    description: 'baseline measurement before injection [default: 10s]',
  }),
  interval: pollIntervalFlag(),
  pause: gapFlag({ helpValue: 'DURATION', description: 'pause between experiments [default: 30s]' }),
  'recovery-timeout': durationFlag({
    helpValue: 'DURATION',
    description: 'longest wait for the after checks to hold [default: 2m]',
  }),
  'allow-entire-system': Flags.boolean({
    description: 'allow ENTIRE_SYSTEM blast radius on a real target',
    default: false,
  }),
}

/** `--keep-going` of the commands that run suites (run, schedule, gameday). */
export const keepGoingFlag = {
  'keep-going': Flags.boolean({ description: 'continue a suite after a safety abort', default: false }),
}

/** `--lease` of the commands that run experiments in the foreground (run, gameday). */
export const leaseFlag = {
  lease: typed((v, text, flag) => v.parseLease(text, flag))({
    helpValue: 'DURATION',
    description: "the agent's lease (dead man's switch), renewed every lease/3, at most 30m [default: 15s]",
  }),
}

/** The override flags as `resolveRunOptions` input. */
export function runOverrides(flags: OverrideFlagValues): RunOverrides {
  return {
    durationMs: flags.duration,
    probability: flags.probability,
    blastRadius: flags['blast-radius'],
    rate: flags.rate,
    baselineMs: flags.baseline,
    intervalMs: flags.interval,
    pauseMs: flags.pause,
    recoveryTimeoutMs: flags['recovery-timeout'],
    allowEntireSystem: flags['allow-entire-system'],
    quick: flags.quick,
  }
}

/**
 * `--quick` of run and gameday: a short smoke run (QUICK_PROFILE in src/plan.ts) for a first
 * result in about a minute; flags given with it still win, and without it the guide's durations apply.
 */
export const quickFlag = {
  quick: Flags.boolean({
    description:
      "short smoke run: 2s baselines, 8s injections, 1s pauses (explicit flags win; without it the guide's durations)",
    default: false,
  }),
}

// ---------------------------------------------------------------------------------------------
// Output and safety switches (run, monkey, schedule, gameday)

/**
 * `--allow-production` of every command that injects (run, gameday, monkey, schedule): without it a
 * target whose agent reports environment production is refused (exit 3) before anything is injected.
 */
export const allowProductionFlag = {
  'allow-production': Flags.boolean({
    description: 'inject into a target whose agent reports environment "production" (refused without it)',
    default: false,
  }),
}

export const dryRunFlag = {
  'dry-run': Flags.boolean({
    description: 'show what would be injected and inject nothing',
    default: false,
  }),
}

export const outputFlags = {
  quiet: Flags.boolean({
    char: 'q',
    description: 'print only results and the verdict, no progress',
    default: false,
  }),
  'log-file': Flags.string({
    helpValue: 'PATH',
    description: 'also append every output line (no colour) to this file',
  }),
}

/**
 * `--junit FILE` and `--markdown FILE` of the commands that run experiments (run, gameday, monkey,
 * schedule): the run's results as JUnit XML for CI test reporters and as Markdown for PR comments.
 * Written by src/cli/report-files.ts (loaded only when given, so these stay plain strings here).
 */
export const reportFileFlags = {
  junit: Flags.string({
    helpValue: 'FILE',
    description: 'also write the results as JUnit XML (one testsuite per run) for CI test reporters',
  }),
  markdown: Flags.string({
    helpValue: 'FILE',
    description:
      'also write the results as Markdown (PR comments); the same goes to $GITHUB_STEP_SUMMARY whenever that is set',
  }),
}

/** `--metrics-port` / `--metrics-host` of the long-running modes (monkey, schedule). */
export const metricsFlags = {
  'metrics-port': Flags.integer({
    description: 'serve Prometheus metrics at http://HOST:PORT/metrics (0 = any free port)',
    min: 0,
    max: 65535,
    helpValue: 'PORT',
  }),
  'metrics-host': Flags.string({
    description: 'interface for --metrics-port',
    default: '127.0.0.1',
    helpValue: 'HOST',
  }),
}

// ---------------------------------------------------------------------------------------------
// chaos monkey's own flags

/**
 * The monkey's own flags. Its coin and its check period were once `--probability` and
 * `--interval`; those names now mean what they mean everywhere (each fault's probability, the
 * metrics poll interval), so the coin is `--chance` and the period `--every`.
 */
export const monkeyFlags = {
  chance: probabilityFlag({
    helpValue: 'P',
    description:
      'chance of an experiment at each check, 0.05 or 5% [default: 0.05, config monkey.probability]',
  }),
  every: durationFlag({
    helpValue: 'DURATION',
    description: 'time between checks; a bare number is seconds [default: 5m, config monkey.interval]',
  }),
  'business-hours': Flags.boolean({
    allowNo: true,
    description:
      'only inject during business hours (09:00-17:00 MON-FRI unless config monkey.business_hours says otherwise)',
  }),
  timezone: timezoneFlag({
    helpValue: 'IANA_ZONE',
    description: "time zone of the business hours [default: the machine's]",
  }),
  categories: categoriesFlag({
    helpValue: 'LIST',
    description: 'categories to pick from, comma- or space-separated (network,pms) [default: all]',
  }),
  ids: idsFlag({
    helpValue: 'IDS',
    description: 'scenario ids to pick from, comma- or space-separated',
  }),
  'max-blast-radius': blastRadiusFlag({
    helpValue: 'LEVEL',
    description:
      'widest blast radius to inject: SINGLE_REQUEST, SINGLE_SERVICE, SERVICE_CLUSTER, ENTIRE_SYSTEM [default: SINGLE_SERVICE]',
  }),
  'min-gap': gapFlag({
    helpValue: 'DURATION',
    description: 'least time between two monkey experiments, remembered across invocations [default: 0]',
  }),
  'max-experiments': Flags.integer({ min: 1, helpValue: 'N', description: 'stop after N experiments' }),
  once: Flags.boolean({ description: 'make one check and exit (for cron)', default: false }),
  seed: Flags.integer({
    min: 0,
    max: 4294967295,
    helpValue: 'N',
    description: 'seed the coin and the picks (reproducible)',
  }),
  ...allowProductionFlag,
}

/**
 * The monkey's run overrides: the shared ones, plus the monkey's former spellings of three of them
 * as deprecated aliases (oclif warns and uses the new name).
 */
export const monkeyOverrideFlags = {
  ...overrideFlags,
  probability: faultProbabilityFlag({ aliases: ['fault-probability'], deprecateAliases: true }),
  interval: pollIntervalFlag({ aliases: ['poll-interval'], deprecateAliases: true }),
}

/** `--scenarios` of the monkey, which once spelled it `--scenario-dir`. */
export const monkeyCatalogueFlags = {
  ...catalogueFlags,
  scenarios: scenariosFlag({ aliases: ['scenario-dir'], deprecateAliases: true }),
}

// ---------------------------------------------------------------------------------------------
// chaos report
