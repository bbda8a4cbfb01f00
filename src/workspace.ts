/**
 * What every catalogue command starts from: the config file and the scenario catalogue it
 * points at (built-ins, config `scenario_dirs`, `--scenarios DIR`).
 */
import { configWithoutFile } from './config-files.js'
import type { ChaosConfig } from './config.js'
import { loadCatalogue, type Catalogue } from './scenario/catalogue.js'
import { catalogueCacheDir } from './scenario/catalogue-cache.js'

export interface Workspace {
  config: ChaosConfig
  catalogue: Catalogue
}

/** Loads config then catalogue. Catalogue problems are returned (see `assertNoProblems`), config problems thrown. */
export async function openWorkspace(options: {
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  configPath?: string
  scenarioDirs?: readonly string[]
  /**
   * `--builtin` / `--no-builtin`: include the built-in catalogue or not; absent means the config's
   * `catalogue:` (`builtin` unless it says `none`).
   */
  builtin?: boolean
}): Promise<Workspace> {
  const where = { cwd: options.cwd, env: options.env, path: options.configPath }
  // Without a config file nothing needs the config schema (zod): keep `chaos list` fast.
  const config = configWithoutFile(where) ?? (await (await import('./config.js')).loadConfig(where))
  const catalogue = await loadCatalogue({
    cwd: options.cwd,
    dirs: [...config.scenarioDirs, ...(options.scenarioDirs ?? [])],
    builtin: includeBuiltin(options.builtin, config),
    cacheDir: catalogueCacheDir(options.env),
  })
  return { config, catalogue }
}

/** Whether the built-in catalogue is loaded: the flag when given, else the config's `catalogue:`. */
export function includeBuiltin(
  flag: boolean | undefined,
  config: { catalogue?: 'builtin' | 'none' },
): boolean {
  return flag ?? config.catalogue !== 'none'
}
