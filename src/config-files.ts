/**
 * Finding the config file, and the configuration when there is none. Kept apart from config.ts
 * (the zod schema of the file) so a command run without a config file never loads zod.
 */
import { existsSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

/** File names looked for in each directory, in this order. */
export const CONFIG_FILE_NAMES = ['chaos.config.yaml', 'chaos.config.yml', 'chaos.config.json'] as const

/** Where run reports go unless the config says otherwise (relative to the project directory). */
export const DEFAULT_REPORTS_DIR = '.playbook/chaos_reports'

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

/** The configuration without a file: a `ChaosConfig` (config.ts) with only these fields set. */
export interface ConfigWithoutFile {
  root: string
  targets: string[]
  scenarioDirs: string[]
  reportsDir: string
  run: Record<string, never>
  token?: string
  /** Always the default (the built-in catalogue) without a file. */
  catalogue?: undefined
}

/**
 * The configuration when no config file is given or found: the defaults plus `CHAOS_TOKEN`.
 * Undefined when there is a file to read or a `CHAOS_TARGET` to validate: then `loadConfig` decides.
 */
export function configWithoutFile(options: {
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  path?: string
}): ConfigWithoutFile | undefined {
  if (options.path || options.env.CHAOS_TARGET?.trim() || findConfigFile(options.cwd)) return undefined
  const root = resolve(options.cwd)
  const config: ConfigWithoutFile = {
    root,
    targets: [],
    scenarioDirs: [],
    reportsDir: resolve(root, DEFAULT_REPORTS_DIR),
    run: {},
  }
  if (options.env.CHAOS_TOKEN) config.token = options.env.CHAOS_TOKEN
  return config
}
