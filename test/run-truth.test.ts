/**
 * `chaos run` measurement truth: the compiled CLI against `chaos sandbox` started by the test, so
 * that the runner's counts can be compared with the sandbox's own counters and its latency with
 * the injected delay. In the truth project: alone on the machine, after the rest of the suite.
 */
import { beforeAll, describe, expect } from 'vitest'
import {
  apiRequests,
  expectCountsAddUp,
  fixture,
  latestReport,
  preflightRouteChecks,
  requestsByRoute,
} from './run-helpers.js'
import { assertBuilt, fast, runBudgetMs, runChaos, test } from './support/index.js'

beforeAll(assertBuilt)

const RUN = fast({ baseline: '2s' })

describe('chaos run measurement truth (external sandbox)', () => {
  test(
    'counts exactly the requests the sandbox served, and shows +200 ms injected latency at p50',
    async ({ workdir: cwd, externalSandbox: sandbox }) => {
      const before = await requestsByRoute(sandbox.url)
      const result = await runChaos(
        ['run', fixture('e2e_latency_truth'), '--target', sandbox.url, '--token', sandbox.token, ...RUN],
        { cwd },
      )
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
      const after = await requestsByRoute(sandbox.url)

      const report = await latestReport(cwd)
      const [e] = report.experiments
      const phases = [e!.metrics.baseline, e!.metrics.during, e!.metrics.recovery]
      phases.forEach((m, i) => expectCountsAddUp(['baseline', 'during', 'recovery'][i]!, m))
      const runner = phases.reduce((n, m) => n + m!.total_requests, 0)
      expect(phases.every((m) => m!.dropped_requests === 0)).toBe(true)
      // The workload only calls GET /api/availability; /metrics (scraped by runner and test) is left out.
      // The preflight's route check sent one request there too, journaled, outside every phase.
      const served = apiRequests(after) - apiRequests(before)
      const probes = await preflightRouteChecks(cwd)
      expect(probes).toBe(1)
      expect(served, 'sandbox http_requests_total delta over the API routes').toBe(runner + probes)
      expect((after.get('/api/availability') ?? 0) - (before.get('/api/availability') ?? 0)).toBe(served)

      // One PMS call per request, no retries: every request during injection waited the 200 ms, and
      // p50 moves by about that. The upper tolerance is the baseline's own spread (p99 - p50): what
      // this machine's scheduling adds to a request, measured in the same run, never less than 10 %.
      const baseline = e!.metrics.baseline!.latency_ms
      const during = e!.metrics.during!.latency_ms
      expect(during.p50).toBeGreaterThanOrEqual(200)
      const added = during.p50 - baseline.p50
      expect(added).toBeGreaterThanOrEqual(180)
      expect(added).toBeLessThanOrEqual(200 + Math.max(20, baseline.p99 - baseline.p50))
    },
    runBudgetMs(RUN),
  )
})
