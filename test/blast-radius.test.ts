/**
 * The blast radius, measured: a SINGLE_REQUEST experiment against the real sandbox (in-process,
 * over real HTTP) with background "real user" traffic that never carries the runner's signed tag.
 * The runner reports that other traffic's errors as `collateral` (the target's http_requests_total
 * minus its own requests, per phase), and `collateral_error_rate` checks bound it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { systemClock } from '../src/clock.js'
import { evaluateCheck } from '../src/engine/evaluate.js'
import { EMPTY_SAMPLE } from '../src/engine/phases/context.js'
import { collateral } from '../src/engine/phases/measure.js'
import type { ProbeSample } from '../src/engine/probe.js'
import { executeRun, type RunInput } from '../src/engine/run-service.js'
import { createScrapeProbe } from '../src/engine/scrape-probe.js'
import type { WorkloadSummary } from '../src/engine/timeline.js'
import type { PhaseMetrics } from '../src/record.js'
import { parseCheck } from '../src/scenario/checks.js'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { Scenario } from '../src/scenario/schema.js'

const TOKEN = 'blast-radius-token-0123'
const BACKGROUND_RPS = 10
const AVAILABILITY = '/api/availability?check_in={{today+3}}&check_out={{today+5}}'
const BOOKING = {
  method: 'POST',
  path: '/api/bookings',
  body: {
    guest_name: 'Chaos Guest',
    room_type: 'STANDARD',
    check_in: '{{today+3}}',
    check_out: '{{today+5}}',
  },
}

let sandbox: Sandbox | undefined
let dir: string | undefined
afterEach(async () => {
  await sandbox?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
  sandbox = undefined
  dir = undefined
})

async function run(scenario: Scenario) {
  // A short half-open delay, so the runner's own recovery after the rollback is quick.
  sandbox = await startSandbox({
    token: TOKEN,
    defaultMetrics: false,
    backgroundRps: BACKGROUND_RPS,
    retryBaseDelayMs: 5,
    breakerHalfOpenAfterMs: 1000,
  })
  dir = await mkdtemp(join(tmpdir(), 'chaos-blast-radius-'))
  const input: RunInput = {
    scenarios: [scenario],
    selection: [scenario.id],
    targets: [sandbox.url],
    token: TOKEN,
    sandbox: true,
    options: {
      baselineMs: 1500,
      pauseMs: 0,
      intervalMs: 500,
      recoveryTimeoutMs: 20_000,
      rate: 20,
      allowEntireSystem: false,
    },
    keepGoing: false,
    leaseSeconds: 30,
    reportsDir: dir,
  }
  const result = await executeRun(input, {
    clock: systemClock,
    signal: new AbortController().signal,
    pid: process.pid,
    isAlive: () => true,
  })
  return { ...result, experiment: result.record.experiments[0]! }
}

describe('collateral: the traffic that is not the runner’s', () => {
  it('a SINGLE_REQUEST fault that trips a shared breaker fails other users: collateral > 0, the check fails', async () => {
    // Tagged bookings fail every database attempt; the database breaker is shared, so it opens
    // for the background users' bookings too (503 CIRCUIT_OPEN), though none of them is tagged.
    const { experiment, record, written } = await run(
      Scenario.parse({
        id: 'shared_breaker',
        name: 'Database deadlocks for tagged bookings',
        category: 'database',
        target_service: 'database',
        duration_seconds: 3,
        steady_state_hypothesis: 'only the runner’s requests fail',
        fault_config: {
          fault_type: 'EXCEPTION',
          probability: 1,
          exception_class: 'DeadlockError',
          blast_radius: 'SINGLE_REQUEST',
        },
        checks: ['collateral_error_rate < 1% before', 'collateral_error_rate < 1% during'],
        // Availability searches too, so the runner's own error rate stays under the 50 % safety limit.
        workload: {
          requests: [
            { ...BOOKING, weight: 1 },
            { path: AVAILABILITY, weight: 2 },
          ],
        },
      }),
    )
    expect(experiment.rollback.verified).toBe(true)
    const { baseline, during } = experiment.metrics
    // Other traffic was measured in both phases, at about the background rate.
    expect(baseline!.collateral!.requests).toBeGreaterThan(0)
    expect(baseline!.collateral!.errors).toBe(0)
    const injectedSeconds =
      (Date.parse(experiment.rolled_back_at!) - Date.parse(experiment.injected_at!)) / 1000
    expect(during!.collateral!.requests).toBeGreaterThan(BACKGROUND_RPS * injectedSeconds * 0.5)
    expect(during!.collateral!.requests).toBeLessThan(BACKGROUND_RPS * injectedSeconds * 1.5)
    expect(during!.collateral!.errors).toBeGreaterThan(0)
    expect(during!.collateral!.error_rate).toBeGreaterThan(0.05)
    // The background users really did meet those failures (the sandbox's own count).
    expect(sandbox!.background().errors).toBeGreaterThanOrEqual(during!.collateral!.errors * 0.5)
    const [before, duringCheck] = experiment.checks
    expect(before).toMatchObject({ expression: 'collateral_error_rate < 1% before', passed: true, actual: 0 })
    expect(duringCheck).toMatchObject({ expression: 'collateral_error_rate < 1% during', passed: false })
    expect(duringCheck!.actual).toBe(during!.collateral!.error_rate)
    expect(record.outcome).toBe('FAILED')
    const text = await readFile(written.text, 'utf8')
    expect(text).toMatch(
      /Collateral \(other traffic\): during \d+ of \d+ failed \(\d+(\.\d+)?%\); baseline 0 of \d+ failed \(0%\)/,
    )
  })

  it('a SINGLE_REQUEST fault that nothing shared notices leaves other users alone: collateral ~0, the check holds', async () => {
    const { experiment } = await run(
      Scenario.parse({
        id: 'contained_latency',
        name: 'Slow PMS for tagged requests',
        category: 'pms',
        target_service: 'pms_adapter',
        duration_seconds: 3,
        steady_state_hypothesis: 'nobody else notices',
        fault_config: {
          fault_type: 'LATENCY',
          probability: 1,
          latency_ms: 30,
          blast_radius: 'SINGLE_REQUEST',
        },
        checks: ['faults_injected > 0 during', 'collateral_error_rate < 1% during'],
        workload: { requests: [{ path: AVAILABILITY }] },
      }),
    )
    expect(experiment.state).toBe('COMPLETED')
    const during = experiment.metrics.during!
    expect(during.faults_injected).toBeGreaterThan(0)
    expect(during.collateral!.requests).toBeGreaterThan(0)
    expect(during.collateral!.errors).toBe(0)
    expect(experiment.checks.map((c) => [c.expression, c.passed])).toEqual([
      ['faults_injected > 0 during', true],
      ['collateral_error_rate < 1% during', true],
    ])
    expect(experiment.hypothesis_held).toBe(true)
  })
})

describe('collateral arithmetic and the probe', () => {
  /** Serves `body()` as /metrics on a free port. */
  async function metricsServer(body: () => string) {
    const server = createServer((_req, res) => res.end(body()))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
  }

  it('reads http_requests_total by status or code label, leaving out the /metrics route', async () => {
    let text = [
      '# TYPE http_requests_total counter',
      'http_requests_total{handler="/api",code="200"} 90',
      'http_requests_total{handler="/api",code="503"} 10',
      'http_requests_total{handler="/metrics",code="200"} 1000',
      'http_requests_total{handler="/api",code="404"} 5',
    ].join('\n')
    const server = await metricsServer(() => text)
    const probe = createScrapeProbe({ target: server.url })
    try {
      expect(await probe.sample('x', 'svc')).toMatchObject({ http_requests: 105, http_errors: 15 })
      // Without a status label, errors cannot be told apart: unknown, not 0.
      // (Another experiment each time: counters are monotonic from an experiment's first reading.)
      text = '# TYPE http_requests_total counter\nhttp_requests_total{route="/a"} 7'
      expect(await probe.sample('y', 'svc')).toMatchObject({ http_requests: 7, http_errors: null })
      text = '# TYPE other_total counter\nother_total 1'
      expect(await probe.sample('z', 'svc')).toMatchObject({ http_requests: null, http_errors: null })
    } finally {
      await probe.close()
      await server.close()
    }
  })

  const sample = (requests: number | null, errors: number | null): ProbeSample => ({
    ...EMPTY_SAMPLE,
    http_requests: requests,
    http_errors: errors,
  })
  const summary = (total: number, failed: number) =>
    ({ total_requests: total, failed_requests: failed }) as WorkloadSummary

  it("subtracts the runner's own requests and failures, clamped at 0; null when not measured", () => {
    expect(collateral(summary(40, 4), sample(100, 10), sample(200, 30))).toEqual({
      requests: 60,
      errors: 16,
      error_rate: 0.266667,
    })
    // The runner's count may run ahead of the target's at a boundary: never below 0.
    expect(collateral(summary(40, 4), sample(100, 10), sample(130, 12))).toEqual({
      requests: 0,
      errors: 0,
      error_rate: null,
    })
    expect(collateral(summary(40, 4), sample(null, null), sample(130, 12))).toBeNull()
    expect(collateral(summary(40, 4), sample(100, null), sample(130, null))).toBeNull()
    expect(collateral(summary(1, 0), { ...EMPTY_SAMPLE }, { ...EMPTY_SAMPLE })).toBeNull()
  })

  it('a collateral_error_rate check reads the other traffic, and says why when it cannot', () => {
    const check = (expression: string) => ({ name: expression, ...parseCheck(expression) })
    const phase = (c: PhaseMetrics['collateral']) => ({ ...PHASE, collateral: c }) as PhaseMetrics
    const during = check('collateral_error_rate < 1% during')
    expect(
      evaluateCheck(during, { phase: phase({ requests: 50, errors: 5, error_rate: 0.1 }), baseline: null }),
    ).toMatchObject({ actual: 0.1, expected: 0.01, passed: false })
    expect(
      evaluateCheck(during, { phase: phase({ requests: 50, errors: 0, error_rate: 0 }), baseline: null }),
    ).toMatchObject({ actual: 0, passed: true })
    expect(evaluateCheck(during, { phase: phase(null), baseline: null })).toMatchObject({
      passed: null,
      detail:
        "not evaluated: http_requests_total (with a status label) could not be read from the target's /metrics",
    })
    expect(
      evaluateCheck(during, { phase: phase({ requests: 0, errors: 0, error_rate: null }), baseline: null }),
    ).toMatchObject({
      passed: null,
      detail: 'not evaluated: the target served no other traffic in the during phase',
    })
    const relative = check('collateral_error_rate <= 2x baseline during')
    expect(
      evaluateCheck(relative, {
        phase: phase({ requests: 50, errors: 2, error_rate: 0.04 }),
        baseline: phase({ requests: 50, errors: 1, error_rate: 0.02 }),
      }),
    ).toMatchObject({ actual: 0.04, expected: 0.04, passed: true })
  })
})

/** A phase with nothing remarkable but its collateral. */
const PHASE: Omit<PhaseMetrics, 'collateral'> = {
  total_requests: 100,
  affected_requests: null,
  faults_injected: 0,
  successful_requests: 100,
  failed_requests: 0,
  dropped_requests: 0,
  error_rate: 0,
  availability: 1,
  latency_ms: { p50: 1, p95: 2, p99: 3, max: 4 },
  throughput_rps: 20,
  circuit_breaker_trips: 0,
  failures_by_class: {},
}
