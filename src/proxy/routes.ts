/**
 * Routes of `chaos proxy`: `NAME=LISTEN->UPSTREAM` (or `→`), e.g.
 * `pms_adapter=127.0.0.1:18080->http://pms.internal:80` or `session_store=127.0.0.1:16379->tcp://redis:6379`.
 * NAME is the dependency's service name (what a scenario's `target_service` names), LISTEN the
 * address the service's client is pointed at (port 0: any free port), UPSTREAM the real dependency.
 */
import type { FaultConfig } from '../protocol/schemas.js'
import { ServiceName } from '../protocol/schemas.js'

/** How a route speaks: HTTP (a reverse proxy, request by request) or TCP (bytes, connection by connection). */
export type RouteProtocol = 'HTTP' | 'TCP'

/** A parsed route. */
export interface RouteSpec {
  name: string
  protocol: RouteProtocol
  listen: { host: string; port: number }
  /** The upstream as written (normalised by URL parsing). */
  upstream: string
  /** Upstream host, port and (HTTP) scheme and base path. */
  target: { scheme: 'http' | 'https' | 'tcp'; host: string; port: number; basePath: string }
}

/** The syntax, for messages. */
export const ROUTE_SYNTAX =
  'NAME=HOST:PORT->UPSTREAM, e.g. pms_adapter=127.0.0.1:18080->http://pms.internal:80'

/** A route spec that could not be read: `problem` says why, in one line. */
export class RouteSpecError extends Error {}

/** Parses one `--route` value. Throws {@link RouteSpecError}. */
export function parseRouteSpec(spec: string): RouteSpec {
  const eq = spec.indexOf('=')
  if (eq <= 0) throw new RouteSpecError(`"${spec}" has no NAME= (${ROUTE_SYNTAX})`)
  const rest = spec.slice(eq + 1)
  const arrow = /->|→/.exec(rest)
  if (arrow === null)
    throw new RouteSpecError(`"${spec}" has no -> between LISTEN and UPSTREAM (${ROUTE_SYNTAX})`)
  return routeFromParts(
    spec.slice(0, eq).trim(),
    rest.slice(0, arrow.index).trim(),
    rest.slice(arrow.index + arrow[0].length).trim(),
  )
}

/** Builds a route from its three parts (a `proxy.routes` entry of the config file). Throws {@link RouteSpecError}. */
export function routeFromParts(name: string, listen: string, upstream: string): RouteSpec {
  const validName = ServiceName.safeParse(name)
  if (!validName.success) {
    throw new RouteSpecError(
      `route name "${name}" ${validName.error.issues[0]?.message ?? 'is invalid'} (the dependency's service name, e.g. pms_adapter)`,
    )
  }
  const address = parseListen(listen)
  if (address === null) {
    throw new RouteSpecError(
      `route ${name}: listen "${listen}" is not HOST:PORT (e.g. 127.0.0.1:18080; port 0 = any free port)`,
    )
  }
  let url: URL
  try {
    url = new URL(upstream)
  } catch {
    throw new RouteSpecError(
      `route ${name}: upstream "${upstream}" is not a URL (http://host:port, https://host:port or tcp://host:port)`,
    )
  }
  const scheme = url.protocol.slice(0, -1)
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'tcp') {
    throw new RouteSpecError(
      `route ${name}: upstream scheme "${scheme}:" is not supported (http, https or tcp)`,
    )
  }
  if (url.hostname === '') throw new RouteSpecError(`route ${name}: upstream "${upstream}" has no host`)
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new RouteSpecError(
      `route ${name}: upstream "${upstream}" must be scheme://host:port[/path], without credentials, query or fragment`,
    )
  }
  const defaultPort = scheme === 'http' ? 80 : scheme === 'https' ? 443 : undefined
  if (url.port === '' && defaultPort === undefined) {
    throw new RouteSpecError(`route ${name}: upstream "${upstream}" needs a port (tcp://host:PORT)`)
  }
  const port = url.port === '' ? defaultPort! : Number(url.port)
  if (scheme === 'tcp' && url.pathname !== '' && url.pathname !== '/') {
    throw new RouteSpecError(`route ${name}: a tcp:// upstream has no path ("${upstream}")`)
  }
  // URL keeps IPv6 hosts bracketed; sockets want them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  return {
    name,
    protocol: scheme === 'tcp' ? 'TCP' : 'HTTP',
    listen: address,
    upstream: scheme === 'tcp' ? `tcp://${url.host}` : url.href.replace(/\/$/, ''),
    target: { scheme, host, port, basePath: scheme === 'tcp' ? '' : url.pathname.replace(/\/+$/, '') },
  }
}

/** Parses HOST:PORT (`[::1]:PORT` for IPv6); null when it is not one. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text)
  if (m === null) return null
  const port = Number(m[3])
  if (port > 65535) return null
  return { host: m[1] ?? m[2]!, port }
}

/** HOST:PORT as printed (IPv6 hosts bracketed). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * Checks a set of routes: names unique, fixed listen addresses unique. Returns one line per
 * problem (empty when fine).
 */
export function routeSetProblems(routes: readonly RouteSpec[]): string[] {
  const problems: string[] = []
  const names = new Set<string>()
  const addresses = new Set<string>()
  for (const route of routes) {
    if (names.has(route.name)) problems.push(`route name "${route.name}" is used twice`)
    names.add(route.name)
    if (route.listen.port === 0) continue
    const address = formatAddress(route.listen.host, route.listen.port)
    if (addresses.has(address)) problems.push(`listen address ${address} is used by two routes`)
    addresses.add(address)
  }
  return problems
}

/**
 * Why a fault makes no sense on a route of this protocol: one line per reason, empty when it
 * applies. The proxy refuses such an experiment with 400 and these lines as `problems`.
 */
export function faultProblems(route: Pick<RouteSpec, 'name' | 'protocol'>, config: FaultConfig): string[] {
  const at = `fault_config: ${config.fault_type} on ${route.protocol} route ${route.name}`
  const problems: string[] = []
  if (config.fault_type === 'RESOURCE_EXHAUSTION' && config.pressure !== undefined) {
    problems.push(
      `${at}: ${config.pressure.type} pressure acts on the process that embeds the agent, and the proxy runs none of the service's code; leave pressure out (the proxy squeezes bandwidth_bytes_per_second instead)`,
    )
  }
  if (config.fault_type === 'EXCEPTION' && config.http_status !== undefined && route.protocol === 'TCP') {
    problems.push(
      `${at}: http_status applies to HTTP routes; a TCP route answers EXCEPTION with a connection reset`,
    )
  }
  return problems
}
