/** Phase 1, preflight (guide section 7): nothing is injected unless every condition holds. */
import { BLAST_RADII, normalizeEnvironment, PRODUCTION } from '../../protocol/schemas.js'
import type { MeasureName } from '../../scenario/checks.js'
import { ControlError, UnreachableError } from '../control-client.js'
import { PROBE_METRICS, type ProbeSample } from '../probe.js'
import { describeRoute, ROUTE_FIX } from '../route-check.js'
import type { DiscoveredInstance } from '../../record.js'
import { fanOut } from '../fan-out.js'
import { instanceState, log, progress, reachOf, readAll, Stop, type ExperimentContext } from './context.js'

/**
 * Throws Stop('ABORTED') on a refusal (cause PREFLIGHT_REFUSED: the advice is to fix what it names,
 * not "bring the system to its steady state"), Stop('FAILED') when a target cannot be asked.
 */
export async function preflight(ctx: ExperimentContext): Promise<void> {
  try {
    await preflightChecks(ctx)
  } catch (err) {
    if (err instanceof Stop && err.state === 'ABORTED' && err.abortCause === undefined)
      throw new Stop('ABORTED', err.message, 'PREFLIGHT_REFUSED')
    throw err
  }
}

async function preflightChecks(ctx: ExperimentContext): Promise<void> {
  const { scenario, options } = ctx
  const fault = scenario.fault_config
  progress(ctx, 'preflight', null)
  if (!fault.enabled)
    throw new Stop(
      'ABORTED',
      'fault_config.enabled is false: this scenario is kept in the catalogue but never injected',
    )
  if (fault.blast_radius === 'ENTIRE_SYSTEM' && !options.sandbox && !options.allowEntireSystem) {
    throw new Stop(
      'ABORTED',
      'ENTIRE_SYSTEM blast radius on a real target needs --allow-entire-system (guide section 7: escalate only after phases 1-4)',
    )
  }
  if (!BLAST_RADII.includes(fault.blast_radius))
    throw new Stop('ABORTED', `unknown blast radius ${String(fault.blast_radius)}`)
  const environments = await preflightInstances(ctx)
  await preflightMetrics(ctx)
  const routeChecks = await preflightRoutes(ctx)
  log(ctx, 'chaos_preflight_passed', {
    instances: ctx.clients.length,
    ...(ctx.record.discovery && { skipped: ctx.record.discovery.skipped.length }),
    environment: ctx.clients.map((c) => environments.get(c.target) ?? 'unknown').join(', '),
    // The route check's requests reach the target too (untagged, outside every phase's counts).
    route_checks: routeChecks,
  })
}

/**
 * Finds the experiment's instances (static targets, and discovery when configured), reads each
 * one's `GET /chaos` at once (bounded), and keeps the usable ones as `ctx.clients`. A static
 * target that cannot be read fails the experiment, as it always has; a discovered one that is
 * DOWN or cannot be read is skipped (recorded with why). A cluster-wide fault refuses when any
 * instance found is skipped; any fault refuses when no instance is usable. Then every usable
 * instance must pass the agent's checks (environment, service wrapped, nothing running).
 * Returns each read instance's environment, by url.
 */
async function preflightInstances(ctx: ExperimentContext): Promise<Map<string, string | null>> {
  const { scenario, options, deps, signal } = ctx
  let found
  try {
    found = deps.findInstances ? await deps.findInstances(signal) : undefined
  } catch (err) {
    if (signal.aborted) throw err
    throw new Stop('FAILED', `preflight: discovery failed: ${(err as Error).message}`)
  }
  signal.throwIfAborted()
  const clients = found ? found.clients : deps.clients
  const probes = found ? found.probes : deps.probes
  const entries: DiscoveredInstance[] = found
    ? found.found
    : clients.map((c) => ({ url: c.target, source: 'static', state: 'UP', reason: null }))
  const skipped: Array<{ url: string; reason: string }> = []
  if (found) ctx.record.discovery = { sources: found.sources, found: found.found, skipped }
  const discovered = (i: number) => entries[i]?.source !== 'static'
  const asked: number[] = []
  clients.forEach((c, i) => {
    if (discovered(i) && entries[i]?.state === 'DOWN')
      skipped.push({ url: c.target, reason: entries[i].reason ?? 'the discovery source reports it down' })
    else asked.push(i)
  })
  const infos = await fanOut(asked, (i) => clients[i]!.info(signal), { maxParallel: options.maxParallel })
  signal.throwIfAborted()
  const usable: number[] = []
  const environments = new Map<string, string | null>()
  for (const [k, settled] of infos.entries()) {
    const i = asked[k]!
    const client = clients[i]!
    if (settled.status === 'rejected') {
      if (!discovered(i)) throw unreadableInstance(client.target, settled.reason)
      skipped.push({ url: client.target, reason: skipReason(client.target, settled.reason) })
      continue
    }
    const info = settled.value
    // Normalised here too: an agent in another language may still say "Production" or "prod".
    const environment = normalizeEnvironment(info.environment) ?? null
    environments.set(client.target, environment)
    deps.onEnvironment?.([...environments].map(([url, e]) => ({ url, environment: e })))
    if (environment === PRODUCTION && options.allowProduction !== true) {
      throw new Stop(
        'ABORTED',
        `preflight: ${client.target} reports environment "production"; nothing was injected (pass --allow-production to run experiments in production deliberately)`,
      )
    }
    if (!info.services.includes(scenario.target_service)) {
      throw new Stop(
        'ABORTED',
        `preflight: target service "${scenario.target_service}" is not wrapped on ${client.target} (known: ${info.services.join(', ') || 'none'})`,
      )
    }
    if (info.active_experiments.length > 0) {
      throw new Stop(
        'ABORTED',
        `preflight: experiment ${info.active_experiments.map((e) => e.id).join(', ')} already running on ${client.target} (one at a time)`,
      )
    }
    usable.push(i)
  }
  // In the order found (static first, then by url), whichever way each was skipped.
  const order = new Map(clients.map((c, i) => [c.target, i]))
  skipped.sort((x, y) => order.get(x.url)! - order.get(y.url)!)
  const radius = scenario.fault_config.blast_radius
  if ((radius === 'SERVICE_CLUSTER' || radius === 'ENTIRE_SYSTEM') && skipped.length > 0)
    throw new Stop(
      'ABORTED',
      `preflight: a cluster-wide fault cannot reach ${skipped.map((s) => `${s.url}: ${s.reason}`).join('; ')}; nothing was injected`,
    )
  if (usable.length === 0)
    throw new Stop(
      'ABORTED',
      `preflight: no usable instance${skipped.length > 0 ? ` (skipped: ${skipped.map((s) => `${s.url}: ${s.reason}`).join('; ')})` : ' was found'}; nothing was injected`,
    )
  ctx.clients = usable.map((i) => clients[i]!)
  ctx.probes = deps.fleetProbe ? [deps.fleetProbe] : usable.map((i) => probes[i]!)
  ctx.reach = reachOf(scenario, ctx.clients)
  for (const c of ctx.clients) instanceState(ctx, c.target)
  return environments
}

/**
 * Why a discovered instance was skipped, without the url it is listed under ("unreachable:
 * ECONNREFUSED", "refused the token (401)"): the record and the refusal already name it.
 */
function skipReason(target: string, err: unknown): string {
  const message = unreadableInstance(target, err).message.replace(/^preflight: /, '')
  return message.startsWith(`${target} `) ? message.slice(target.length + 1) : message
}

/**
 * With the fleet's counters read from Prometheus (`--metrics-source prometheus`): a selector that
 * selects no target is a mistake (a typo in the job name), not a fleet that counts nothing: refused.
 */
async function preflightFleetSelector(ctx: ExperimentContext): Promise<void> {
  const probe = ctx.deps.fleetProbe
  if (!probe?.check) return
  let selected: { instances: string[]; up: number }
  try {
    selected = await probe.check(ctx.signal)
  } catch (err) {
    if (ctx.signal.aborted) throw err
    throw new Stop(
      'FAILED',
      `preflight: Prometheus cannot be asked for the fleet's metrics: ${(err as Error).message}`,
    )
  }
  if (selected.instances.length === 0)
    throw new Stop(
      'ABORTED',
      `preflight: the fleet's metrics selector {${probe.selector ?? ''}} selects no target in Prometheus (up{${probe.selector ?? ''}} is empty); nothing was injected (fix --metrics-selector, config metrics_selector)`,
    )
}

/** Why an instance's `GET /chaos` could not be used, as a Stop('FAILED') naming it. */
function unreadableInstance(target: string, err: unknown): Stop {
  if (err instanceof UnreachableError) return new Stop('FAILED', `preflight: ${err.message}`)
  if (err instanceof ControlError && err.status === 404)
    return new Stop('FAILED', `preflight: ${target} has no chaos control endpoint (agent not enabled?)`)
  if (err instanceof ControlError && err.status === 401)
    return new Stop('FAILED', `preflight: ${target} refused the token (401)`)
  return new Stop('FAILED', `preflight: ${(err as Error).message}`)
}

/**
 * The doctor's route check (one request per workload route): a workload that fails before any
 * fault — routes the service does not have, a service that errors anyway — could only end in
 * "steady state did not hold" after a whole baseline; refused now with what each route answered.
 * Returns how many requests it sent.
 */
async function preflightRoutes(ctx: ExperimentContext): Promise<number> {
  const { deps, signal } = ctx
  if (!deps.checkRoutes) return 0
  const results = await deps.checkRoutes(
    signal,
    ctx.clients.map((c) => c.target),
  )
  const failed = results.filter((r) => !r.ok)
  if (failed.length === 0) return results.length
  const where = failed[0]!.url.slice(0, failed[0]!.url.length - failed[0]!.path.length)
  throw new Stop(
    'ABORTED',
    `preflight: ${failed.length} of ${results.length} workload route${results.length === 1 ? '' : 's'} failed before any fault on ${where}: ${failed.map(describeRoute).join('; ')}; nothing was injected (${ROUTE_FIX}; chaos doctor checks them)`,
  )
}

/** The built-in measures read from a target counter, and the probe field that holds it. */
const COUNTER_MEASURES: ReadonlyArray<{ measure: MeasureName; field: 'breaker_trips' | 'faults_injected' }> =
  [
    { measure: 'circuit_breaker_trips', field: 'breaker_trips' },
    { measure: 'faults_injected', field: 'faults_injected' },
  ]

/**
 * Scrapes every instance's `/metrics` once, before anything is injected. `/metrics` itself is
 * required (the run reads faults and breaker trips from it, and aborts after 3 unreadable polls):
 * unreadable → refused. A metric family the target does not export is named now, not discovered
 * as a silent 0 later: a `before` check that needs it refuses the run (the steady state cannot be
 * shown); `during`/`after` checks that need it are marked not evaluated (the run then ends
 * INCONCLUSIVE), with a `chaos_preflight_metrics_missing` warning and a live line. The faults
 * counter is also counted by the control API (the DELETE answer), so its absence alone costs no check.
 */
async function preflightMetrics(ctx: ExperimentContext): Promise<void> {
  const { signal, scenario } = ctx
  await preflightFleetSelector(ctx)
  const readings = await readAll(ctx, signal)
  signal.throwIfAborted()
  const unreadable = readings.findIndex((r) => r === null)
  if (unreadable >= 0)
    throw new Stop(
      'ABORTED',
      ctx.deps.fleetProbe
        ? `preflight: the fleet's metrics cannot be read from Prometheus (--metrics-source prometheus); the runner counts faults and breaker trips there; nothing was injected`
        : `preflight: the metrics of ${ctx.clients[unreadable]?.target ?? 'the target'} cannot be read; /metrics is required (the runner counts faults and breaker trips there); nothing was injected`,
    )
  const samples = readings as ProbeSample[]
  const missing: Array<{ metric: string; checks: string[] }> = []
  for (const { measure, field } of COUNTER_MEASURES) {
    if (samples.every((s) => s[field] !== null)) continue
    const metric = PROBE_METRICS[field]
    const checks = scenario.checks.filter((c) => c.measure.kind === 'builtin' && c.measure.name === measure)
    const before = checks.filter((c) => c.phase === 'before')
    if (field === 'breaker_trips' && before.length > 0)
      throw new Stop(
        'ABORTED',
        `preflight: the target exports no ${metric}, which check "${before[0]!.expression}" needs to show the steady state before injection; nothing was injected`,
      )
    if (field === 'breaker_trips') ctx.unmeasured.set(measure, `the target exports no ${metric}`)
    missing.push({ metric, checks: field === 'breaker_trips' ? checks.map((c) => c.expression) : [] })
  }
  if (missing.length === 0) return
  const message = missing
    .map(({ metric, checks }) =>
      checks.length > 0
        ? `the target exports no ${metric}: not evaluated: ${checks.map((c) => `"${c}"`).join(', ')}`
        : `the target exports no ${metric}: faults are counted from the control API only`,
    )
    .join('; ')
  // Journaled and printed live (a warning event), before anything is injected.
  ctx.deps.events.warn('chaos_preflight_metrics_missing', {
    experiment_id: scenario.id,
    injected_as: ctx.id,
    message,
    missing,
  })
}
