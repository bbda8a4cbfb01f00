/**
 * How an agent's environment name is read, shared by the agent (its production guard, and what
 * `GET /chaos` reports) and the runner (its production refusal): a guard that compared strings
 * exactly let `NODE_ENV=PRODUCTION`, `Production`, `prod` and ` production` through.
 */

/** The one spelling of the environment the runner refuses without --allow-production. */
export const PRODUCTION = 'production'

/** Short forms read as {@link PRODUCTION}. */
const PRODUCTION_ALIASES: ReadonlySet<string> = new Set(['prod', 'production'])

/**
 * An environment name trimmed and lower-cased, `prod` read as `production`; undefined for
 * undefined or a blank value (so that a caller's default applies).
 */
export function normalizeEnvironment(value: string | undefined | null): string | undefined {
  if (typeof value !== 'string') return undefined
  const name = value.trim().toLowerCase()
  if (name === '') return undefined
  return PRODUCTION_ALIASES.has(name) ? PRODUCTION : name
}

/** Whether an environment name, however spelled, means production. */
export function isProductionEnvironment(value: string | undefined | null): boolean {
  return normalizeEnvironment(value) === PRODUCTION
}
