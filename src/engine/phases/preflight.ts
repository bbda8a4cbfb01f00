/** Phase 1, preflight (guide section 7): nothing is injected unless every condition holds. */
import { BLAST_RADII, normalizeEnvironment, PRODUCTION } from '../../protocol/schemas.js'
import type { MeasureName } from '../../scenario/checks.js'
import { ControlError, UnreachableError } from '../control-client.js'
import { PROBE_METRICS, type ProbeSample } from '../probe.js'
import { describeRoute, ROUTE_FIX } from '../route-check.js'
import { Stop, log, progress, type ExperimentContext } from './context.js'

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
  const { scenario, options, deps, signal } = ctx
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
  const environments: Array<string | null> = []
  for (const client of deps.clients) {
    let info
    try {
      info = await client.info(signal)
    } catch (err) {
      if (signal.aborted) throw err
      if (err instanceof UnreachableError) throw new Stop('FAILED', `preflight: ${err.message}`)
      if (err instanceof ControlError && err.status === 404) {
        throw new Stop(
          'FAILED',
          `preflight: ${client.target} has no chaos control endpoint (agent not enabled?)`,
        )
      }
      if (err instanceof ControlError && err.status === 401)
        throw new Stop('FAILED', `preflight: ${client.target} refused the token (401)`)
      throw new Stop('FAILED', `preflight: ${(err as Error).message}`)
    }
    // Normalised here too: an agent in another language may still say "Production" or "prod".
    const environment = normalizeEnvironment(info.environment) ?? null
    environments.push(environment)
    deps.onEnvironment?.(environments)
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
  }
  await preflightMetrics(ctx)
  const routeChecks = await preflightRoutes(ctx)
  log(ctx, 'chaos_preflight_passed', {
    instances: deps.clients.length,
    environment: environments.map((e) => e ?? 'unknown').join(', '),
    // The route check's requests reach the target too (untagged, outside every phase's counts).
    route_checks: routeChecks,
  })
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
  const results = await deps.checkRoutes(signal)
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
  const { deps, signal, scenario } = ctx
  const readings = await Promise.all(
    deps.probes.map((p) => p.sample(ctx.id, scenario.target_service, signal).catch(() => null)),
  )
  signal.throwIfAborted()
  const unreadable = readings.findIndex((r) => r === null)
  if (unreadable >= 0)
    throw new Stop(
      'ABORTED',
      `preflight: the metrics of ${deps.clients[unreadable]?.target ?? 'the target'} cannot be read; /metrics is required (the runner counts faults and breaker trips there); nothing was injected`,
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
