/**
 * Hand-built run records for the report tests. `guideExperiment` is the guide's "Example Analysis"
 * (section 8): PMS API failure, 20 % injected, 1000 requests, 850 successful, 3 breaker trips, MTTR 45 s.
 */
import type { ExperimentRecord, PhaseMetrics, RunRecord } from '../src/record.js'

export function phase(overrides: Partial<PhaseMetrics> = {}): PhaseMetrics {
  return {
    total_requests: 1000,
    affected_requests: 0,
    faults_injected: 0,
    successful_requests: 1000,
    failed_requests: 0,
    dropped_requests: 0,
    error_rate: 0,
    availability: 1,
    latency_ms: { p50: 12, p95: 40, p99: 80, max: 120 },
    throughput_rps: 16.7,
    circuit_breaker_trips: 0,
    failures_by_class: {},
    ...overrides,
  }
}

export function guideExperiment(overrides: Partial<ExperimentRecord> = {}): ExperimentRecord {
  return {
    id: 'pms_api_failure',
    name: 'PMS API Failure',
    category: 'pms',
    target_service: 'pms_adapter',
    steady_state_hypothesis: 'Bookings fall back to the cache; availability stays above 80%',
    fault_config: {
      fault_type: 'EXCEPTION',
      probability: 0.2,
      blast_radius: 'SINGLE_SERVICE',
      enabled: true,
      exception_class: 'ConnectionError',
      exception_message: 'Chaos: injected exception',
    },
    blast_radius: 'SINGLE_SERVICE',
    duration_seconds: 60,
    state: 'COMPLETED',
    started_at: '2026-11-28T11:22:33.000Z',
    injected_at: '2026-11-28T11:22:43.000Z',
    rolled_back_at: '2026-11-28T11:23:43.000Z',
    finished_at: '2026-11-28T11:24:28.000Z',
    hypothesis_held: false,
    metrics: {
      baseline: phase({ total_requests: 200, throughput_rps: 20 }),
      during: phase({
        total_requests: 1000,
        affected_requests: 200,
        faults_injected: 200,
        successful_requests: 850,
        failed_requests: 150,
        error_rate: 0.15,
        availability: 0.85,
        circuit_breaker_trips: 3,
        failures_by_class: { http_503: 140, timeout: 10 },
      }),
      recovery: phase({ total_requests: 900 }),
      mttr_seconds: 45,
      recovered: true,
    },
    checks: [
      {
        name: 'error rate stays below the injection rate',
        expression: 'error_rate < 20% during',
        phase: 'during',
        expected: 0.2,
        actual: 0.15,
        passed: true,
      },
      {
        name: 'availability > 95% during',
        expression: 'availability > 95% during',
        phase: 'during',
        expected: 0.95,
        actual: 0.85,
        passed: false,
      },
      {
        name: 'latency_p95_ms < 2x baseline during',
        expression: 'latency_p95_ms < 2x baseline during',
        phase: 'during',
        expected: 80,
        actual: 40,
        passed: true,
      },
      {
        name: 'mttr_seconds < 2m after',
        expression: 'mttr_seconds < 2m after',
        phase: 'after',
        expected: 120,
        actual: 45,
        passed: true,
      },
    ],
    abort_reason: null,
    error: null,
    rollback: {
      attempted: true,
      verified: true,
      attempts: 1,
      method: 'DELETE',
      error: null,
      faults_after_rollback: 0,
    },
    timeseries: [
      {
        t: 0,
        phase: 'BASELINE',
        requests: 20,
        errors: 0,
        latency_p95_ms: 40,
        faults_injected: 0,
        breaker_state: 'CLOSED',
      },
      {
        t: 11,
        phase: 'DURING',
        requests: 17,
        errors: 3,
        latency_p95_ms: 45,
        faults_injected: 4,
        breaker_state: 'OPEN',
      },
      {
        t: 71,
        phase: 'RECOVERY',
        requests: 20,
        errors: 0,
        latency_p95_ms: null,
        faults_injected: 0,
        breaker_state: null,
      },
    ],
    analysis: [],
    ...overrides,
  }
}

/** An experiment a suite never reached. */
export function skippedExperiment(id = 'network_latency'): ExperimentRecord {
  return guideExperiment({
    id,
    name: 'Network Latency',
    category: 'network',
    target_service: 'whatsapp_client',
    fault_config: {
      fault_type: 'LATENCY',
      probability: 0.5,
      blast_radius: 'SINGLE_REQUEST',
      latency_ms: 500,
    },
    blast_radius: 'SINGLE_REQUEST',
    state: 'SKIPPED',
    started_at: null,
    injected_at: null,
    rolled_back_at: null,
    finished_at: null,
    hypothesis_held: null,
    metrics: { baseline: null, during: null, recovery: null, mttr_seconds: null, recovered: false },
    checks: [],
    rollback: {
      attempted: false,
      verified: false,
      attempts: 0,
      method: null,
      error: null,
      faults_after_rollback: null,
    },
    timeseries: [],
  })
}

export function runRecord(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    schema_version: 2,
    run_id: '20261128T112233Z-3f9a1c',
    started_at: '2026-11-28T11:22:33.000Z',
    finished_at: '2026-11-28T11:24:28.000Z',
    partial: false,
    selection: ['pms'],
    target: { urls: ['http://127.0.0.1:41234'], instances: ['sandbox-1'], sandbox: true },
    outcome: 'FAILED',
    exit_code: 1,
    options: {
      rate: 20,
      baseline_seconds: 10,
      interval_seconds: 1,
      recovery_timeout_seconds: 120,
      pause_seconds: 30,
    },
    experiments: [guideExperiment()],
    ...overrides,
  }
}
