/**
 * Target resolution shared by run, status and stop: flags win over CHAOS_TARGET/CHAOS_TOKEN
 * (oclif reads those into the flags) and over the config file.
 */
import { InvalidInputError } from '../errors.js'
import type { ChaosConfig } from '../config.js'

/** The target flags as parsed (`--target`, `--token`, `--metrics-url`, `--control-prefix`). */
export interface TargetFlagValues {
  target?: string[]
  token?: string
  'metrics-url'?: string[]
  'control-prefix'?: string
  /** All workload to this URL instead of spreading it over the targets. */
  'workload-url'?: string
}

export interface ResolvedTarget {
  targets: string[]
  token: string
  /** One metrics URL per target, in the same order; absent: each target's `/metrics`. */
  metricsUrls?: string[]
  /** The agents' control prefix, when not the default `/chaos`. */
  controlPrefix?: string
}

/** The configured target, or undefined when none is configured anywhere. */
export function resolveTarget(flags: TargetFlagValues, config: ChaosConfig): ResolvedTarget | undefined {
  const targets = flags.target && flags.target.length > 0 ? flags.target : config.targets
  if (targets.length === 0) return undefined
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
      'a target is configured but no token',
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
  }
}

/** Like {@link resolveTarget} but a target is required (status, stop). */
export function requireTarget(flags: TargetFlagValues, config: ChaosConfig): ResolvedTarget {
  const target = resolveTarget(flags, config)
  if (!target) {
    throw new InvalidInputError(
      'no target configured',
      'pass --target URL (and --token), set CHAOS_TARGET, or target: in chaos.config.yaml',
    )
  }
  return target
}
