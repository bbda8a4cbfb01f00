/**
 * The grammar of discovery (docs/discovery.md): `--discover` specs, the `--instance-url` template
 * and `--dns-server` addresses. Pure and import-light (no HTTP, no DNS), because the flag parsers
 * and the config schema load it. Every error is one line naming the flag or config field and the fix.
 */
import { isIP } from 'node:net'
import { InvalidInputError } from '../errors.js'

/** One discovery source, as `--discover` (or config `discover:`) names it. */
export type DiscoverSpec =
  | { kind: 'prometheus'; text: string; query: string }
  | { kind: 'prometheus-targets'; text: string; job: string }
  | { kind: 'dns'; text: string; name: string; port: number | null }
  | { kind: 'dns+srv'; text: string; name: string }

/** The spec kinds, as written before the first colon. */
export const DISCOVER_KINDS = ['prometheus', 'prometheus-targets', 'dns', 'dns+srv'] as const

/** The default control URL of a discovered address. */
export const DEFAULT_INSTANCE_URL = 'http://{address}'

/** The template placeholders. */
const PLACEHOLDERS = ['host', 'port', 'address'] as const

const EXAMPLES = `prometheus:up{job="hotel"}, prometheus-targets:hotel, dns:hotel.default.svc:8080 or dns+srv:_chaos._tcp.hotel.default.svc`

/** A DNS name (letters, digits, `-`, `_`, dots; an optional final dot) or an IP literal. */
const DNS_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/

/** Problems of one spec (empty: valid), each a sentence without the field name. */
function specProblem(text: string): { spec?: DiscoverSpec; problem?: string; hint?: string } {
  const t = text.trim()
  const colon = t.indexOf(':')
  const kind = colon < 0 ? t : t.slice(0, colon)
  const rest = colon < 0 ? '' : t.slice(colon + 1).trim()
  switch (kind) {
    case 'prometheus':
      if (!rest) return { problem: `"${text}" has no query`, hint: 'e.g. prometheus:up{job="hotel"}' }
      return { spec: { kind, text: t, query: rest } }
    case 'prometheus-targets':
      if (!/^[^\s{}"]+$/.test(rest))
        return {
          problem: `"${text}" needs a job name`,
          hint: 'e.g. prometheus-targets:hotel (the job of the scrape config)',
        }
      return { spec: { kind, text: t, job: rest } }
    case 'dns': {
      const m = /^(.*?)(?::(\d+))?$/.exec(rest)!
      const name = m[1]!
      const port = m[2] === undefined ? null : Number(m[2])
      if (!DNS_NAME.test(name) || isIP(name) !== 0)
        return {
          problem: `"${text}" does not name a DNS name`,
          hint: 'e.g. dns:hotel.default.svc.cluster.local:8080',
        }
      if (port !== null && (port < 1 || port > 65535))
        return { problem: `"${text}": port ${m[2]} is not 1-65535`, hint: 'e.g. dns:hotel.default.svc:8080' }
      return { spec: { kind, text: t, name, port } }
    }
    case 'dns+srv':
      if (!DNS_NAME.test(rest) || isIP(rest) !== 0)
        return {
          problem: `"${text}" does not name an SRV record`,
          hint: 'e.g. dns+srv:_chaos._tcp.hotel.default.svc.cluster.local',
        }
      return { spec: { kind, text: t, name: rest } }
    default:
      return {
        problem: `"${text}" is not a discovery spec`,
        hint: `one of ${DISCOVER_KINDS.map((k) => `${k}:`).join(', ')}, e.g. ${EXAMPLES}`,
      }
  }
}

/** One spec, or a one-line {@link InvalidInputError} naming `field` (e.g. `--discover`). */
export function parseDiscoverSpec(text: string, field: string): DiscoverSpec {
  const { spec, problem, hint } = specProblem(text)
  if (!spec) throw new InvalidInputError(`${field}: ${problem}`, hint)
  return spec
}

/** The problem of one spec as `{ message, hint }`, or null (for the config schema's own issues). */
export function discoverSpecProblem(text: string): { message: string; hint: string } | null {
  const { spec, problem, hint } = specProblem(text)
  return spec ? null : { message: problem!, hint: hint! }
}

/**
 * Every spec of a list; every bad one is reported at once (one detail line each) in a single
 * {@link InvalidInputError} naming `field`.
 */
export function parseDiscoverSpecs(texts: readonly string[], field: string): DiscoverSpec[] {
  const specs: DiscoverSpec[] = []
  const bad: { problem: string; hint: string }[] = []
  for (const text of texts) {
    const r = specProblem(text)
    if (r.spec) specs.push(r.spec)
    else bad.push({ problem: r.problem!, hint: r.hint! })
  }
  if (bad.length === 1) throw new InvalidInputError(`${field}: ${bad[0]!.problem}`, bad[0]!.hint)
  if (bad.length > 1)
    throw new InvalidInputError(
      `${field}: ${bad.length} discovery specs are invalid`,
      `valid specs: ${EXAMPLES}`,
      bad.map((b) => `${field}: ${b.problem} (hint: ${b.hint})`),
    )
  return specs
}

/** Problems of an `--instance-url` template, or null when it is usable. */
export function instanceUrlProblem(template: string): { message: string; hint: string } | null {
  const hint =
    'e.g. http://{address}, http://{host}:8080 or https://{host}:{port}/svc ({host} {port} {address})'
  const t = template.trim()
  if (!/^https?:\/\//.test(t)) return { message: `"${template}" is not an http(s) URL template`, hint }
  for (const m of t.matchAll(/\{([^}]*)\}/g)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!))
      return { message: `"${template}": {${m[1]}} is not a placeholder`, hint }
  }
  if (!/\{(host|address)\}/.test(t))
    return { message: `"${template}" names no host ({host} or {address})`, hint }
  try {
    new URL(renderInstanceUrl(t, { host: '192.0.2.1', port: 8080 }))
  } catch {
    return { message: `"${template}" does not make a URL`, hint }
  }
  return null
}

/** A checked template (trailing slash dropped), or a one-line error naming `field`. */
export function parseInstanceUrl(template: string, field: string): string {
  const problem = instanceUrlProblem(template)
  if (problem) throw new InvalidInputError(`${field}: ${problem.message}`, problem.hint)
  return template.trim().replace(/\/+$/, '')
}

/** Whether a template needs a port (`{port}` or `{address}` of an address that has one). */
export function templateUsesPort(template: string): boolean {
  return template.includes('{port}')
}

/**
 * The control URL of one discovered address: `{host}` (an IPv6 address in brackets, as a URL needs),
 * `{port}`, `{address}` (`host:port`, or the host alone when the source gave no port). Throws a plain
 * Error when the template needs `{port}` and the address has none (the caller names the spec).
 */
export function renderInstanceUrl(template: string, address: { host: string; port: number | null }): string {
  const host = isIP(address.host) === 6 ? `[${address.host}]` : address.host
  if (address.port === null && template.includes('{port}'))
    throw new Error(`${host} has no port and the --instance-url template uses {port}`)
  const values = {
    host,
    port: address.port === null ? '' : String(address.port),
    address: address.port === null ? host : `${host}:${address.port}`,
  }
  return template
    .replace(/\{(host|port|address)\}/g, (_, k: keyof typeof values) => values[k])
    .replace(/\/+$/, '')
}

/**
 * An address as Prometheus writes an `instance` label: `host:port`, `[v6]:port`, a bare host or a
 * bare IPv6 address. Null when it is not one.
 */
export function parseHostPort(text: string): { host: string; port: number | null } | null {
  const t = text.trim()
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(t)
  if (bracketed) {
    if (isIP(bracketed[1]!) !== 6) return null
    return { host: bracketed[1]!, port: bracketed[2] === undefined ? null : Number(bracketed[2]) }
  }
  if (isIP(t) === 6) return { host: t, port: null }
  const m = /^([^\s:/[\]]+)(?::(\d{1,5}))?$/.exec(t)
  if (!m) return null
  const port = m[2] === undefined ? null : Number(m[2])
  if (port !== null && (port < 1 || port > 65535)) return null
  return { host: m[1]!, port }
}

/** A `--dns-server` value: an IP address with an optional port (`127.0.0.1:5353`, `[::1]:53`). */
export function parseDnsServer(text: string, field: string): string {
  const t = text.trim()
  const a = parseHostPort(t)
  if (!a || isIP(a.host) === 0)
    throw new InvalidInputError(
      `${field}: "${text}" is not a DNS server address`,
      'an IP address with an optional port, e.g. 10.96.0.10, 127.0.0.1:5353 or [::1]:53',
    )
  // node:dns setServers takes IPv6 with a port only in brackets.
  const host = isIP(a.host) === 6 ? `[${a.host}]` : a.host
  return a.port === null ? a.host : `${host}:${a.port}`
}

/** A `--max-parallel` value: a whole number from 1 to 10 000. */
export function parseMaxParallel(text: string, field: string): number {
  const n = Number(text.trim())
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new InvalidInputError(
      `${field}: "${text}" is not a number of parallel calls`,
      'a whole number from 1 to 10000, e.g. 64 (the default)',
    )
  return n
}

/** The default bound on concurrent control calls per fan-out (`--max-parallel`). */
export const DEFAULT_MAX_PARALLEL = 64
