/**
 * Pushing experiment results (`--pushgateway URL`): what one push contains, and that a failed push
 * is reported (one warning line, a `chaos_pushgateway_push_failed` event) without failing or hiding
 * the result. The push to a real Pushgateway is in prometheus-integration.test.ts.
 */
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChaosError } from '../src/errors.js'
import {
  PUSHED_METRIC_NAMES,
  createResultPusher,
  experimentRegistry,
  experimentResultValues,
  parsePushgatewayUrl,
  type PushFailure,
} from '../src/observability/pushgateway.js'
import { guideExperiment, skippedExperiment } from './report-fixtures.js'
import { fixture, latestReport, readEvents } from './run-helpers.js'
import { fast, runChaos, tempCwd } from './support/index.js'

const NOW = Date.parse('2030-01-01T00:00:00Z')

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('experiment results as gauges', () => {
  it("pushes the guide's example analysis as its numbers (during phase, MTTR, verdict)", () => {
    expect(experimentResultValues(guideExperiment(), NOW)).toEqual({
      chaos_experiment_last_run_timestamp_seconds: Date.parse('2026-11-28T11:24:28.000Z') / 1000,
      chaos_experiment_hypothesis_held: 0,
      chaos_experiment_availability: 0.85,
      chaos_experiment_error_rate: 0.15,
      chaos_experiment_latency_p95_seconds: 0.04,
      chaos_experiment_mttr_seconds: 45,
      chaos_experiment_circuit_breaker_trips: 3,
      chaos_experiment_aborted: 0,
    })
    expect(experimentResultValues(guideExperiment({ hypothesis_held: true }), NOW)).toMatchObject({
      chaos_experiment_hypothesis_held: 1,
    })
  })

  it('leaves out what the run did not measure instead of pushing NaN', () => {
    const neverRecovered = guideExperiment({
      metrics: { ...guideExperiment().metrics, mttr_seconds: null, recovered: false },
    })
    expect(experimentResultValues(neverRecovered, NOW)).not.toHaveProperty('chaos_experiment_mttr_seconds')

    // Aborted in preflight: nothing injected, no verdict, no during phase.
    const refused = guideExperiment({
      state: 'ABORTED',
      hypothesis_held: null,
      injected_at: null,
      rolled_back_at: null,
      abort_reason: 'preflight: target service "pms_adapter" is not wrapped',
      metrics: { baseline: null, during: null, recovery: null, mttr_seconds: null, recovered: false },
    })
    expect(experimentResultValues(refused, NOW)).toEqual({
      chaos_experiment_last_run_timestamp_seconds: Date.parse('2026-11-28T11:24:28.000Z') / 1000,
      chaos_experiment_aborted: 1,
    })
  })

  it('falls back to the clock when the record has no time', () => {
    const values = experimentResultValues(guideExperiment({ started_at: null, finished_at: null }), NOW)
    expect(values.chaos_experiment_last_run_timestamp_seconds).toBe(NOW / 1000)
  })

  it('builds a fresh registry of gauges labelled with category, target service and fault type', async () => {
    const first = experimentRegistry(guideExperiment(), NOW)
    const second = experimentRegistry(guideExperiment({ id: 'other' }), NOW)
    expect(first).not.toBe(second)
    const text = await first.metrics()
    const labels = 'category="pms",target_service="pms_adapter",fault_type="EXCEPTION"'
    expect(text).toContain(`chaos_experiment_hypothesis_held{${labels}} 0`)
    expect(text).toContain(`chaos_experiment_availability{${labels}} 0.85`)
    expect(text).toContain('# TYPE chaos_experiment_mttr_seconds gauge')
    const names = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]])
    expect(names.map(([n]) => n).sort()).toEqual([...PUSHED_METRIC_NAMES].sort())
    expect(new Set(names.map(([, t]) => t))).toEqual(new Set(['gauge']))
  })
})

describe('parsePushgatewayUrl', () => {
  it('accepts http(s) URLs and rejects anything else with exit 2 naming the source', () => {
    expect(parsePushgatewayUrl('http://127.0.0.1:9091')).toBe('http://127.0.0.1:9091')
    expect(parsePushgatewayUrl('https://push.example.com/prefix')).toBe('https://push.example.com/prefix')
    for (const bad of ['localhost:9091', 'ftp://host', 'nope']) {
      let err: unknown
      try {
        parsePushgatewayUrl(bad)
      } catch (e) {
        err = e
      }
      expect(err, bad).toBeInstanceOf(ChaosError)
      expect((err as ChaosError).exitCode).toBe(2)
      expect((err as ChaosError).message).toMatch(/^--pushgateway: /)
    }
  })
})

describe('createResultPusher', () => {
  let url: string
  beforeAll(async () => {
    url = `http://127.0.0.1:${await closedPort()}`
  })

  it('reports a push that cannot connect, and resolves anyway', async () => {
    const failures: PushFailure[] = []
    const push = createResultPusher({ url, onFailure: (f) => void failures.push(f) })
    await expect(push(guideExperiment(), 'run-1')).resolves.toBeUndefined()
    expect(failures).toEqual([
      {
        run_id: 'run-1',
        experiment_id: 'pms_api_failure',
        pushgateway: url,
        error: expect.stringMatching(/ECONNREFUSED/) as string,
      },
    ])
  })

  it('never pushes an experiment the suite skipped', async () => {
    const failures: PushFailure[] = []
    const push = createResultPusher({ url, onFailure: (f) => void failures.push(f) })
    await push(skippedExperiment(), 'run-1')
    expect(failures).toEqual([])
  })

  it('survives a failure reporter that throws', async () => {
    const push = createResultPusher({
      url,
      onFailure: () => {
        throw new Error('disk full')
      },
    })
    await expect(push(guideExperiment(), 'run-1')).resolves.toBeUndefined()
  })
})

describe('chaos run --pushgateway (compiled CLI)', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterAll(async () => {
    await Promise.all(cleanups.map((c) => c()))
  })

  it('a Pushgateway that is down gives one warning line and an event; the verdict stands (exit 0)', async () => {
    const { dir: cwd, cleanup } = await tempCwd()
    cleanups.push(cleanup)
    const url = `http://127.0.0.1:${await closedPort()}`
    const result = await runChaos(['run', fixture('e2e_pass'), ...fast(), '--pushgateway', url], { cwd })
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
    expect(result.stdout).toContain('PASSED (exit 0)')
    const warnings = String(result.stderr)
      .split('\n')
      .filter((l) => l.includes('Pushgateway'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(
      new RegExp(
        `^warning: could not push the results of e2e_pass to the Pushgateway ${url}: .*ECONNREFUSED`,
      ),
    )
    const report = await latestReport(cwd)
    expect(report.outcome).toBe('PASSED')
    const failed = (await readEvents(cwd)).filter((e) => e.event === 'chaos_pushgateway_push_failed')
    expect(failed).toEqual([
      expect.objectContaining({
        run_id: report.run_id,
        experiment_id: 'e2e_pass',
        pushgateway: url,
        level: 'warn',
      }),
    ])
  })

  it('a bad --pushgateway is a usage error (exit 2) before anything runs', async () => {
    const { dir: cwd, cleanup } = await tempCwd()
    cleanups.push(cleanup)
    const result = await runChaos(['run', fixture('e2e_pass'), '--pushgateway', 'localhost:9091'], { cwd })
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('Error: --pushgateway: "localhost:9091" is not an http(s) URL')
    expect(result.stdout).not.toContain('started the built-in sandbox')
  })
})
