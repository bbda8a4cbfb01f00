/**
 * Target resolution shared by run, status and stop: flags win over CHAOS_TARGET/CHAOS_TOKEN
 * (oclif reads those into the flags) and over the config file.
 */
import { InvalidInputError } from '../errors.js'
import type { ChaosConfig } from '../config.js'
import { DEFAULT_INSTANCE_URL, DEFAULT_MAX_PARALLEL, type DiscoverSpec } from '../discovery/spec.js'

/** The target flags as parsed (`--target`, `--token`, `--metrics-url`, `--control-prefix`). */
export interface TargetFlagValues {
  target?: string[]
  token?: string
  'metrics-url'?: string[]
  'control-prefix'?: string
  /** All workload to this URL instead of spreading it over the targets. */
  'workload-url'?: string
  /** Discovery (docs/discovery.md): flags win over the config's keys, a list replaces the list. */
  discover?: DiscoverSpec[]
  'instance-url'?: string
  'dns-server'?: string[]
  'max-parallel'?: number
  prometheus?: string
}

/** Where and how to discover instances, resolved from flags over config. */
export interface DiscoverySettings {
  specs: DiscoverSpec[]
  /** Control URL template (default `http://{address}`). */
  instanceUrl: string
  /** DNS servers for dns: specs; absent: the system resolvers. */
  dnsServers?: string[]
  /** Prometheus base URL, for prometheus: and prometheus-targets: specs. */
  prometheusUrl?: string
}

export interface ResolvedTarget {
  /** Static instances (`--target`, CHAOS_TARGET, config target); empty when only discovery is configured. */
  targets: string[]
  token: string
  /** One metrics URL per target, in the same order; absent: each target's `/metrics`. */
  metricsUrls?: string[]
  /** The agents' control prefix, when not the default `/chaos`. */
  controlPrefix?: string
  /** Discovery, when `--discover` or config `discover:` is given. */
  discovery?: DiscoverySettings
  /** Bound on concurrent control calls per fan-out (`--max-parallel`, default 64). */
  maxParallel: number
}

/** Discovery settings from flags over config, or undefined when no spec is given anywhere. */
export function resolveDiscovery(
  flags: TargetFlagValues,
  config: ChaosConfig,
): DiscoverySettings | undefined {
  const specs = flags.discover && flags.discover.length > 0 ? flags.discover : (config.discover ?? [])
  if (specs.length === 0) return undefined
  const prometheusUrl = flags.prometheus ?? config.prometheus
  const instanceUrl = flags['instance-url'] ?? config.instanceUrl ?? DEFAULT_INSTANCE_URL
  const field = flags.discover && flags.discover.length > 0 ? '--discover' : 'discover'
  // Every spec that cannot work as configured, at once (one detail line each).
  const problems: { message: string; hint: string }[] = []
  for (const spec of specs) {
    if ((spec.kind === 'prometheus' || spec.kind === 'prometheus-targets') && !prometheusUrl)
      problems.push({
        message: `${field} ${spec.text}: needs a Prometheus to ask`,
        hint: 'pass --prometheus URL (or prometheus: in the config), e.g. --prometheus http://127.0.0.1:9090',
      })
    if (spec.kind === 'dns' && spec.port === null && instanceUrl.includes('{port}'))
      problems.push({
        message: `${field} ${spec.text}: has no port and the instance URL template ${instanceUrl} uses {port}`,
        hint: `give the port in the spec, e.g. ${spec.text}:8080`,
      })
  }
  if (problems.length === 1) throw new InvalidInputError(problems[0]!.message, problems[0]!.hint)
  if (problems.length > 1)
    throw new InvalidInputError(
      `${problems.length} discovery specs cannot work as configured`,
      'fix each line above (docs/discovery.md)',
      problems.map((p) => `${p.message} (hint: ${p.hint})`),
    )
  const dnsServers =
    flags['dns-server'] && flags['dns-server'].length > 0 ? flags['dns-server'] : config.dnsServers
  return {
    specs,
    instanceUrl,
    ...(dnsServers !== undefined && { dnsServers }),
    ...(prometheusUrl !== undefined && { prometheusUrl }),
  }
}

/** The configured target, or undefined when none is configured anywhere. */
export function resolveTarget(flags: TargetFlagValues, config: ChaosConfig): ResolvedTarget | undefined {
  const targets = flags.target && flags.target.length > 0 ? flags.target : config.targets
  const discovery = resolveDiscovery(flags, config)
  if (targets.length === 0 && !discovery) return undefined
  for (const url of targets) {
    if (!/^https?:\/\/[^\s/]+/.test(url)) {
      throw new InvalidInputError(
        `--target: "${url}" is not an http(s) URL`,
        'e.g. --target http://127.0.0.1:8080',
      )
    }
  }
  const token = flags.token ?? config.token
  if (!token) {
    throw new InvalidInputError(
      `${targets.length > 0 ? 'a target' : 'discovery'} is configured but no token`,
      'pass --token, set CHAOS_TOKEN, or token: in chaos.config.yaml',
    )
  }
  const fromFlag = flags['metrics-url'] !== undefined && flags['metrics-url'].length > 0
  const metricsUrls = fromFlag ? flags['metrics-url'] : config.metricsUrls
  if (metricsUrls !== undefined && metricsUrls.length !== targets.length) {
    // Pairing by position is the only reading; a count mismatch would scrape the wrong instance.
    throw new InvalidInputError(
      `${fromFlag ? '--metrics-url' : 'metrics_url'}: ${metricsUrls.length} URL(s) for ${targets.length} target instance(s)`,
      'give one metrics URL per --target, in the same order',
    )
  }
  const controlPrefix = flags['control-prefix'] ?? config.controlPrefix
  return {
    targets,
    token,
    ...(metricsUrls !== undefined && { metricsUrls }),
    ...(controlPrefix !== undefined && { controlPrefix }),
    ...(discovery !== undefined && { discovery }),
    maxParallel: flags['max-parallel'] ?? config.maxParallel ?? DEFAULT_MAX_PARALLEL,
  }
}

/** Like {@link resolveTarget} but a target is required (status, stop). */
export function requireTarget(flags: TargetFlagValues, config: ChaosConfig): ResolvedTarget {
  const target = resolveTarget(flags, config)
  if (!target) {
    throw new InvalidInputError(
      'no target configured',
      'pass --target URL or --discover SPEC (and --token), set CHAOS_TARGET, or target: / discover: in chaos.config.yaml',
    )
  }
  return target
}
