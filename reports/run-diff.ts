/**
 * `chaos report diff`: two runs compared experiment by experiment (matched by scenario id), the
 * earlier one ("then") against the later one ("now"), with regressions marked by the tolerances of
 * {@link DIFF_TOLERANCES}. A pure function of the two records (so it sits with the renderers, which
 * import only the base layer); which two runs is `src/store/run-pair.ts`, the text is
 * `./diff.ts`, the command `commands/report/diff.ts`. The result is external data: snake_case fields,
 * UPPERCASE enum values, ratios 0..1, and `null` for what was not measured (never 0).
 */
import type { ExperimentRecord, ExperimentRecordState, RunOutcome, RunRecord } from '../src/record.js'

/** A run record and the file it was read from (what the report store gives back). */
export interface RunFile {
  file: string
  record: RunRecord
}

/**
 * How much worse a measure must get to be marked a regression (the same amount better is marked an
 * improvement). Runs inject faults at random, so two runs of one scenario never measure exactly
 * the same: a change within these bounds is noise, not news.
 */
export const DIFF_TOLERANCES = {
  /**
   * Availability down, or error rate up, by more than this many percentage points (0..1) AND by more
   * than `ratio_standard_errors` standard errors of the difference of the two rates (from each
   * run's request count), so that a short run's sampling noise is not a regression.
   */
  ratio_points: 0.01,
  /** See `ratio_points`: about 95 % confidence that the rate really changed. */
  ratio_standard_errors: 2,
  /** p95 latency up by more than this share of the earlier value AND more than `latency_p95_ms`. */
  latency_p95_ratio: 0.2,
  /** See `latency_p95_ratio`, in milliseconds. */
  latency_p95_ms: 10,
  /** MTTR up by more than this share of the earlier value AND more than `mttr_seconds`. */
  mttr_ratio: 0.2,
  /** See `mttr_ratio`, in seconds (MTTR is measured on the poll-interval grid). */
  mttr_seconds: 2,
} as const

/** How a measure moved from then to now. */
export type MeasureChange =
  /** Worse beyond the tolerance. */
  | 'REGRESSED'
  /** Better beyond the tolerance. */
  | 'IMPROVED'
  /** Equal, or within the tolerance. */
  | 'SAME'
  /** Different, but neither better nor worse (e.g. inconclusive → not decided). */
  | 'CHANGED'
  /** Not measured in one run or both: nothing to compare. */
  | 'NOT_COMPARED'

/** One measure, then and now; `null` when not measured (or the experiment was not in that run). */
export interface MeasureDiff<T> {
  then: T | null
  now: T | null
  change: MeasureChange
}

/** What became of an experiment's hypothesis. */
export type HypothesisResult =
  /** Every check passed and a fault was injected. */
  | 'HELD'
  /** A check failed. */
  | 'NOT_HELD'
  /** Completed, but a check was not evaluated or no fault was injected: nothing proven. */
  | 'INCONCLUSIVE'
  /** The experiment did not get far enough: aborted, failed, interrupted, skipped. */
  | 'NOT_DECIDED'

/** The measures compared, by their name in {@link ExperimentDiff} (and in `regressions`). */
export const DIFF_MEASURES = [
  'availability',
  'error_rate',
  'latency_p95_ms',
  'mttr_seconds',
  'recovered',
  'hypothesis',
] as const
export type DiffMeasure = (typeof DIFF_MEASURES)[number]

/** One experiment, then vs now. */
export interface ExperimentDiff {
  /** Scenario id: what the two runs are matched by. */
  id: string
  name: string
  /** `BOTH`: in both runs; `ADDED`: only in the later run; `REMOVED`: only in the earlier one. */
  presence: 'BOTH' | 'ADDED' | 'REMOVED'
  state: { then: ExperimentRecordState | null; now: ExperimentRecordState | null }
  /** Requests measured during injection (what the rates are over); `null` when none were. */
  requests: { then: number | null; now: number | null }
  /** During injection, 0..1. */
  availability: MeasureDiff<number>
  /** During injection, 0..1. */
  error_rate: MeasureDiff<number>
  /** During injection. */
  latency_p95_ms: MeasureDiff<number>
  /** Rollback to steady state again; `null` also when it never recovered (see `recovered`). */
  mttr_seconds: MeasureDiff<number>
  /** Back to steady state after the rollback; `null` when there was no recovery phase. */
  recovered: MeasureDiff<boolean>
  hypothesis: MeasureDiff<HypothesisResult>
  /** The measures that regressed, in {@link DIFF_MEASURES} order. */
  regressions: DiffMeasure[]
}

/** One of the two runs compared. */
export interface DiffRun {
  run_id: string
  started_at: string
  selection: string[]
  outcome: RunOutcome
  /** The JSON report read. */
  file: string
}

/** The result of `chaos report diff` (`--json`). */
export interface RunDiff {
  /** The earlier run. */
  then: DiffRun
  /** The later run. */
  now: DiffRun
  /** The tolerances the regressions were judged with. */
  tolerances: typeof DIFF_TOLERANCES
  /** In the later run's order, then the experiments only the earlier run had. */
  experiments: ExperimentDiff[]
  /** Regressed measures over all experiments. */
  regressions: number
  /** Ids of the experiments with at least one regression. */
  regressed_experiments: string[]
}

/** Availability, error rate and p95 during injection, when requests were measured. */
function during(e: ExperimentRecord | undefined) {
  const m = e?.metrics.during
  return m && m.total_requests > 0 ? m : undefined
}

export function hypothesisResult(e: ExperimentRecord): HypothesisResult {
  if (e.hypothesis_held === true) return 'HELD'
  if (e.hypothesis_held === false) return 'NOT_HELD'
  return e.state === 'COMPLETED' ? 'INCONCLUSIVE' : 'NOT_DECIDED'
}

/** A rate's change: beyond the points tolerance and beyond sampling noise (two standard errors). */
function rateChange(
  then: number | null,
  now: number | null,
  n: { then: number | null; now: number | null },
  higherIsWorse: boolean,
): MeasureChange {
  if (then === null || now === null || !n.then || !n.now) return 'NOT_COMPARED'
  const t = DIFF_TOLERANCES
  const se = Math.sqrt((then * (1 - then)) / n.then + (now * (1 - now)) / n.now)
  const delta = now - then
  if (Math.abs(delta) <= t.ratio_points || Math.abs(delta) <= t.ratio_standard_errors * se) return 'SAME'
  return delta > 0 === higherIsWorse ? 'REGRESSED' : 'IMPROVED'
}

/** A lower-is-better amount's change: beyond a share of the earlier value and an absolute amount. */
function amountChange(
  then: number | null,
  now: number | null,
  ratio: number,
  absolute: number,
): MeasureChange {
  if (then === null || now === null) return 'NOT_COMPARED'
  const delta = now - then
  if (Math.abs(delta) <= absolute || Math.abs(delta) <= ratio * then) return 'SAME'
  return delta > 0 ? 'REGRESSED' : 'IMPROVED'
}

function recoveredOf(e: ExperimentRecord | undefined): boolean | null {
  if (!e) return null
  if (e.metrics.mttr_seconds !== null) return true
  return e.metrics.recovery ? e.metrics.recovered : null
}

function hypothesisChange(then: HypothesisResult | null, now: HypothesisResult | null): MeasureChange {
  if (then === null || now === null) return 'NOT_COMPARED'
  if (then === now) return 'SAME'
  if (then === 'HELD' || now === 'NOT_HELD') return 'REGRESSED'
  if (now === 'HELD') return 'IMPROVED'
  return 'CHANGED'
}

/** One experiment compared; either side may be missing (added or removed). */
export function diffExperiment(
  then: ExperimentRecord | undefined,
  now: ExperimentRecord | undefined,
): ExperimentDiff {
  const either = (now ?? then)!
  const [a, b] = [during(then), during(now)]
  const requests = { then: a?.total_requests ?? null, now: b?.total_requests ?? null }
  const pair = <T>(x: T | null, y: T | null, change: MeasureChange): MeasureDiff<T> => ({
    then: x,
    now: y,
    change,
  })
  const t = DIFF_TOLERANCES
  const avail = [a?.availability ?? null, b?.availability ?? null] as const
  const err = [a?.error_rate ?? null, b?.error_rate ?? null] as const
  const p95 = [a?.latency_ms.p95 ?? null, b?.latency_ms.p95 ?? null] as const
  const mttr = [then?.metrics.mttr_seconds ?? null, now?.metrics.mttr_seconds ?? null] as const
  const recovered = [recoveredOf(then), recoveredOf(now)] as const
  const hyp = [then ? hypothesisResult(then) : null, now ? hypothesisResult(now) : null] as const
  const diff: Omit<ExperimentDiff, 'regressions'> = {
    id: either.id,
    name: either.name,
    presence: then && now ? 'BOTH' : now ? 'ADDED' : 'REMOVED',
    state: { then: then?.state ?? null, now: now?.state ?? null },
    requests,
    availability: pair(...avail, rateChange(...avail, requests, false)),
    error_rate: pair(...err, rateChange(...err, requests, true)),
    latency_p95_ms: pair(...p95, amountChange(...p95, t.latency_p95_ratio, t.latency_p95_ms)),
    mttr_seconds: pair(...mttr, amountChange(...mttr, t.mttr_ratio, t.mttr_seconds)),
    recovered: pair(
      ...recovered,
      recovered[0] === null || recovered[1] === null
        ? 'NOT_COMPARED'
        : recovered[0] === recovered[1]
          ? 'SAME'
          : recovered[1]
            ? 'IMPROVED'
            : 'REGRESSED',
    ),
    hypothesis: pair(...hyp, hypothesisChange(...hyp)),
  }
  return { ...diff, regressions: DIFF_MEASURES.filter((m) => diff[m].change === 'REGRESSED') }
}

function diffRun({ file, record }: RunFile): DiffRun {
  const { run_id, started_at, selection, outcome } = record
  return { run_id, started_at, selection, outcome, file }
}

/**
 * Two runs compared experiment by experiment. Experiments are matched by scenario id (a scenario
 * that ran twice in one run is matched in order); the result lists the later run's experiments in
 * its order, then those only the earlier run had.
 */
export function diffRuns(then: RunFile, now: RunFile): RunDiff {
  const unmatched = new Map<string, ExperimentRecord[]>()
  for (const e of then.record.experiments) unmatched.set(e.id, [...(unmatched.get(e.id) ?? []), e])
  const experiments = now.record.experiments.map((e) => diffExperiment(unmatched.get(e.id)?.shift(), e))
  for (const e of then.record.experiments)
    if (unmatched.get(e.id)?.[0] === e)
      experiments.push(diffExperiment(unmatched.get(e.id)!.shift(), undefined))
  return {
    then: diffRun(then),
    now: diffRun(now),
    tolerances: DIFF_TOLERANCES,
    experiments,
    regressions: experiments.reduce((n, e) => n + e.regressions.length, 0),
    regressed_experiments: experiments.filter((e) => e.regressions.length > 0).map((e) => e.id),
  }
}
