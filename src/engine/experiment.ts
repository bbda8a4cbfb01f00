/**
 * The lifecycle of one experiment: preflight → baseline → inject → observe → rollback (always,
 * in `finally`) → recovery → verdict. Each phase is a function of an explicit context
 * (`phases/`); this file only says in which order they run. The single result is an
 * {@link ExperimentRecord}.
 *
 * The engine never touches `process`: it gets a clock, a logger (the event journal), an
 * AbortSignal (Ctrl-C, SIGTERM) and its ports (control clients, workload, metrics probes).
 */
import type { ExperimentRecord } from '../record.js'
import type { Scenario } from '../scenario/schema.js'
import { baseline } from './phases/baseline.js'
import { createContext, toStop, type ExperimentDeps, type ExperimentOptions } from './phases/context.js'
import { inject } from './phases/inject.js'
import { observe } from './phases/observe.js'
import { preflight } from './phases/preflight.js'
import { recovery } from './phases/recovery.js'
import { rollbackPhase } from './phases/rollback.js'
import { finish, measureDuring, settleState } from './phases/verdict.js'

export type { ExperimentDeps, ExperimentOptions, ExperimentPhase, Progress } from './phases/context.js'

/** Runs one experiment end to end and returns its record. Never throws for expected failures. */
export async function runExperiment(
  scenario: Scenario,
  options: ExperimentOptions,
  deps: ExperimentDeps,
  signal: AbortSignal,
): Promise<ExperimentRecord> {
  const record = blankRecord(scenario, 'COMPLETED')
  const ctx = createContext(scenario, options, deps, signal, record)
  record.started_at = new Date(deps.clock.now()).toISOString()
  try {
    await preflight(ctx)
    await baseline(ctx)
    await inject(ctx)
    await observe(ctx)
  } catch (err) {
    ctx.stop = toStop(err, signal)
    const event = {
      ABORTED: 'chaos_experiment_aborted',
      FAILED: 'chaos_experiment_failed',
      INTERRUPTED: 'chaos_experiment_interrupted',
    }[ctx.stop.state]
    deps.events.log(ctx.stop.state === 'INTERRUPTED' ? 'info' : 'warn', event, {
      experiment_id: scenario.id,
      injected_as: ctx.id,
      reason: ctx.stop.message,
      injected: ctx.injected.length > 0,
    })
  } finally {
    await rollbackPhase(ctx)
  }
  settleState(ctx)
  await measureDuring(ctx)
  if (ctx.workload && ctx.marks.rolledBack !== undefined && record.state === 'COMPLETED') await recovery(ctx)
  await finish(ctx)
  return record
}

/** A record of a scenario with nothing measured yet, in the given state. */
export function blankRecord(scenario: Scenario, state: ExperimentRecord['state']): ExperimentRecord {
  return {
    id: scenario.id,
    name: scenario.name,
    category: scenario.category,
    target_service: scenario.target_service,
    steady_state_hypothesis: scenario.steady_state_hypothesis,
    fault_config: scenario.fault_config,
    blast_radius: scenario.fault_config.blast_radius,
    duration_seconds: scenario.duration_seconds,
    state,
    started_at: null,
    injected_at: null,
    rolled_back_at: null,
    finished_at: null,
    hypothesis_held: null,
    inconclusive_reason: null,
    metrics: { baseline: null, during: null, recovery: null, mttr_seconds: null, recovered: false },
    checks: [],
    abort_reason: null,
    error: null,
    rollback: {
      attempted: false,
      verified: false,
      attempts: 0,
      method: null,
      error: null,
      faults_after_rollback: null,
    },
    timeseries: [],
    analysis: [],
  }
}
