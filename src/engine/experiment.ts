/**
 * The lifecycle of one experiment: preflight → baseline → inject → observe → rollback (always,
 * in `finally`) → recovery → verdict. Its single result is an {@link ExperimentRecord}.
 *
 * The engine never touches `process`: it gets a clock, a logger (the event journal), an
 * AbortSignal (Ctrl-C, SIGTERM) and its ports (control clients, workload, metrics probes).
 */
import { sleep, type Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import { BLAST_RADII, type StartExperimentRequest } from '../protocol/schemas.js'
import type {
  BreakerState,
  CheckResult,
  ExperimentRecord,
  PhaseMetrics,
  RollbackRecord,
  TimeseriesPoint,
} from '../record.js'
import { DEFAULT_SAFETY, type Scenario, type ScenarioCheck } from '../scenario/schema.js'
import { ControlError, UnreachableError, type ControlClient } from './control-client.js'
import { allHeld, evaluateCheck } from './evaluate.js'
import { combineSamples, type MetricsProbe, type ProbeSample } from './probe.js'
import type { Cursor, Workload, WorkloadSummary } from './workload.js'

/** Phases shown on the live progress line. */
export type ExperimentPhase = 'preflight' | 'baseline' | 'injecting' | 'rollback' | 'recovery' | 'done'

/** A live progress update (spinner line on a TTY, plain line in a log). */
export interface Progress {
  experiment: string
  phase: ExperimentPhase
  elapsed_ms: number
  remaining_ms: number | null
  rps: number
  error_rate: number
  latency_p95_ms: number | null
  breaker_state: BreakerState | null
  message?: string
}

export interface ExperimentOptions {
  /** Unique id the fault is injected under (also the x-chaos-experiment header value). */
  experimentId: string
  baselineMs: number
  intervalMs: number
  recoveryTimeoutMs: number
  leaseSeconds: number
  /** ENTIRE_SYSTEM needs this on a real target (guide section 7, escalation). */
  allowEntireSystem: boolean
  /** True when the target is the built-in sandbox (ENTIRE_SYSTEM allowed). */
  sandbox: boolean
}

export interface ExperimentDeps {
  /** One control client per target instance. */
  clients: readonly ControlClient[]
  /** One metrics probe per target instance, in the order of `clients`. */
  probes: readonly MetricsProbe[]
  /** Creates the workload for this experiment; the header tags every request with the experiment id. */
  createWorkload(headers: Record<string, string>): Workload
  /** Instant PromQL query (checks written as PromQL); absent without --prometheus. */
  promql?: (query: string, signal?: AbortSignal) => Promise<number | null>
  clock: Clock
  /** Event journal: one entry per lifecycle event (`chaos_experiment_started`, ...). */
  events: Logger
  onProgress?: (progress: Progress) => void
}

/** Why an experiment stopped before its time, and what that means for its state. */
class Stop extends Error {
  constructor(
    readonly state: 'ABORTED' | 'FAILED' | 'INTERRUPTED',
    message: string,
  ) {
    super(message)
  }
}

const EMPTY_SAMPLE: ProbeSample = {
  breaker_trips: 0,
  faults_injected: 0,
  breaker_state: null,
  restarted: false,
}

/** Runs one experiment end to end and returns its record. Never throws for expected failures. */
export async function runExperiment(
  scenario: Scenario,
  options: ExperimentOptions,
  deps: ExperimentDeps,
  signal: AbortSignal,
): Promise<ExperimentRecord> {
  const { clock, events } = deps
  const id = options.experimentId
  const fault = scenario.fault_config
  const startedMono = clock.monotonic()
  const iso = () => new Date(clock.now()).toISOString()
  const record = blankRecord(scenario, 'COMPLETED')
  record.started_at = iso()
  const safety = { ...DEFAULT_SAFETY, ...scenario.safety }
  const checksIn = (phase: ScenarioCheck['phase']) => scenario.checks.filter((c) => c.phase === phase)
  const log = (event: string, fields: Record<string, unknown> = {}) =>
    events.info(event, { experiment_id: scenario.id, injected_as: id, ...fields })
  const elapsed = () => clock.monotonic() - startedMono
  const progress = (
    phase: ExperimentPhase,
    remaining: number | null,
    window?: WorkloadSummary,
    breaker?: BreakerState | null,
    message?: string,
  ) =>
    deps.onProgress?.({
      experiment: scenario.id,
      phase,
      elapsed_ms: elapsed(),
      remaining_ms: remaining,
      rps: window ? window.total_requests / Math.max(window.duration_seconds, 1e-3) : 0,
      error_rate: window?.error_rate ?? 0,
      latency_p95_ms: window && window.total_requests > 0 ? window.latency_ms.p95 : null,
      breaker_state: breaker ?? null,
      message,
    })

  // Clients reached by the fault: every instance for SERVICE_CLUSTER and ENTIRE_SYSTEM, one otherwise.
  const reach = fault.blast_radius === 'SERVICE_CLUSTER' || fault.blast_radius === 'ENTIRE_SYSTEM'
  const injectClients = reach ? deps.clients : deps.clients.slice(0, 1)
  const injected: ControlClient[] = []
  let workload: Workload | null = null
  const samples: Array<{ t: number; sample: ProbeSample | null; faultsDelta: number }> = []
  let cursors: { start: Cursor; inject?: Cursor; rollback?: Cursor } | null = null
  let probeAtInject: ProbeSample = EMPTY_SAMPLE
  let probeAtRollback: ProbeSample | null = null
  /** Last probe sample of the recovery phase; undefined when no recovery phase ran. */
  let probeAtRecoveryEnd: ProbeSample | null | undefined
  let injectedMono = 0
  let rolledBackMono = 0
  let stop: Stop | null = null
  let faultsFromAgent: number | null = null

  const sampleAll = async (s?: AbortSignal) =>
    combineSamples(
      await Promise.all(deps.probes.map((p) => p.sample(id, scenario.target_service, s).catch(() => null))),
    )

  try {
    // 1. Preflight: nothing is injected unless every condition holds.
    progress('preflight', null)
    await preflight(scenario, options, deps, signal)
    log('chaos_preflight_passed', { instances: deps.clients.length })

    // 2. Baseline: the steady state must hold before we break anything.
    workload = deps.createWorkload({ 'x-chaos-experiment': id })
    cursors = { start: workload.start() }
    const probeAtStart = (await sampleAll(signal)) ?? EMPTY_SAMPLE
    await observeFor(options.baselineMs, 'baseline')
    cursors.inject = workload.mark()
    await settle(workload, clock)
    probeAtInject = (await sampleAll(signal)) ?? probeAtInject
    record.metrics.baseline = phaseMetrics(
      workload.summarySince(cursors.start, cursors.inject),
      probeAtStart,
      probeAtInject,
    )
    const before = await evaluatePhase(checksIn('before'), record.metrics.baseline, 'before')
    record.checks.push(...before)
    if (!allHeld(before)) {
      const failed = before.filter((c) => c.passed !== true).map((c) => c.expression)
      log('chaos_steady_state_not_held', { checks: failed })
      throw new Stop(
        'ABORTED',
        `steady state did not hold before injection (${failed.join('; ')}); nothing was injected`,
      )
    }

    // 3. Inject, with a lease renewed every lease/3 (the agent's dead man's switch).
    signal.throwIfAborted()
    const body: StartExperimentRequest = {
      id,
      target_service: scenario.target_service,
      fault_config: fault,
      lease_seconds: options.leaseSeconds,
    }
    for (const client of injectClients) {
      injected.push(client)
      await client.start(body, signal)
    }
    injectedMono = clock.monotonic()
    record.injected_at = iso()
    log('chaos_experiment_started', {
      target_service: scenario.target_service,
      fault_type: fault.fault_type,
      probability: fault.probability,
      blast_radius: fault.blast_radius,
      duration_seconds: scenario.duration_seconds,
      instances: injectClients.map((c) => c.target),
    })
    const renew = startLeaseRenewal(injectClients, id, options.leaseSeconds, clock, events)
    try {
      // 4. Observe: poll, enforce safety limits, watch the experiment stay alive on the target.
      await observeFor(scenario.duration_seconds * 1000, 'injecting')
    } finally {
      renew.stop()
    }
  } catch (err) {
    stop = toStop(err, signal)
    const event = {
      ABORTED: 'chaos_experiment_aborted',
      FAILED: 'chaos_experiment_failed',
      INTERRUPTED: 'chaos_experiment_interrupted',
    }[stop.state]
    events.log(stop.state === 'INTERRUPTED' ? 'info' : 'warn', event, {
      experiment_id: scenario.id,
      injected_as: id,
      reason: stop.message,
      injected: injected.length > 0,
    })
  } finally {
    // 5. Rollback — always, whatever happened above, and never cut short by the abort signal.
    if (injected.length > 0) {
      progress(
        'rollback',
        null,
        undefined,
        null,
        signal.aborted ? 'rolling back (Ctrl-C again will not skip it)' : undefined,
      )
      if (workload && cursors) cursors.rollback = workload.mark()
      probeAtRollback = await sampleAll()
      const result = await rollback(injected, id, clock)
      record.rollback = result.record
      faultsFromAgent = result.faultsInjected
      rolledBackMono = clock.monotonic()
      record.rolled_back_at = iso()
      log('chaos_experiment_completed', {
        faults_injected: faultsFromAgent,
        state: stop?.state ?? 'COMPLETED',
        abort_reason: stop?.message ?? null,
      })
      if (!result.record.verified) log('chaos_rollback_failed', { error: result.record.error })
      log('chaos_experiment_context_exited', {
        rollback_verified: result.record.verified,
        method: result.record.method,
      })
    }
  }

  if (stop) {
    record.state = stop.state
    if (stop.state === 'FAILED') record.error = stop.message
    else record.abort_reason = stop.message
  }
  if (injected.length > 0 && !record.rollback.verified && record.state === 'COMPLETED') {
    record.state = 'FAILED'
    record.error = `rollback could not be verified: ${record.rollback.error ?? 'unknown'}`
  }

  // During-phase metrics and checks, when injection happened.
  if (workload && cursors?.inject && cursors.rollback) {
    await settle(workload, clock)
    const during = phaseMetrics(
      workload.summarySince(cursors.inject, cursors.rollback),
      probeAtInject,
      probeAtRollback,
    )
    if (faultsFromAgent !== null) during.affected_requests = faultsFromAgent
    record.metrics.during = during
    record.checks.push(...(await evaluatePhase(checksIn('during'), during, 'during')))
  }

  // 6. Recovery: keep the workload running until the after-checks hold again (MTTR) or time runs out.
  if (workload && cursors?.rollback && record.state === 'COMPLETED') {
    await recover()
  }
  if (workload) await workload.stop({ abort: signal.aborted })
  // Summed once the workload stopped, so that no request of the phase is still in flight.
  if (workload && cursors?.rollback && probeAtRecoveryEnd !== undefined) {
    record.metrics.recovery = phaseMetrics(
      workload.summarySince(cursors.rollback),
      probeAtRollback,
      probeAtRecoveryEnd,
    )
  }

  // 7. Verdict.
  if (workload) record.timeseries = timeseries(workload)
  if (record.state === 'COMPLETED') record.hypothesis_held = allHeld(record.checks)
  else if (record.state === 'ABORTED' && record.injected_at !== null) record.hypothesis_held = false
  record.finished_at = iso()
  progress('done', 0)
  log('chaos_experiment_finished', { state: record.state, hypothesis_held: record.hypothesis_held })
  return record

  /** Runs the workload for `ms`, polling every interval; throws Stop on a safety limit or loss. */
  async function observeFor(ms: number, phase: 'baseline' | 'injecting'): Promise<void> {
    const until = clock.monotonic() + ms
    let unreadable = 0
    let last: ProbeSample | null = phase === 'injecting' ? probeAtInject : null
    for (;;) {
      const left = until - clock.monotonic()
      if (left <= 0) return
      await sleep(Math.min(options.intervalMs, left), signal, clock).catch(() => signal.throwIfAborted())
      const window = workload!.recent(options.intervalMs)
      if (phase === 'baseline') {
        progress(phase, until - clock.monotonic(), window)
        continue
      }
      // The target must still hold our experiment (restart or expiry means the fault is gone).
      for (const client of injected) {
        try {
          const view = await client.get(id, signal)
          if (view.state !== 'RUNNING')
            throw new Stop('ABORTED', `target ${client.target} lost the experiment (state ${view.state})`)
        } catch (err) {
          if (err instanceof Stop) throw err
          if (err instanceof UnreachableError)
            throw new Stop('FAILED', `target became unreachable during the experiment: ${err.message}`)
          if (err instanceof ControlError && (err.status === 404 || err.status === 410)) {
            throw new Stop(
              'ABORTED',
              `target ${client.target} lost the experiment (restarted?): HTTP ${err.status}`,
            )
          }
          signal.throwIfAborted()
          throw err
        }
      }
      const sample = await sampleAll(signal)
      if (sample === null) {
        unreadable++
        if (unreadable >= 3) {
          log('chaos_safety_metrics_unreadable', { polls: unreadable })
          throw new Stop('ABORTED', 'safety: target metrics unreadable for 3 polls in a row')
        }
      } else {
        unreadable = 0
        if (sample.restarted)
          throw new Stop('ABORTED', 'target restarted during the experiment (counters reset)')
        samples.push({
          t: elapsed(),
          sample,
          faultsDelta: last ? Math.max(0, sample.faults_injected - last.faults_injected) : 0,
        })
        last = sample
      }
      progress(phase, until - clock.monotonic(), window, sample?.breaker_state ?? null)
      if (window.total_requests > 0) {
        if (window.error_rate > safety.max_error_rate) {
          log('chaos_safety_error_rate_high', { error_rate: window.error_rate, limit: safety.max_error_rate })
          throw new Stop(
            'ABORTED',
            `safety: error rate ${pct(window.error_rate)} above ${pct(safety.max_error_rate)} over the last poll window`,
          )
        }
        if (window.availability < safety.min_availability) {
          log('chaos_safety_availability_low', {
            availability: window.availability,
            limit: safety.min_availability,
          })
          throw new Stop(
            'ABORTED',
            `safety: availability ${pct(window.availability)} below ${pct(safety.min_availability)} over the last poll window`,
          )
        }
      }
      if (sample && sample.faults_injected > 0 && samples.length % 5 === 1) {
        log('chaos_fault_injected', {
          faults_injected: sample.faults_injected - probeAtInject.faults_injected,
        })
      }
    }
  }

  async function recover(): Promise<void> {
    const afterChecks = checksIn('after').filter(
      (c) => !(c.measure.kind === 'builtin' && c.measure.name === 'mttr_seconds'),
    )
    const deadline = rolledBackMono + options.recoveryTimeoutMs
    let probePrev = probeAtRollback ?? EMPTY_SAMPLE
    let lastResults: CheckResult[] = []
    while (!signal.aborted && clock.monotonic() < deadline) {
      await sleep(Math.min(options.intervalMs, deadline - clock.monotonic()), signal, clock).catch(
        () => undefined,
      )
      if (signal.aborted) break
      const sinceRollback = clock.monotonic() - rolledBackMono
      const window = workload!.recent(Math.min(options.intervalMs, sinceRollback))
      const sample = await sampleAll(signal)
      const metrics = phaseMetrics(window, probePrev, sample)
      probePrev = sample ?? probePrev
      if (sample) samples.push({ t: elapsed(), sample, faultsDelta: 0 })
      progress('recovery', deadline - clock.monotonic(), window, sample?.breaker_state ?? null)
      lastResults = await evaluatePhase(afterChecks, metrics, 'after')
      const held =
        afterChecks.length > 0 ? allHeld(lastResults) : defaultRecovered(metrics, record.metrics.baseline)
      if (held && window.total_requests > 0) {
        record.metrics.recovered = true
        record.metrics.mttr_seconds = round(sinceRollback / 1000, 3)
        break
      }
    }
    probeAtRecoveryEnd = probePrev
    if (!record.metrics.recovered && signal.aborted) {
      record.state = 'INTERRUPTED'
      record.abort_reason = 'interrupted during recovery'
    }
    record.checks.push(...lastResults)
    const mttrChecks = checksIn('after').filter(
      (c) => c.measure.kind === 'builtin' && c.measure.name === 'mttr_seconds',
    )
    for (const check of mttrChecks) {
      const result = evaluateCheck(check, {
        phase: null,
        baseline: null,
        mttrSeconds: record.metrics.mttr_seconds,
      })
      if (!record.metrics.recovered) {
        result.passed = false
        result.detail = `never recovered within the recovery timeout (${options.recoveryTimeoutMs / 1000}s)`
      }
      record.checks.push(result)
    }
    if (afterChecks.length > 0 && lastResults.length === 0) {
      for (const check of afterChecks) {
        record.checks.push({
          ...evaluateCheck(check, { phase: null, baseline: null }),
          passed: false,
          detail: 'no recovery window was measured',
        })
      }
    }
    log(record.metrics.recovered ? 'chaos_recovered' : 'chaos_recovery_timeout', {
      mttr_seconds: record.metrics.mttr_seconds,
      recovery_timeout_seconds: options.recoveryTimeoutMs / 1000,
    })
  }

  async function evaluatePhase(
    checks: ScenarioCheck[],
    metrics: PhaseMetrics | null,
    phase: 'before' | 'during' | 'after',
  ): Promise<CheckResult[]> {
    const promql = new Map<string, number | null>()
    for (const check of checks) {
      if (check.measure.kind !== 'promql') continue
      if (!deps.promql) {
        promql.set(check.measure.query, null)
        continue
      }
      promql.set(check.measure.query, await deps.promql(check.measure.query).catch(() => null))
    }
    return checks.map((check) => {
      const result = evaluateCheck(check, { phase: metrics, baseline: record.metrics.baseline, promql })
      if (check.measure.kind === 'promql' && !deps.promql) {
        result.detail = 'PromQL check needs --prometheus URL'
      }
      return { ...result, phase }
    })
  }

  function timeseries(w: Workload): TimeseriesPoint[] {
    const injectAt = injectedMono ? (injectedMono - startedMono) / 1000 : Infinity
    const rollbackAt = rolledBackMono ? (rolledBackMono - startedMono) / 1000 : Infinity
    return w.series().map((point) => {
      const t = point.second
      const inSecond = samples.filter((s) => s.t / 1000 >= t && s.t / 1000 < t + 1)
      const lastSample = [...samples].reverse().find((s) => s.t / 1000 < t + 1)
      return {
        t,
        phase: t + 0.5 < injectAt ? 'BASELINE' : t + 0.5 < rollbackAt ? 'DURING' : 'RECOVERY',
        requests: point.requests,
        errors: point.errors,
        latency_p95_ms: point.p95_ms,
        faults_injected: inSecond.reduce((n, s) => n + s.faultsDelta, 0),
        breaker_state: lastSample?.sample?.breaker_state ?? null,
      }
    })
  }
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
    metrics: { baseline: null, during: null, recovery: null, mttr_seconds: null, recovered: false },
    checks: [],
    abort_reason: null,
    error: null,
    rollback: { attempted: false, verified: false, attempts: 0, method: null, error: null },
    timeseries: [],
    analysis: [],
  }
}

/** Preflight checks (guide section 7): throws Stop('ABORTED') on refusal, Stop('FAILED') when unreachable. */
async function preflight(
  scenario: Scenario,
  options: ExperimentOptions,
  deps: ExperimentDeps,
  signal: AbortSignal,
): Promise<void> {
  const fault = scenario.fault_config
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
}

/** Renews the lease on every instance every lease/3; failures are logged (the poll detects loss). */
function startLeaseRenewal(
  clients: readonly ControlClient[],
  id: string,
  leaseSeconds: number,
  clock: Clock,
  events: Logger,
): { stop(): void } {
  let stopped = false
  let handle: unknown
  const tick = () => {
    if (stopped) return
    for (const client of clients) {
      client
        .renew(id, leaseSeconds)
        .catch((err: Error) =>
          events.warn('chaos_lease_renewal_failed', { target: client.target, error: err.message }),
        )
    }
    handle = clock.setTimeout(tick, (leaseSeconds * 1000) / 3)
  }
  handle = clock.setTimeout(tick, (leaseSeconds * 1000) / 3)
  return {
    stop() {
      stopped = true
      clock.clearTimeout(handle)
    },
  }
}

/**
 * Rolls the experiment back on every instance: DELETE with retries and backoff, then read back
 * `GET /chaos` to verify nothing is active; falls back to the stop-all route.
 */
async function rollback(
  clients: readonly ControlClient[],
  id: string,
  clock: Clock,
): Promise<{ record: RollbackRecord; faultsInjected: number | null }> {
  const record: RollbackRecord = {
    attempted: true,
    verified: false,
    attempts: 0,
    method: 'DELETE',
    error: null,
  }
  let faults: number | null = 0
  const backoff = [0, 250, 500, 1000, 2000]
  for (const client of clients) {
    let gone = false
    for (const delay of backoff) {
      if (delay) await sleep(delay, undefined, clock)
      record.attempts++
      try {
        const view = await client.stop(id)
        faults = faults === null ? null : faults + view.faults_injected
        gone = true
        break
      } catch (err) {
        if (err instanceof ControlError && (err.status === 404 || err.status === 410)) {
          gone = true
          faults = null
          break
        }
        record.error = (err as Error).message
      }
    }
    if (!gone) faults = null
  }
  if (await verifyNothingActive(clients, id)) {
    record.verified = true
    record.error = null
    return { record, faultsInjected: faults }
  }
  // Fallback: the emergency stop-all route on every instance, then verify again.
  record.method = 'STOP_ALL'
  for (const delay of backoff) {
    if (delay) await sleep(delay, undefined, clock)
    record.attempts++
    await Promise.all(clients.map((c) => c.stopAll().catch((err: Error) => (record.error = err.message))))
    if (await verifyNothingActive(clients, id)) {
      record.verified = true
      record.error = null
      break
    }
  }
  return { record, faultsInjected: faults }
}

async function verifyNothingActive(clients: readonly ControlClient[], id: string): Promise<boolean> {
  try {
    const infos = await Promise.all(clients.map((c) => c.info()))
    return infos.every((info) => !info.active_experiments.some((e) => e.id === id))
  } catch {
    return false
  }
}

/** Longest wait for a phase's requests still in flight when it ends (each is bounded by its own timeout too). */
const SETTLE_MAX_MS = 2000

/**
 * Waits until every request sent so far has finished (at most {@link SETTLE_MAX_MS}), so that a
 * phase's totals include the requests in flight at its end: the target served and counted them,
 * and a summary taken earlier would leave them out of every phase.
 */
async function settle(workload: Workload, clock: Clock): Promise<void> {
  const timer = new AbortController()
  await Promise.race([
    workload.whenSettled(),
    sleep(SETTLE_MAX_MS, timer.signal, clock).catch(() => undefined),
  ])
  timer.abort()
}

/** Builds a phase's metrics from the workload's summary and the probe's counter deltas. */
function phaseMetrics(
  summary: WorkloadSummary,
  from: ProbeSample | null,
  to: ProbeSample | null,
): PhaseMetrics {
  const delta = (pick: (s: ProbeSample) => number) => (from && to ? Math.max(0, pick(to) - pick(from)) : 0)
  return {
    total_requests: summary.total_requests,
    affected_requests: delta((s) => s.faults_injected),
    successful_requests: summary.successful_requests,
    failed_requests: summary.failed_requests,
    dropped_requests: summary.dropped,
    error_rate: round(summary.error_rate, 6),
    availability: round(summary.availability, 6),
    latency_ms: {
      p50: round(summary.latency_ms.p50 ?? 0, 3),
      p95: round(summary.latency_ms.p95 ?? 0, 3),
      p99: round(summary.latency_ms.p99 ?? 0, 3),
      max: round(summary.latency_ms.max ?? 0, 3),
    },
    throughput_rps: round(summary.throughput_rps, 3),
    circuit_breaker_trips: delta((s) => s.breaker_trips),
    failures_by_class: summary.failures_by_class,
  }
}

/** Without explicit after-checks: recovered when errors are back to the baseline level (or under 1 %). */
function defaultRecovered(window: PhaseMetrics, baseline: PhaseMetrics | null): boolean {
  const limit = Math.max(0.01, (baseline?.error_rate ?? 0) * 2)
  return window.error_rate <= limit
}

function toStop(err: unknown, signal: AbortSignal): Stop {
  if (err instanceof Stop) return err
  if (signal.aborted)
    return new Stop('INTERRUPTED', `interrupted (${describeReason(signal.reason)}); rolled back`)
  if (err instanceof UnreachableError) return new Stop('FAILED', err.message)
  return new Stop('FAILED', (err as Error).message ?? String(err))
}

function describeReason(reason: unknown): string {
  if (typeof reason === 'string') return reason
  if (reason instanceof Error) return reason.message
  return 'signal'
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`
}

function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
