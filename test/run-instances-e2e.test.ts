/**
 * Defect 8, several instances: `chaos run` with two `--target`s through the compiled CLI, against
 * two real sandboxes. The fault reaches both (SERVICE_CLUSTER), the workload is spread over both,
 * and the report's per-instance counts are checked against each sandbox's own request counter and
 * agent. With `--workload-url`, all workload goes to that URL instead, and the report says that
 * the other instance had the fault but no workload.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import {
  apiRequests,
  fixture,
  latestReport,
  preflightRouteChecks,
  REPORTS,
  requestsByRoute,
} from './run-helpers.js'
import {
  assertBuilt,
  fast,
  runBudgetMs,
  runChaos,
  stopStragglers,
  test,
  type ControlClient,
} from './support/index.js'

beforeAll(assertBuilt)
afterAll(() => stopStragglers())

const SCENARIO = 'e2e_latency_truth'
const RUN = [...fast({ baseline: '1s', duration: '3s' }), '--blast-radius', 'SERVICE_CLUSTER']

/** Faults the sandbox's agent counted for this run's experiment (it remembers ended experiments). */
async function faultsOf(sandbox: { control: ControlClient }): Promise<number> {
  const runs = (await sandbox.control.list()).filter((e) => e.id.startsWith(`${SCENARIO}.`))
  expect(runs, 'one experiment of this run on the agent').toHaveLength(1)
  return runs[0]!.faults_injected
}

describe.concurrent('defect 8: several instances (compiled CLI, two sandboxes)', () => {
  test(
    'defect 8 (several instances): spreads the workload over both instances, injects on both, and reports each one',
    async ({ workdir: cwd, openSandbox }) => {
      const a = await openSandbox()
      const b = await openSandbox()
      const before = await Promise.all([a, b].map((s) => requestsByRoute(s.url)))
      const result = await runChaos(
        [
          'run',
          fixture(SCENARIO),
          '--target',
          a.url,
          '--target',
          b.url,
          '--token',
          'test-token-0123456789',
          ...RUN,
        ],
        { cwd },
      )
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
      const after = await Promise.all([a, b].map((s) => requestsByRoute(s.url)))
      // The preflight's route check goes to the first instance (where the workload goes first).
      const probes = await preflightRouteChecks(cwd)
      const served = after.map((m, i) => apiRequests(m) - apiRequests(before[i]!) - (i === 0 ? probes : 0))

      const report = await latestReport(cwd)
      const [e] = report.experiments
      const instances = e!.instances!
      expect(instances.map((i) => i.url)).toEqual([a.url, b.url])
      expect(instances.every((i) => i.reached)).toBe(true)
      // Each instance served exactly what the report says it sent there, and about half of it.
      expect(instances.map((i) => i.requests)).toEqual(served)
      expect(Math.abs(served[0]! - served[1]!)).toBeLessThanOrEqual(1)
      const total = [e!.metrics.baseline, e!.metrics.during, e!.metrics.recovery].reduce(
        (n, m) => n + m!.total_requests,
        0,
      )
      expect(served[0]! + served[1]!).toBe(total)
      // Both faults were exercised: each agent injected into calls of the runner's requests.
      for (const sandbox of [a, b]) expect(await faultsOf(sandbox)).toBeGreaterThan(0)
      const text = await readFile(join(cwd, REPORTS, 'latest.txt'), 'utf8')
      expect(text).toContain('Instances:')
      expect(text).toContain(`  - ${b.url}: fault started, ${served[1]} requests, 0 failed (0%)`)
      expect(e!.analysis.map((l) => l.message).join('\n')).not.toContain('received no workload')
    },
    runBudgetMs(RUN),
  )

  test(
    'defect 8: --workload-url sends everything to that URL, and the report names the faulted instance left without workload',
    async ({ workdir: cwd, openSandbox }) => {
      const a = await openSandbox()
      const b = await openSandbox()
      const before = await Promise.all([a, b].map((s) => requestsByRoute(s.url)))
      const args = [
        'run',
        fixture(SCENARIO),
        '--target',
        a.url,
        '--target',
        b.url,
        '--token',
        'test-token-0123456789',
        '--workload-url',
        a.url,
        ...RUN,
      ]
      const result = await runChaos(args, { cwd })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
      const after = await Promise.all([a, b].map((s) => requestsByRoute(s.url)))
      // The preflight's route check went to the workload URL too.
      const probes = await preflightRouteChecks(cwd)
      const served = after.map((m, i) => apiRequests(m) - apiRequests(before[i]!) - (i === 0 ? probes : 0))

      const report = await latestReport(cwd)
      expect(report.target.workload_url).toBe(a.url)
      const [e] = report.experiments
      const total = [e!.metrics.baseline, e!.metrics.during, e!.metrics.recovery].reduce(
        (n, m) => n + m!.total_requests,
        0,
      )
      expect(served).toEqual([total, 0])
      expect(e!.instances!.map((i) => [i.url, i.reached, i.requests])).toEqual([
        [a.url, true, total],
        [b.url, true, 0],
      ])
      // B had the fault, but no request of the runner reached it: said, not hidden.
      expect(await faultsOf(b)).toBe(0)
      expect(e!.analysis).toContainEqual({
        level: 'WARN',
        message: `Instance ${b.url} had the fault but received no workload - its fault was never exercised by the runner's requests`,
      })
      expect(await readFile(join(cwd, REPORTS, 'latest.txt'), 'utf8')).toContain(`Workload: ${a.url}`)
    },
    runBudgetMs(RUN),
  )
})
