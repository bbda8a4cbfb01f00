/** `chaos proxy --json` through the compiled CLI, for the proxy's e2e tests. */
import { chaos, startupBudgetMs, type Cli } from './cli.js'

/** The ready line `chaos proxy --json` prints once every route and the control endpoint listen. */
export interface ProxyReadyLine {
  control_url: string
  metrics_url: string
  routes: { name: string; protocol: string; listen: string; upstream: string }[]
}

/** Starts `chaos proxy --json` with `args` in `cwd` (token in CHAOS_TOKEN); resolves once it is ready. */
export async function startProxyCli(
  args: string[],
  cwd: string,
  token: string,
): Promise<{ cli: Cli; ready: ProxyReadyLine }> {
  const cli = chaos(['proxy', '--control', '127.0.0.1:0', '--json', ...args], {
    cwd,
    timeoutMs: 600_000,
    env: { CHAOS_TOKEN: token },
  })
  const line = (await cli.waitFor(/^\{.*"control_url".*\}$/, startupBudgetMs()))[0]
  return { cli, ready: JSON.parse(line) as ProxyReadyLine }
}
