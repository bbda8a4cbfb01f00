/** Phase 2, baseline: the steady state must hold before anything is broken. */
import { sleep } from '../../clock.js'
import { EXPERIMENT_HEADER } from '../../protocol/schemas.js'
import { allHeld } from '../evaluate.js'
import { checksIn, log, progress, recentWindow, sampleAll, Stop, type ExperimentContext } from './context.js'
import { evaluateChecks, fetchPromql, promqlQueries } from './checks.js'
import { phaseMetrics } from './measure.js'
import { settle } from './settle.js'
import { unservedRoutes, unservedRoutesSentence } from '../../interpretation/routes.js'

/**
 * Starts the workload, observes for the baseline duration, measures it, and evaluates the
 * `before` checks. Also fetches every PromQL query used with a baseline bound, so that
 * `` `query` < 2x baseline during `` compares with a real baseline value. Throws Stop('ABORTED')
 * when the steady state does not hold: then nothing is injected.
 */
export async function baseline(ctx: ExperimentContext): Promise<void> {
  const { clock, signal, options, scenario } = ctx
  const workload = ctx.deps.createWorkload(
    ctx.deps.tagHeaders?.(ctx.id) ?? { [EXPERIMENT_HEADER]: ctx.id },
    ctx.clients.map((c) => c.target),
  )
  ctx.workload = workload
  const timeline = workload.start()
  ctx.marks.start = timeline.t0
  ctx.probe.atStart = (await sampleAll(ctx, signal)) ?? ctx.probe.atStart

  const until = clock.monotonic() + options.baselineMs
  for (let left = until - clock.monotonic(); left > 0; left = until - clock.monotonic()) {
    await sleep(Math.min(options.intervalMs, left), signal, clock)
    progress(ctx, 'baseline', until - clock.monotonic(), recentWindow(ctx, options.intervalMs))
  }
  const end = clock.monotonic()
  ctx.marks.baselineEnd = end
  await settle(workload, clock)
  ctx.probe.atInject = (await sampleAll(ctx, signal)) ?? ctx.probe.atInject
  const metrics = phaseMetrics(timeline.summary(timeline.t0, end), ctx.probe.atStart, ctx.probe.atInject)
  ctx.record.metrics.baseline = metrics

  const before = checksIn(ctx, 'before')
  const baselineBound = scenario.checks.filter((c) => c.bound.kind === 'baseline')
  const queries = promqlQueries([...before, ...baselineBound])
  const values = await fetchPromql(ctx, queries, signal)
  for (const query of promqlQueries(baselineBound)) ctx.promql.baseline.set(query, values.get(query) ?? null)

  const results = evaluateChecks(ctx, before, metrics, 'before', values)
  ctx.record.checks.push(...results)
  if (!allHeld(results)) {
    const failed = results.filter((c) => c.passed !== true).map((c) => c.expression)
    // Requests answered 404/405 mean wrong workload paths, not an unsteady system: say that first.
    const unserved = unservedRoutesSentence(unservedRoutes(metrics))
    log(ctx, 'chaos_steady_state_not_held', { checks: failed, ...(unserved && { hint: unserved }) })
    throw new Stop(
      'ABORTED',
      `${unserved ? `${unserved}; ` : ''}steady state did not hold before injection (${failed.join('; ')}); nothing was injected`,
    )
  }
}
