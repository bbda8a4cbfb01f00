/**
 * Discovery: the instances of a fleet as the systems a team already runs see them — Prometheus
 * (an instant query's `instance` labels, or the targets API) and DNS (A/AAAA of a name, e.g. a
 * Kubernetes headless Service, and SRV). A source that cannot be asked (Prometheus unreachable,
 * NXDOMAIN) is a {@link RuntimeFailure} naming the spec; a source that answers with nothing is an
 * empty list: whether that is fatal is the caller's decision (docs/discovery.md).
 */
import { Resolver } from 'node:dns/promises'
import { isIP } from 'node:net'
import { z } from 'zod'
import { InvalidInputError, RuntimeFailure } from '../errors.js'
import { createDispatcher, FetchFailure, getText } from '../metrics/http-get.js'
import { createPromqlClient, PromqlError } from '../metrics/promql.js'
import type { DiscoveredInstance } from '../record.js'
import { DEFAULT_INSTANCE_URL, parseHostPort, renderInstanceUrl, type DiscoverSpec } from './spec.js'

export type { DiscoverSpec } from './spec.js'

/** Where and how to discover. */
export interface DiscoverOptions {
  /** Prometheus base URL (`--prometheus`); required by `prometheus:` and `prometheus-targets:` specs. */
  prometheusUrl?: string
  /** DNS servers (`--dns-server`, `ip` or `ip:port`); default: the system's resolvers. */
  dnsServers?: readonly string[]
  /** Control URL template (`--instance-url`); default `http://{address}`. */
  instanceUrl?: string
  signal?: AbortSignal
  /** Timeout of one Prometheus request or one DNS query (default 5 000 ms). */
  timeoutMs?: number
}

/** One address a source reported, before the template. */
interface Found {
  host: string
  port: number | null
  state: 'UP' | 'DOWN'
  reason: string | null
}

/**
 * Asks every source in `specs` (concurrently) and returns the instances found, de-duplicated by
 * control URL (the first spec that found one names its source) and sorted by URL.
 */
export async function discoverInstances(
  specs: readonly DiscoverSpec[],
  options: DiscoverOptions = {},
): Promise<DiscoveredInstance[]> {
  const template = options.instanceUrl ?? DEFAULT_INSTANCE_URL
  const perSpec = await Promise.all(specs.map((spec) => discoverOne(spec, options)))
  const byUrl = new Map<string, DiscoveredInstance>()
  specs.forEach((spec, i) => {
    for (const f of perSpec[i]!) {
      let url: string
      try {
        url = renderInstanceUrl(template, f)
      } catch (err) {
        throw new RuntimeFailure(
          `--discover ${spec.text}: ${(err as Error).message}`,
          spec.kind === 'dns'
            ? `give the port in the spec (${spec.text}:8080) or drop {port} from --instance-url`
            : 'put the port in --instance-url, e.g. http://{host}:8080',
        )
      }
      const existing = byUrl.get(url)
      // Several series of one instance (or one address in two sources): UP wins, so a stale DOWN
      // series does not hide a live instance.
      if (!existing || (existing.state === 'DOWN' && f.state === 'UP'))
        byUrl.set(url, { url, source: existing?.source ?? spec.text, state: f.state, reason: f.reason })
    }
  })
  return [...byUrl.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))
}

function discoverOne(spec: DiscoverSpec, options: DiscoverOptions): Promise<Found[]> {
  switch (spec.kind) {
    case 'prometheus':
      return fromPromql(spec, requirePrometheus(spec, options), options)
    case 'prometheus-targets':
      return fromTargets(spec, requirePrometheus(spec, options), options)
    case 'dns':
      return fromDns(spec, options)
    case 'dns+srv':
      return fromSrv(spec, options)
  }
}

function requirePrometheus(spec: DiscoverSpec, options: DiscoverOptions): string {
  if (!options.prometheusUrl)
    throw new InvalidInputError(
      `--discover ${spec.text}: no Prometheus to ask`,
      'pass --prometheus URL (or prometheus: in chaos.config.yaml), e.g. --prometheus http://127.0.0.1:9090',
    )
  return options.prometheusUrl
}

/** An address from a Prometheus `instance` label, or a RuntimeFailure naming the spec. */
function addressOf(
  spec: DiscoverSpec,
  instance: string | undefined,
  what: string,
): { host: string; port: number | null } {
  const address = instance === undefined ? null : parseHostPort(instance)
  if (!address)
    throw new RuntimeFailure(
      `--discover ${spec.text}: ${what} has ${instance === undefined ? 'no instance label' : `instance label "${instance}", not host:port`}`,
      'select series that carry the scrape target\'s instance label, e.g. up{job="hotel"}',
    )
  return address
}

async function fromPromql(
  spec: Extract<DiscoverSpec, { kind: 'prometheus' }>,
  baseUrl: string,
  options: DiscoverOptions,
): Promise<Found[]> {
  const client = createPromqlClient({ baseUrl, timeoutMs: options.timeoutMs })
  try {
    const result = await client.instant(spec.query, { signal: options.signal })
    if (result.type !== 'vector')
      throw new RuntimeFailure(
        `--discover ${spec.text}: the query returned a scalar, not one series per instance`,
        'query a vector with an instance label, e.g. prometheus:up{job="hotel"}',
      )
    return result.samples.map((s) => {
      const { instance, __name__: name } = s.metric
      const labels = Object.entries(s.metric)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')
      const address = addressOf(spec, instance, `series {${labels}}`)
      const up = s.value !== 0
      return {
        ...address,
        state: up ? 'UP' : 'DOWN',
        reason: up ? null : `Prometheus reports ${name ?? spec.query} == 0`,
      }
    })
  } catch (err) {
    if (err instanceof PromqlError)
      throw new RuntimeFailure(
        `--discover ${spec.text}: ${err.message}`,
        err.hint ?? 'check --prometheus and that Prometheus is up',
      )
    throw err
  } finally {
    await client.close()
  }
}

const TargetsResponse = z.object({
  status: z.literal('success'),
  data: z.object({
    activeTargets: z.array(
      z.object({
        labels: z.record(z.string(), z.string()),
        scrapePool: z.string().optional(),
        scrapeUrl: z.string().optional(),
        health: z.string(),
        lastError: z.string().optional(),
      }),
    ),
  }),
})

async function fromTargets(
  spec: Extract<DiscoverSpec, { kind: 'prometheus-targets' }>,
  baseUrl: string,
  options: DiscoverOptions,
): Promise<Found[]> {
  let endpoint: URL
  try {
    endpoint = new URL(baseUrl)
  } catch {
    throw new InvalidInputError(
      `--prometheus: "${baseUrl}" is not a URL`,
      'e.g. --prometheus http://127.0.0.1:9090',
    )
  }
  endpoint.pathname = `${endpoint.pathname.replace(/\/+$/, '')}/api/v1/targets`
  endpoint.searchParams.set('state', 'active')
  const dispatcher = createDispatcher()
  let text: string
  try {
    ;({ text } = await getText(endpoint.href, {
      timeoutMs: options.timeoutMs ?? 5000,
      headers: { accept: 'application/json' },
      signal: options.signal,
      dispatcher,
    }))
  } catch (err) {
    if (err instanceof FetchFailure)
      throw new RuntimeFailure(
        `--discover ${spec.text}: ${err.message}`,
        'check --prometheus and that Prometheus is up',
      )
    throw err
  } finally {
    await dispatcher.close()
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const parsed = TargetsResponse.safeParse(json)
  if (!parsed.success)
    throw new RuntimeFailure(
      `--discover ${spec.text}: ${endpoint.origin} did not answer like the Prometheus targets API`,
      'check --prometheus: the Prometheus base URL, e.g. http://127.0.0.1:9090',
    )
  return parsed.data.data.activeTargets
    .filter((t) => t.labels.job === spec.job || t.scrapePool === spec.job)
    .map((t) => {
      const address = addressOf(spec, t.labels.instance, `target ${t.scrapeUrl ?? '(no scrape URL)'}`)
      if (t.health === 'up') return { ...address, state: 'UP' as const, reason: null }
      const reason =
        t.health === 'down'
          ? `Prometheus target health down${t.lastError ? `: ${t.lastError}` : ''}`
          : 'Prometheus has not scraped it yet (health unknown)'
      return { ...address, state: 'DOWN' as const, reason }
    })
}

function resolver(options: DiscoverOptions): Resolver {
  const r = new Resolver({ timeout: options.timeoutMs ?? 5000, tries: 2 })
  if (options.dnsServers && options.dnsServers.length > 0) r.setServers([...options.dnsServers])
  options.signal?.addEventListener('abort', () => r.cancel(), { once: true })
  return r
}

/** Codes of a name that exists without records of the asked type: an empty answer. */
const NO_DATA = new Set(['ENODATA'])

async function lookup<T>(query: () => Promise<T[]>): Promise<T[]> {
  try {
    return await query()
  } catch (err) {
    if (NO_DATA.has((err as NodeJS.ErrnoException).code ?? '')) return []
    throw err
  }
}

/** A and AAAA records of `name`; throws the resolver's error (NXDOMAIN, timeout). */
async function addressesOf(r: Resolver, name: string): Promise<string[]> {
  if (isIP(name) !== 0) return [name]
  const [v4, v6] = await Promise.all([lookup(() => r.resolve4(name)), lookup(() => r.resolve6(name))])
  return [...v4, ...v6]
}

function dnsFailure(
  spec: DiscoverSpec,
  name: string,
  err: unknown,
  options: DiscoverOptions,
): RuntimeFailure {
  if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : err
  const code = (err as NodeJS.ErrnoException).code
  const servers = options.dnsServers?.length ? options.dnsServers.join(', ') : 'the system resolvers'
  const what =
    code === 'ENOTFOUND'
      ? `${name} does not exist (NXDOMAIN)`
      : code === 'ETIMEOUT'
        ? `no answer for ${name} from ${servers}`
        : code === 'ECONNREFUSED'
          ? `${servers} refused the query for ${name}`
          : `${name}: ${code ?? (err as Error).message}`
  return new RuntimeFailure(
    `--discover ${spec.text}: ${what}`,
    `check the name and --dns-server (asked ${servers})`,
  )
}

async function fromDns(
  spec: Extract<DiscoverSpec, { kind: 'dns' }>,
  options: DiscoverOptions,
): Promise<Found[]> {
  const r = resolver(options)
  let ips: string[]
  try {
    ips = await addressesOf(r, spec.name)
  } catch (err) {
    throw dnsFailure(spec, spec.name, err, options)
  }
  return ips.map((host) => ({ host, port: spec.port, state: 'UP' as const, reason: null }))
}

async function fromSrv(
  spec: Extract<DiscoverSpec, { kind: 'dns+srv' }>,
  options: DiscoverOptions,
): Promise<Found[]> {
  const r = resolver(options)
  let records: { name: string; port: number }[]
  try {
    records = await lookup(() => r.resolveSrv(spec.name))
  } catch (err) {
    throw dnsFailure(spec, spec.name, err, options)
  }
  const found = await Promise.all(
    records.map(async (rec): Promise<Found[]> => {
      const target = rec.name.replace(/\.$/, '')
      try {
        const ips = await addressesOf(r, target)
        return ips.map((host) => ({ host, port: rec.port, state: 'UP' as const, reason: null }))
      } catch (err) {
        // The SRV record names a host that does not resolve: that instance cannot be reached.
        if (options.signal?.aborted) throw err
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
        return [
          {
            host: target,
            port: rec.port,
            state: 'DOWN' as const,
            reason: `SRV target ${target} does not resolve (${code})`,
          },
        ]
      }
    }),
  )
  return found.flat()
}
