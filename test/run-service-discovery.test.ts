/**
 * Issue 13: `executeRun` with discovery only (no static target), in-process against two real
 * sandboxes over real HTTP. Discovery runs again before each experiment of the suite: the first
 * finds one sandbox UP and the other DOWN (skipped), the second finds both UP; each experiment
 * records what it found, and each sandbox's agent says which experiments it ran.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../src/clock.js'
import { executeRun, type RunInput } from '../src/engine/run-service.js'
import type { DiscoveredInstance } from '../src/record.js'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { Scenario } from '../src/scenario/schema.js'

const TOKEN = 'test-token-0123456789'

const scenario = (id: string, radius: 'SINGLE_SERVICE' | 'SERVICE_CLUSTER') =>
  Scenario.parse({
    id,
    name: id,
    category: 'network',
    target_service: 'pms_adapter',
    duration_seconds: 1,
    steady_state_hypothesis: 'slower but no errors',
    fault_config: { fault_type: 'LATENCY', probability: 0.5, latency_ms: 20, blast_radius: radius },
    checks: ['error_rate < 5% before'],
    workload: { requests: [{ path: '/api/availability?check_in={{today+3}}&check_out={{today+5}}' }] },
  })

let sandboxes: Sandbox[]
let dir: string
beforeEach(async () => {
  sandboxes = await Promise.all([0, 1].map(() => startSandbox({ token: TOKEN, defaultMetrics: false })))
  dir = await mkdtemp(join(tmpdir(), 'chaos-run-discovery-'))
})
afterEach(async () => {
  await Promise.all(sandboxes.map((s) => s.close()))
  await rm(dir, { recursive: true, force: true })
})

describe('executeRun with discovery (in-process, two real sandboxes)', () => {
  it('finds the instances again before each experiment, skips a DOWN one, and records both discoveries', async () => {
    const [a, b] = sandboxes as [Sandbox, Sandbox]
    // Sorted by url in the record: know which sandbox comes first.
    const [first, second] = [a, b].sort((x, y) => (x.url < y.url ? -1 : 1)) as [Sandbox, Sandbox]
    const calls: string[] = []
    let started = 0
    const discover = (): Promise<DiscoveredInstance[]> => {
      calls.push(`discover before experiment ${started}`)
      const secondState = calls.length === 1 ? 'DOWN' : 'UP'
      return Promise.resolve([
        // Given out of order: the engine sorts discovered instances by url.
        {
          url: second.url,
          source: 'dns:hotel.test',
          state: secondState,
          reason: secondState === 'DOWN' ? 'Prometheus reports up == 0' : null,
        },
        { url: first.url, source: 'dns:hotel.test', state: 'UP', reason: null },
      ])
    }
    const input: RunInput = {
      scenarios: [scenario('one_instance', 'SINGLE_SERVICE'), scenario('whole_cluster', 'SERVICE_CLUSTER')],
      selection: ['network'],
      targets: [],
      discover,
      discoverSpecs: ['dns:hotel.test'],
      token: TOKEN,
      sandbox: true,
      options: {
        baselineMs: 500,
        pauseMs: 0,
        intervalMs: 250,
        recoveryTimeoutMs: 10_000,
        rate: 20,
        allowEntireSystem: false,
      },
      keepGoing: true,
      leaseSeconds: 30,
      reportsDir: dir,
    }
    const { record } = await executeRun(input, {
      clock: systemClock,
      signal: new AbortController().signal,
      pid: process.pid,
      isAlive: () => true,
      onExperimentStart: (_s, index) => (started = index + 1),
    })
    expect(calls).toEqual(['discover before experiment 1', 'discover before experiment 2'])
    const [one, two] = record.experiments as [(typeof record.experiments)[0], (typeof record.experiments)[0]]
    expect(one.state).toBe('COMPLETED')
    expect(two.state).toBe('COMPLETED')
    expect(one.discovery).toEqual({
      sources: ['dns:hotel.test'],
      found: [
        { url: first.url, source: 'dns:hotel.test', state: 'UP', reason: null },
        { url: second.url, source: 'dns:hotel.test', state: 'DOWN', reason: 'Prometheus reports up == 0' },
      ],
      skipped: [{ url: second.url, reason: 'Prometheus reports up == 0' }],
    })
    expect(two.discovery?.skipped).toEqual([])
    expect(one.instances?.map((i) => [i.url, i.start])).toEqual([[first.url, 'STARTED']])
    expect(two.instances?.map((i) => [i.url, i.start, i.rollback_verified])).toEqual([
      [first.url, 'STARTED', true],
      [second.url, 'STARTED', true],
    ])
    // The workload of the second experiment was spread over both instances.
    expect(two.instances?.every((i) => (i.requests ?? 0) > 0)).toBe(true)
    // Read back from each agent: the first ran both experiments, the second only the cluster one.
    const ran = (s: Sandbox) =>
      [one, two].filter((e) => s.agent!.getExperiment(`${e.id}.${record.run_id.toLowerCase()}`))
    expect(ran(first).map((e) => e.id)).toEqual(['one_instance', 'whole_cluster'])
    expect(ran(second).map((e) => e.id)).toEqual(['whole_cluster'])
    expect(record.target.urls).toEqual([first.url, second.url])
    expect(record.target.discover).toEqual(['dns:hotel.test'])
  })
})
