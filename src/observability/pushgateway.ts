/**
 * Experiment results to a Prometheus Pushgateway (guide section 3, "Prometheus collects chaos
 * experiment metrics"): after each experiment its verdict and measurements are pushed as gauges
 * under job `chaos`, grouped by experiment id, so Grafana can chart them and Alertmanager can
 * alert on them. A batch job's results need the Pushgateway because the runner is gone before
 * Prometheus would scrape it.
 *
 * Each push uses a fresh Registry and PUT (replace the group): a value the latest run did not
 * measure (MTTR of a run that never recovered, the during phase of an experiment that was never
 * injected) disappears instead of lingering from an earlier run.
 */
import { Gauge, Pushgateway, Registry } from 'prom-client'
import { InvalidInputError } from '../errors.js'
import type { ExperimentRecord } from '../record.js'

/** The Pushgateway job every result is pushed under. */
export const PUSH_JOB = 'chaos'

/** The grouping label (besides `job`): one group per experiment (scenario id). */
export const PUSH_GROUPING_LABEL = 'experiment'

/** Labels on every pushed sample (the grouping labels `job` and `experiment` are added by the Pushgateway). */
export const PUSHED_LABELS = ['category', 'target_service', 'fault_type'] as const
type PushedLabel = (typeof PUSHED_LABELS)[number]

/** Every metric a push may contain, with its help text. Dashboards and alert rules use these names. */
export const PUSHED_METRICS = {
  chaos_experiment_last_run_timestamp_seconds: 'When the experiment last finished (Unix seconds)',
  chaos_experiment_hypothesis_held:
    'Whether the steady-state hypothesis held in the last run (1 held, 0 not); absent when the experiment did not get far enough to tell or was inconclusive',
  chaos_experiment_availability: 'Availability (successful / total) while the fault was injected, 0..1',
  chaos_experiment_error_rate: 'Error rate (failed / total) while the fault was injected, 0..1',
  chaos_experiment_latency_p95_seconds: 'p95 request latency while the fault was injected, in seconds',
  chaos_experiment_mttr_seconds:
    'Mean time to recovery: rollback until steady state again; absent when the run never recovered',
  chaos_experiment_circuit_breaker_trips:
    'Circuit breaker trips while the fault was injected; absent when the target exports no circuit_breaker_trips_total',
  chaos_experiment_aborted: 'Whether the last run was aborted for safety (1) or not (0)',
} as const
export type PushedMetric = keyof typeof PUSHED_METRICS

/** Names of every metric a push may contain. */
export const PUSHED_METRIC_NAMES = Object.keys(PUSHED_METRICS) as PushedMetric[]

/** Whether an experiment's results are pushed: skipped experiments (a suite stopped before them) are not. */
export function isPushable(experiment: ExperimentRecord): boolean {
  return experiment.state !== 'SKIPPED'
}

/**
 * The values pushed for one experiment, by metric name. Metrics without a value (not measured in
 * this run) are left out rather than pushed as NaN, which Prometheus graphs and alerts handle badly.
 */
export function experimentResultValues(
  experiment: ExperimentRecord,
  nowMs: number,
): Partial<Record<PushedMetric, number>> {
  const values: Partial<Record<PushedMetric, number>> = {}
  const finished = Date.parse(experiment.finished_at ?? experiment.started_at ?? '')
  values.chaos_experiment_last_run_timestamp_seconds = (Number.isFinite(finished) ? finished : nowMs) / 1000
  if (experiment.hypothesis_held !== null)
    values.chaos_experiment_hypothesis_held = experiment.hypothesis_held ? 1 : 0
  const during = experiment.metrics.during
  if (during) {
    values.chaos_experiment_availability = during.availability
    values.chaos_experiment_error_rate = during.error_rate
    values.chaos_experiment_latency_p95_seconds = during.latency_ms.p95 / 1000
    // Not measured is not 0: without the target's counter the gauge is left out.
    if (during.circuit_breaker_trips !== null)
      values.chaos_experiment_circuit_breaker_trips = during.circuit_breaker_trips
  }
  if (experiment.metrics.mttr_seconds !== null)
    values.chaos_experiment_mttr_seconds = experiment.metrics.mttr_seconds
  values.chaos_experiment_aborted = experiment.state === 'ABORTED' ? 1 : 0
  return values
}

/** A fresh registry holding one experiment's results (what one push sends). */
export function experimentRegistry(experiment: ExperimentRecord, nowMs: number): Registry {
  const registry = new Registry()
  const labels: Record<PushedLabel, string> = {
    category: experiment.category,
    target_service: experiment.target_service,
    fault_type: experiment.fault_config.fault_type,
  }
  for (const [name, value] of Object.entries(experimentResultValues(experiment, nowMs))) {
    new Gauge({
      name,
      help: PUSHED_METRICS[name as PushedMetric],
      labelNames: PUSHED_LABELS,
      registers: [registry],
    }).set(labels, value)
  }
  return registry
}

/**
 * Checks a Pushgateway base URL (flag or config). Throws {@link InvalidInputError} (exit 2) naming
 * `source` when it is not an http(s) URL.
 */
export function parsePushgatewayUrl(value: string, source = '--pushgateway'): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidInputError(
      `${source}: "${value}" is not a URL`,
      'use the Pushgateway base URL, e.g. --pushgateway http://127.0.0.1:9091',
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError(
      `${source}: "${value}" is not an http(s) URL`,
      'use the Pushgateway base URL, e.g. --pushgateway http://127.0.0.1:9091',
    )
  }
  return value
}

export interface PushOptions {
  /** Pushgateway base URL, e.g. `http://127.0.0.1:9091` (a path prefix is kept). */
  url: string
  /** Socket timeout of the push request (default 5 000 ms). */
  timeoutMs?: number
  /** Wall clock (only used when the record has no finish time). */
  now?: () => number
}

/**
 * Pushes one experiment's results (PUT to `/metrics/job/chaos/experiment/<id>`). Rejects with the
 * Pushgateway's status and body, a connection error or a timeout.
 */
export async function pushExperimentResults(
  experiment: ExperimentRecord,
  options: PushOptions,
): Promise<void> {
  const registry = experimentRegistry(experiment, (options.now ?? Date.now)())
  const gateway = new Pushgateway(options.url, { timeout: options.timeoutMs ?? 5000 }, registry)
  await gateway.push({ jobName: PUSH_JOB, groupings: { [PUSH_GROUPING_LABEL]: experiment.id } })
}

/** One line for a push error (Node's connection errors may be AggregateErrors with no message). */
function describeError(err: unknown): string {
  const e = err as Error & { code?: string; errors?: unknown[] }
  if (e?.message) return e.message
  if (Array.isArray(e?.errors) && e.errors.length > 0) return describeError(e.errors[0])
  return e?.code ?? String(err)
}

/** A failed push, as reported to the user and the event journal. */
export interface PushFailure {
  run_id: string
  experiment_id: string
  pushgateway: string
  error: string
}

export interface ResultPusherOptions extends PushOptions {
  /** Reports a failed push (one warning line and the `chaos_pushgateway_push_failed` event). Must not throw. */
  onFailure(failure: PushFailure): Promise<void> | void
}

/**
 * The `onExperimentDone` hook of a run: pushes each finished experiment's results. Never rejects:
 * a push failure is handed to `onFailure` and never fails or hides the experiment's result.
 */
export function createResultPusher(
  options: ResultPusherOptions,
): (experiment: ExperimentRecord, runId: string) => Promise<void> {
  return async (experiment, runId) => {
    if (!isPushable(experiment)) return
    try {
      await pushExperimentResults(experiment, options)
    } catch (err) {
      try {
        await options.onFailure({
          run_id: runId,
          experiment_id: experiment.id,
          pushgateway: options.url,
          error: describeError(err),
        })
      } catch {
        // reporting the failure is best effort; the run goes on either way
      }
    }
  }
}
