/**
 * What every catalogue command starts from: the config file and the scenario catalogue it
 * points at (built-ins, config `scenario_dirs`, `--scenarios DIR`).
 */
import { loadConfig, type ChaosConfig } from './config.js'
import { loadCatalogue, type Catalogue } from './scenario/catalogue.js'

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
  /** false: leave the built-in catalogue out (`--no-builtin`). */
  builtin?: boolean
}): Promise<Workspace> {
  const config = await loadConfig({ cwd: options.cwd, env: options.env, path: options.configPath })
  const catalogue = await loadCatalogue({
    cwd: options.cwd,
    dirs: [...config.scenarioDirs, ...(options.scenarioDirs ?? [])],
    builtin: options.builtin,
  })
  return { config, catalogue }
}
