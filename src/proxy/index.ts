/**
 * `chaos proxy`: fault injection for a service in any language, without changing its code. Each
 * route stands in front of one dependency under the dependency's service name; the service points
 * its client at the route's listen address. The control endpoint is the chaos agent's own
 * (src/agent/agent.ts: auth, lease, one experiment at a time, emergency stop, production rule,
 * signed tag, metrics), with `services` = the routes' names; the routes ask it, request by request
 * (HTTP) or connection by connection (TCP), which fault applies (`ChaosAgent.select`).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { createChaosAgent, type ChaosAgent } from '../agent/agent.js'
import { sendJson } from '../agent/control.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import { startHttpRoute, type RunningRoute } from './http-route.js'
import { tcpFaultSource } from './fault-source.js'
import { faultProblems, formatAddress, type RouteSpec } from './routes.js'
import { startTcpRoute } from './tcp.js'

export { tcpFaultSource, type TcpFault, type TcpFaultSource } from './fault-source.js'
export {
  formatAddress,
  parseListen,
  parseRouteSpec,
  routeFromParts,
  routeSetProblems,
  RouteSpecError,
  ROUTE_SYNTAX,
  type RouteProtocol,
  type RouteSpec,
} from './routes.js'

/** Default control address of `chaos proxy` (Toxiproxy's port, so the habit carries over). */
export const DEFAULT_CONTROL_ADDRESS = '127.0.0.1:8474'

/** The `service` the proxy's agent reports in GET /chaos (an ENTIRE_SYSTEM target names it). */
export const PROXY_SERVICE_NAME = 'chaos_proxy'

/** How long /metrics waits for `--app-metrics` before answering without it. */
const APP_METRICS_TIMEOUT_MS = 2000

export interface ProxyOptions {
  routes: readonly RouteSpec[]
  control: { host: string; port: number }
  token: string
  environment?: string
  allowProduction?: boolean
  /** The service's own Prometheus page, appended to the proxy's /metrics. */
  appMetricsUrl?: string
  /** Environment variables the agent's production rule reads (NODE_ENV). */
  env: Record<string, string | undefined>
  logger: Logger
  clock?: Clock
  /** Instance name in GET /chaos; default the agent's (hostname:pid). */
  instance?: string
}

/** One route as `chaos proxy` prints it (snake_case: it is part of the `--json` line). */
export interface ProxyRouteInfo {
  name: string
  protocol: 'HTTP' | 'TCP'
  /** The address listened on (the real port when 0 was asked). */
  listen: string
  upstream: string
}

/** A running proxy. */
export interface RunningProxy {
  agent: ChaosAgent
  /** Base URL of the control endpoint; the protocol's routes are under `/chaos`. */
  controlUrl: string
  metricsUrl: string
  routes: ProxyRouteInfo[]
  /** Emergency stop, then closes every route and the control endpoint. */
  close(reason?: string): Promise<void>
}

/** Starts the routes and the control endpoint; rejects (closing what started) when one cannot listen. */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const byName = new Map(options.routes.map((r) => [r.name, r]))
  const agent = createChaosAgent({
    service: PROXY_SERVICE_NAME,
    enabled: true,
    token: options.token,
    env: options.env,
    logger: options.logger,
    ...(options.instance !== undefined && { instance: options.instance }),
    ...(options.environment !== undefined && { environment: options.environment }),
    ...(options.allowProduction !== undefined && { allowProduction: options.allowProduction }),
    ...(options.clock !== undefined && { clock: options.clock }),
    refuse: (service, config) => {
      const route = byName.get(service)
      return route === undefined ? [] : faultProblems(route, config)
    },
  })
  const started: RunningRoute[] = []
  let control: Server | null = null
  const closeAll = async () => {
    await Promise.all(started.map((r) => r.close()))
    if (control !== null) {
      const server = control
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
    await agent.close()
  }
  try {
    for (const spec of options.routes) {
      agent.register(spec.name)
      if (spec.protocol === 'TCP') {
        const tcp = await startTcpRoute({
          name: spec.name,
          listen: spec.listen,
          upstream: { host: spec.target.host, port: spec.target.port },
          faults: tcpFaultSource(agent, spec.name),
          ...(options.clock !== undefined && { clock: options.clock }),
        })
        started.push({
          spec,
          listen: formatAddress(tcp.address.host, tcp.address.port),
          close: () => tcp.close(),
        })
        continue
      }
      started.push(await startHttpRoute(spec, agent, options.logger))
    }
    control = await listenControl(agent, options)
  } catch (err) {
    await closeAll()
    throw err
  }
  const address = control.address() as AddressInfo
  const controlUrl = `http://${formatAddress(address.address, address.port)}`
  return {
    agent,
    controlUrl,
    metricsUrl: `${controlUrl}/metrics`,
    routes: started.map((r) => ({
      name: r.spec.name,
      protocol: r.spec.protocol,
      listen: r.listen,
      upstream: r.spec.upstream,
    })),
    async close(reason = 'proxy stopping') {
      agent.stopAll(reason)
      await closeAll()
    },
  }
}

/** The control server: the agent's endpoint under /chaos, and GET /metrics. */
async function listenControl(agent: ChaosAgent, options: ProxyOptions): Promise<Server> {
  const controlListener = agent.listener()
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      void metricsPage(agent, options.appMetricsUrl).then(
        (text) => {
          res.writeHead(200, { 'content-type': agent.registry.contentType, 'cache-control': 'no-store' })
          res.end(req.method === 'HEAD' ? undefined : text)
        },
        () => sendJson(res, 500, { error: 'metrics unavailable' }),
      )
      return
    }
    controlListener(req, res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.control.port, options.control.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}

/**
 * The proxy's metrics (the agent's contract: chaos_agent_faults_injected_total, …), then the
 * service's own page when `appMetricsUrl` is set, so the runner finds both on one page. When the
 * service's page cannot be read, a comment line says so and the proxy's metrics still answer.
 */
async function metricsPage(agent: ChaosAgent, appMetricsUrl: string | undefined): Promise<string> {
  const own = await agent.registry.metrics()
  if (appMetricsUrl === undefined) return own
  let app: string
  try {
    const reply = await request(appMetricsUrl, {
      headersTimeout: APP_METRICS_TIMEOUT_MS,
      bodyTimeout: APP_METRICS_TIMEOUT_MS,
    })
    const text = await reply.body.text()
    app =
      reply.statusCode === 200
        ? text
        : `# chaos proxy: --app-metrics ${appMetricsUrl} answered HTTP ${reply.statusCode}\n`
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message
    app = `# chaos proxy: --app-metrics ${appMetricsUrl} unreachable: ${code}\n`
  }
  app = withoutFamilies(app, familiesOf(own))
  return `${own.endsWith('\n') ? own : own + '\n'}${app.endsWith('\n') ? app : app + '\n'}`
}

/** The metric family names a Prometheus text page declares (`# TYPE name type`). */
function familiesOf(page: string): Set<string> {
  return new Set([...page.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))
}

/**
 * `page` without the families in `families` (their HELP, TYPE and samples, suffixes such as
 * `_total` or `_bucket` included): a service that also exports them (it embeds the agent too)
 * must not make the page declare a family twice, which Prometheus parsers refuse.
 */
function withoutFamilies(page: string, families: ReadonlySet<string>): string {
  if (families.size === 0) return page
  const familyOf = (name: string): string | undefined => {
    for (let n = name; n.length > 0; n = n.slice(0, n.lastIndexOf('_'))) {
      if (families.has(n)) return n
      if (!n.includes('_')) break
    }
    return undefined
  }
  return page
    .split('\n')
    .filter((line) => {
      const name = /^# (?:HELP|TYPE) (\S+)/.exec(line)?.[1] ?? /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1]
      return name === undefined || familyOf(name) === undefined
    })
    .join('\n')
}
