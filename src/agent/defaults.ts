/**
 * The only place the agent reads `process`: the defaults for `env` (process.env) and for the instance
 * name (hostname:pid). Everything else is passed in through ChaosAgentOptions.
 */
import { hostname } from 'node:os'

/** `process.env`, the default for ChaosAgentOptions.env. */
export function defaultEnv(): Record<string, string | undefined> {
  return process.env
}

/** `${hostname}:${pid}`, the default for ChaosAgentOptions.instance. */
export function defaultInstance(): string {
  return `${hostname()}:${process.pid}`
}
