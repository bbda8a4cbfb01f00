import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { loadConfig } from '../src/config.js'
import { InvalidInputError, RuntimeFailure, SafetyError } from '../src/errors.js'
import { createJsonLogger } from '../src/logger.js'
import { isProductionEnvironment } from '../src/protocol/environment.js'
import { MIN_TOKEN_LENGTH } from '../src/protocol/schemas.js'
import {
  DEFAULT_CONTROL_ADDRESS,
  parseListen,
  parseRouteSpec,
  routeFromParts,
  routeSetProblems,
  RouteSpecError,
  ROUTE_SYNTAX,
  startProxy,
  type RouteSpec,
} from '../src/proxy/index.js'

export default class ProxyCommand extends BaseCommand {
  static override summary =
    'Run a fault-injecting proxy in front of dependencies, for a service in any language'
  static override description = `Stands in front of one or more dependencies, each under the dependency's service name (--route NAME=HOST:PORT->UPSTREAM), and serves the chaos control endpoint (protocol v1, exactly as the agent's: token, lease, one experiment at a time, emergency stop) with /metrics at --control. Point the service's client at a route's listen address; a scenario's target_service names the route. HTTP routes are a streaming reverse proxy on which LATENCY delays, EXCEPTION answers http_status (500), TIMEOUT holds then closes, CIRCUIT_BREAK answers 503, RATE_LIMIT answers 429 with Retry-After and RESOURCE_EXHAUSTION squeezes bandwidth. It prints one line per route and the control URL (--json: one JSON line), then runs until SIGINT (exit 130) or SIGTERM (exit 0), which roll back everything first. Settings may come from the proxy: section of chaos.config.yaml. See docs/proxy.md.`

  static override examples = [
    'CHAOS_TOKEN=$(openssl rand -hex 32) <%= config.bin %> proxy --route pms_adapter=127.0.0.1:18080->http://pms.internal:80',
    '<%= config.bin %> proxy --route pms_adapter=127.0.0.1:18080->http://pms.internal:80 --route gmail_client=127.0.0.1:18081->https://gmail.googleapis.com --control 127.0.0.1:8474 --app-metrics http://127.0.0.1:8000/metrics',
  ]

  static override flags = {
    route: Flags.string({
      description: `a dependency to stand in front of: ${ROUTE_SYNTAX} (or tcp://host:port); repeatable`,
      multiple: true,
      helpValue: 'NAME=HOST:PORT->UPSTREAM',
    }),
    control: Flags.string({
      description: `HOST:PORT of the control endpoint and /metrics (port 0 = any free port) [default: ${DEFAULT_CONTROL_ADDRESS}]`,
      helpValue: 'HOST:PORT',
    }),
    token: Flags.string({
      description: `Bearer token of the control endpoint, at least ${MIN_TOKEN_LENGTH} characters (default: CHAOS_TOKEN, else the config's token)`,
      env: 'CHAOS_TOKEN',
    }),
    environment: Flags.string({
      description: 'environment reported in GET /chaos (default: NODE_ENV, else development)',
    }),
    'allow-production': Flags.boolean({
      description: 'run although the environment (or NODE_ENV) names production',
      default: undefined,
    }),
    'app-metrics': Flags.string({
      description: "the service's own Prometheus /metrics URL, appended to the proxy's /metrics",
      helpValue: 'URL',
    }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(ProxyCommand)
    const config = await loadConfig({ cwd: process.cwd(), env: process.env, path: flags.config })
    const file = config.proxy ?? {}
    const routes = readRoutes(flags.route, file.routes)
    const token = flags.token || config.token
    if (!token) {
      throw new InvalidInputError(
        'chaos proxy needs a token for its control endpoint',
        'pass --token or set CHAOS_TOKEN (e.g. CHAOS_TOKEN=$(openssl rand -hex 32)); the runner uses the same one',
      )
    }
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new InvalidInputError(
        `--token (or CHAOS_TOKEN) must be at least ${MIN_TOKEN_LENGTH} characters without whitespace, got ${token.length}`,
        'use a long random token, e.g. openssl rand -hex 32',
      )
    }
    const controlText = flags.control ?? file.control ?? DEFAULT_CONTROL_ADDRESS
    const control = parseListen(controlText)
    if (control === null) {
      throw new InvalidInputError(
        `--control: "${controlText}" is not HOST:PORT`,
        `e.g. --control ${DEFAULT_CONTROL_ADDRESS} (port 0 = any free port)`,
      )
    }
    const appMetricsUrl = flags['app-metrics'] ?? file.appMetricsUrl
    if (appMetricsUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(appMetricsUrl)) {
      throw new InvalidInputError(
        `--app-metrics: "${appMetricsUrl}" is not an http(s) URL`,
        'e.g. --app-metrics http://127.0.0.1:8000/metrics',
      )
    }
    const environment = flags.environment ?? file.environment
    const allowProduction = flags['allow-production'] ?? file.allowProduction ?? false
    for (const [source, value] of [
      ['NODE_ENV', process.env.NODE_ENV],
      ['--environment', environment],
    ] as const) {
      if (isProductionEnvironment(value) && !allowProduction) {
        throw new SafetyError(
          `chaos proxy refused to start: ${source} ${JSON.stringify(value)} names production`,
          'pass --allow-production to run chaos experiments in production deliberately',
        )
      }
    }
    const logger = createJsonLogger(process.stderr, { minLevel: flags.debug ? 'debug' : 'info' })

    // Signals are caught before anything is printed: whoever reads the ready line may signal at once.
    let onSignal: (sig: NodeJS.Signals) => void = () => {}
    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      onSignal = (sig) => resolve(sig)
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
    try {
      const proxy = await startProxy({
        routes,
        control,
        token,
        env: process.env,
        logger,
        allowProduction,
        ...(environment !== undefined && { environment }),
        ...(appMetricsUrl !== undefined && { appMetricsUrl }),
      }).catch((err: Error & { code?: string; address?: string; port?: number }) => {
        if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
          throw new RuntimeFailure(
            `cannot listen on ${err.address ?? '?'}:${err.port ?? '?'}: ${err.code}`,
            'pick another address for that route or --control (port 0 = any free port)',
          )
        }
        throw err
      })
      // Other tools parse these lines (the --json one above all): keep them stable.
      if (this.jsonEnabled()) {
        process.stdout.write(
          JSON.stringify({
            control_url: proxy.controlUrl,
            metrics_url: proxy.metricsUrl,
            routes: proxy.routes,
          }) + '\n',
        )
      } else {
        for (const r of proxy.routes) {
          this.out.line(`route ${r.name} (${r.protocol}) listening on ${r.listen} -> ${r.upstream}`)
        }
        this.out.line(`metrics on ${proxy.metricsUrl}`)
        this.out.line(`proxy control on ${proxy.controlUrl}`)
      }
      const signal = await stopped
      await proxy.close(`${signal} received`)
      if (signal === 'SIGINT') this.exit(130)
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}

/** Routes from --route (which replace the config's) or the config's proxy.routes; exit 2 on any problem. */
function readRoutes(
  flagRoutes: string[] | undefined,
  fileRoutes: { name: string; listen: string; upstream: string }[] | undefined,
): RouteSpec[] {
  const problems: string[] = []
  const routes: RouteSpec[] = []
  const read = (where: string, make: () => RouteSpec) => {
    try {
      routes.push(make())
    } catch (err) {
      if (!(err instanceof RouteSpecError)) throw err
      problems.push(`${where}: ${err.message}`)
    }
  }
  if (flagRoutes !== undefined && flagRoutes.length > 0) {
    for (const spec of flagRoutes) read('--route', () => parseRouteSpec(spec))
  } else if (fileRoutes !== undefined) {
    fileRoutes.forEach((r, i) =>
      read(`proxy.routes[${i}]`, () => routeFromParts(r.name, r.listen, r.upstream)),
    )
  }
  if (problems.length === 0 && routes.length === 0) {
    throw new InvalidInputError(
      'chaos proxy needs at least one route',
      `pass --route ${ROUTE_SYNTAX.split(', e.g. ')[1]} (or proxy.routes in chaos.config.yaml)`,
    )
  }
  problems.push(...routeSetProblems(routes))
  if (problems.length > 0) {
    throw new InvalidInputError(
      problems.length === 1 ? problems[0]! : `${problems.length} problems in the routes`,
      `routes read ${ROUTE_SYNTAX}`,
      problems.length === 1 ? [] : problems,
    )
  }
  return routes
}
