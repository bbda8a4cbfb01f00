/**
 * The instances `chaos status` and `chaos stop` act on: the static targets and, with discovery
 * configured, every instance the sources report now (docs/discovery.md). Static ones come first;
 * a discovered URL that is also static is the static one.
 */
import type { ChaosConfig } from '../config.js'
import type { DiscoveredInstance } from '../record.js'
import { InvalidInputError } from '../errors.js'
import { requireTarget, type ResolvedTarget, type TargetFlagValues } from './target.js'

/** The operator's view of one instance: where it came from and whether its source reports it DOWN. */
export type FleetInstance = DiscoveredInstance

export interface Fleet extends ResolvedTarget {
  /** Every instance, static first then discovered sorted by URL, de-duplicated by URL. */
  instances: FleetInstance[]
  /**
   * The sources that could not be asked (Prometheus unreachable, NXDOMAIN), one line each naming
   * the spec. The others' instances are still listed: an emergency stop must not wait for every source.
   */
  sourceErrors: string[]
}

/**
 * Resolves the target and asks every discovery source once, each on its own so that one failing
 * source does not hide the instances of the others.
 */
export async function resolveFleet(
  flags: TargetFlagValues,
  config: ChaosConfig,
  signal?: AbortSignal,
): Promise<Fleet> {
  const target = requireTarget(flags, config)
  const instances: FleetInstance[] = target.targets.map((url) => ({
    url: url.replace(/\/+$/, ''),
    source: 'static',
    state: 'UP',
    reason: null,
  }))
  const sourceErrors: string[] = []
  if (target.discovery) {
    const [{ discoverInstances }, { ChaosError }] = await Promise.all([
      import('../discovery/discover.js'),
      import('../errors.js'),
    ])
    const d = target.discovery
    const options = {
      instanceUrl: d.instanceUrl,
      ...(d.prometheusUrl !== undefined && { prometheusUrl: d.prometheusUrl }),
      ...(d.dnsServers !== undefined && { dnsServers: d.dnsServers }),
      ...(signal && { signal }),
    }
    const perSpec = await Promise.all(
      d.specs.map(async (spec) => {
        try {
          return await discoverInstances([spec], options)
        } catch (err) {
          if (!(err instanceof ChaosError) || signal?.aborted) throw err
          sourceErrors.push(err.hint ? `${err.message} (hint: ${err.hint})` : err.message)
          return []
        }
      }),
    )
    const byUrl = new Map<string, FleetInstance>()
    for (const i of perSpec.flat()) {
      const seen = byUrl.get(i.url)
      if (!seen || (seen.state === 'DOWN' && i.state === 'UP'))
        byUrl.set(i.url, seen ? { ...i, source: seen.source } : i)
    }
    const statics = new Set(instances.map((i) => i.url))
    instances.push(
      ...[...byUrl.values()]
        .filter((i) => !statics.has(i.url))
        .sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0)),
    )
  }
  return { ...target, instances, sourceErrors }
}

/**
 * The instances a check should look at (`chaos doctor`): the static targets, or with discovery the
 * instances that are UP now; DOWN ones and the sources that could not be asked are returned apart.
 * Throws InvalidInputError when discovery finds no instance that is up.
 */
export async function upInstances(
  flags: TargetFlagValues,
  config: ChaosConfig,
  signal?: AbortSignal,
): Promise<{ targets: string[]; skipped: Array<{ url: string; reason: string }>; sourceErrors: string[] }> {
  const target = requireTarget(flags, config)
  if (!target.discovery) return { targets: target.targets, skipped: [], sourceErrors: [] }
  const fleet = await resolveFleet(flags, config, signal)
  const targets = fleet.instances.filter((i) => i.state === 'UP').map((i) => i.url)
  if (targets.length === 0)
    throw new InvalidInputError(
      `discovery found no instance that is up (${fleet.instances.length} found${fleet.sourceErrors.length > 0 ? `; ${fleet.sourceErrors.join('; ')}` : ''})`,
      'check the sources with chaos status --discover ...',
    )
  const skipped = fleet.instances
    .filter((i) => i.state === 'DOWN')
    .map((i) => ({ url: i.url, reason: i.reason ?? 'reported down by its source' }))
  return { targets, skipped, sourceErrors: fleet.sourceErrors }
}
