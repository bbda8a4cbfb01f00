/**
 * The instances `chaos status` and `chaos stop` act on: the static targets and, with discovery
 * configured, every instance the sources report now (docs/discovery.md). Static ones come first;
 * a discovered URL that is also static is the static one.
 */
import type { ChaosConfig } from '../config.js'
import type { DiscoveredInstance } from '../record.js'
import { mergeInstances } from '../engine/fan-out.js'
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
  const sourceErrors: string[] = []
  const byUrl = new Map<string, FleetInstance>()
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
    // The same instance from several sources: UP wins (one source may not have seen it recover).
    for (const i of perSpec.flat()) {
      const seen = byUrl.get(i.url)
      if (!seen || (seen.state === 'DOWN' && i.state === 'UP'))
        byUrl.set(i.url, seen ? { ...i, source: seen.source } : i)
    }
  }
  // Static first, then discovered by url, de-duplicated: the order the engine uses for a run.
  const instances = mergeInstances(target.targets, [...byUrl.values()])
  return { ...target, instances, sourceErrors }
}

/** Each per-instance result (in the order of `fleet.instances`) with where its instance came from. */
export function withSource<T extends object>(
  fleet: Fleet,
  results: readonly T[],
): Array<T & Pick<FleetInstance, 'source' | 'state' | 'reason'>> {
  return results.map((r, i) => {
    const { source, state, reason } = fleet.instances[i]!
    return { ...r, source, state, reason }
  })
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
