/** Phase 1, preflight (guide section 7): nothing is injected unless every condition holds. */
import { BLAST_RADII } from '../../protocol/schemas.js'
import { ControlError, UnreachableError } from '../control-client.js'
import { Stop, log, progress, type ExperimentContext } from './context.js'

/** Throws Stop('ABORTED') on a refusal, Stop('FAILED') when a target cannot be asked. */
export async function preflight(ctx: ExperimentContext): Promise<void> {
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
  log(ctx, 'chaos_preflight_passed', { instances: deps.clients.length })
}
