/**
 * Target resolution shared by run, status and stop: flags win over CHAOS_TARGET/CHAOS_TOKEN
 * (oclif reads those into the flags) and over the config file.
 */
import { InvalidInputError } from '../errors.js'
import type { ChaosConfig } from '../config.js'

export interface ResolvedTarget {
  targets: string[]
  token: string
}

/** The configured target, or undefined when none is configured anywhere. */
export function resolveTarget(
  flags: { target?: string[]; token?: string },
  config: ChaosConfig,
): ResolvedTarget | undefined {
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
  return { targets, token }
}

/** Like {@link resolveTarget} but a target is required (status, stop). */
export function requireTarget(
  flags: { target?: string[]; token?: string },
  config: ChaosConfig,
): ResolvedTarget {
  const target = resolveTarget(flags, config)
  if (!target) {
    throw new InvalidInputError(
      'no target configured',
      'pass --target URL (and --token), set CHAOS_TARGET, or target: in chaos.config.yaml',
    )
  }
  return target
}
