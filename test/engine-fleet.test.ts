/**
 * Issue 13, the engine across a fleet (in-process, virtual clock): the start goes to every reached
 * instance at once, bounded by max_parallel, all or nothing; the rollback is concurrent and
 * verified per instance; discovered instances are merged with the static ones and skipped by the
 * blast radius's rules; a suite finds its instances again before each experiment.
 */
import { describe, expect, it } from 'vitest'
import type { ControlClient } from '../src/engine/control-client.js'
import { runExperiment, type ExperimentOptions } from '../src/engine/experiment.js'
import { mergeInstances } from '../src/engine/fan-out.js'
import { startLeaseRenewal } from '../src/engine/phases/inject.js'
import type { FoundInstances } from '../src/engine/phases/context.js'
import { runSuite, verdict } from '../src/engine/suite.js'
import { ExitCode } from '../src/exit-codes.js'
import { createMemoryLogger } from '../src/logger.js'
import type { DiscoveredInstance } from '../src/record.js'
import type { Scenario } from '../src/scenario/schema.js'
import { TEST_OPTIONS, testScenario } from './support/engine.js'
import { FakeTarget, type FakeTargetKnobs } from './support/fake-target.js'
import { createVirtualClock, type VirtualClock } from './support/virtual-clock.js'

const cluster = (): Scenario =>
  testScenario({
    duration_seconds: 5,
    fault_config: {
      fault_type: 'EXCEPTION',
      probability: 0.2,
      exception_class: 'PMSError',
      blast_radius: 'SERVICE_CLUSTER',
    },
    checks: ['error_rate < 1% before'],
  })

const single = (): Scenario => testScenario({ duration_seconds: 5, checks: ['error_rate < 1% before'] })

/** `n` fake targets on one virtual clock, knobs per index. */
function fleet(vc: VirtualClock, n: number, knobs: (i: number) => Partial<FakeTargetKnobs> = () => ({})) {
  return Array.from({ length: n }, (_, i) => new FakeTarget(vc.clock, knobs(i), `http://fake-${i}.test`))
}

/**
 * A client whose `op` calls are received at once but answered only when `release` of them are
 * held (or after 1 s of virtual time, so that a serial caller ends instead of hanging). `log`
 * records what the instances themselves saw: each receipt and each answer, in order.
 */
function gated(
  vc: VirtualClock,
  clients: readonly ControlClient[],
  op: 'start' | 'stop' | 'renew',
  release: number,
): { clients: ControlClient[]; maxInFlight: () => number; log: string[] } {
  const held: Array<() => void> = []
  const log: string[] = []
  let inFlight = 0
  let max = 0
  const open = () => held.splice(0).forEach((go) => go())
  const wrap = (client: ControlClient): ControlClient => ({
    ...client,
    target: client.target,
    [op]: (...args: unknown[]) => {
      log.push(`received ${client.target}`)
      inFlight++
      max = Math.max(max, inFlight)
      return new Promise((resolve, reject) => {
        held.push(() => {
          inFlight--
          log.push(`answered ${client.target}`)
          ;(client[op] as (...a: unknown[]) => Promise<unknown>)(...args).then(resolve, reject)
        })
        if (held.length >= release) open()
        else vc.clock.setTimeout(open, 1_000)
      })
    },
  })
  return { clients: clients.map(wrap), maxInFlight: () => max, log }
}

async function run(
  vc: VirtualClock,
  targets: readonly FakeTarget[],
  scenario: Scenario,
  options: Partial<ExperimentOptions> = {},
  extra: {
    clients?: ControlClient[]
    findInstances?: (s: AbortSignal) => Promise<FoundInstances>
    controller?: AbortController
  } = {},
) {
  const events = createMemoryLogger()
  const record = await vc.run(
    runExperiment(
      scenario,
      { ...TEST_OPTIONS, ...options },
      {
        clients: extra.clients ?? targets.map((t) => t.client()),
        probes: targets.map((t) => t.probe()),
        ...(extra.findInstances && { findInstances: extra.findInstances }),
        createWorkload: () => targets[0]!.workload(20),
        clock: vc.clock,
        events,
      },
      (extra.controller ?? new AbortController()).signal,
    ),
  )
  return { record, events }
}

/** What each agent itself says is active now (the read-back). */
async function activeOn(targets: readonly FakeTarget[]): Promise<number[]> {
  return Promise.all(targets.map(async (t) => (await t.client().info()).active_experiments.length))
}

describe('start across a fleet', () => {
  it('is sent to 20 instances at once: every instance received its start before any was answered', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 20)
    const gate = gated(
      vc,
      targets.map((t) => t.client()),
      'start',
      20,
    )
    const { record } = await run(vc, targets, cluster(), {}, { clients: gate.clients })
    expect(record.state).toBe('COMPLETED')
    expect(gate.maxInFlight()).toBe(20)
    const starts = gate.log.filter((l) => l.startsWith('received'))
    expect(starts).toHaveLength(20)
    expect(gate.log.findIndex((l) => l.startsWith('answered'))).toBe(20)
    expect(record.instances?.map((i) => i.start)).toEqual(Array(20).fill('STARTED'))
    expect(await activeOn(targets)).toEqual(Array(20).fill(0))
  })

  it('never has more than max_parallel starts in flight', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 12)
    const gate = gated(
      vc,
      targets.map((t) => t.client()),
      'start',
      4,
    )
    const { record } = await run(vc, targets, cluster(), { maxParallel: 4 }, { clients: gate.clients })
    expect(record.state).toBe('COMPLETED')
    expect(gate.maxInFlight()).toBe(4)
    expect(targets.every((t) => t.callsOf('start').length === 1)).toBe(true)
  })

  it('rolls back 20 instances at once too (each DELETE received before any was answered)', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 20)
    const gate = gated(
      vc,
      targets.map((t) => t.client()),
      'stop',
      20,
    )
    const { record } = await run(vc, targets, cluster(), {}, { clients: gate.clients })
    expect(record.rollback).toMatchObject({ verified: true, method: 'DELETE', attempts: 20 })
    expect(gate.maxInFlight()).toBe(20)
    expect(record.instances?.every((i) => i.rollback_verified === true)).toBe(true)
  })

  it('all or nothing: one instance refusing (409) aborts (exit 3), and the others are rolled back', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 5, (i) => ({ startConflict: i === 3 }))
    const { record } = await run(vc, targets, cluster())
    expect(record.state).toBe('ABORTED')
    expect(record.abort_reason).toContain('instance http://fake-3.test refused the start')
    expect(record.abort_reason).toContain('(409)')
    expect(record.abort_reason).toContain('the 4 started were rolled back')
    expect(record.injected_at).toBeNull()
    expect(verdict([record], false)).toEqual({ outcome: 'ABORTED', exitCode: ExitCode.SAFETY })
    // Read back from each instance: nothing of the experiment is left anywhere.
    expect(await activeOn(targets)).toEqual([0, 0, 0, 0, 0])
    for (const [i, t] of targets.entries()) {
      expect(t.callsOf('start')).toHaveLength(1)
      // The refusing instance is never sent a rollback (its stop-all could end another runner's experiment).
      expect(t.callsOf('stop')).toHaveLength(i === 3 ? 0 : 1)
      expect(t.callsOf('stopAll')).toHaveLength(0)
    }
    expect(record.rollback).toMatchObject({ attempted: true, verified: true, attempts: 4 })
    expect(record.instances?.map((i) => [i.start, i.reached, i.rollback_verified])).toEqual([
      ['STARTED', true, true],
      ['STARTED', true, true],
      ['STARTED', true, true],
      ['REFUSED', false, null],
      ['STARTED', true, true],
    ])
  })

  it('a start with no answer (unreachable) fails the experiment, and that instance is rolled back too', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 3)
    const clients = targets.map((t) => t.client())
    // Reachable at preflight; the start itself gets no answer (the target may have taken it).
    const lost: ControlClient = {
      ...clients[1]!,
      target: clients[1]!.target,
      start: async (body, signal) => {
        await clients[1]!.start(body, signal)
        throw new Error('socket hang up')
      },
    }
    const { record } = await run(vc, targets, cluster(), {}, { clients: [clients[0]!, lost, clients[2]!] })
    expect(record.state).toBe('FAILED')
    expect(record.error).toBe('http://fake-1.test: socket hang up')
    expect(targets.map((t) => t.callsOf('stop').length)).toEqual([1, 1, 1])
    expect(await activeOn(targets)).toEqual([0, 0, 0])
    expect(record.instances?.map((i) => i.start)).toEqual(['STARTED', 'FAILED', 'STARTED'])
  })
})

describe('Ctrl-C during the start of a fleet', () => {
  it('is INTERRUPTED; every instance that got its start is rolled back, the ones not sent are left alone', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 6)
    const controller = new AbortController()
    const clients = targets.map((t) => t.client())
    // Ctrl-C arrives while the third start is on its way (two at a time).
    const third: ControlClient = {
      ...clients[2]!,
      target: clients[2]!.target,
      start: (body, signal) => {
        controller.abort('SIGINT')
        return clients[2]!.start(body, signal)
      },
    }
    const { record } = await run(
      vc,
      targets,
      cluster(),
      { maxParallel: 2 },
      { clients: [clients[0]!, clients[1]!, third, ...clients.slice(3)], controller },
    )
    expect(record.state).toBe('INTERRUPTED')
    expect(record.rollback.verified).toBe(true)
    expect(await activeOn(targets)).toEqual([0, 0, 0, 0, 0, 0])
    expect(targets.map((t) => t.callsOf('start').length)).toEqual([1, 1, 1, 0, 0, 0])
    expect(targets.map((t) => t.callsOf('stop').length)).toEqual([1, 1, 1, 0, 0, 0])
    expect(record.instances?.map((i) => i.start)).toEqual([
      'STARTED',
      'STARTED',
      'STARTED',
      'NOT_SENT',
      'NOT_SENT',
      'NOT_SENT',
    ])
  })
})

describe('lease renewal across a fleet', () => {
  it('renews on every instance at once within max_parallel, and journals each failure with its instance', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 12)
    const gate = gated(
      vc,
      targets.map((t) => t.client()),
      'renew',
      4,
    )
    const events = createMemoryLogger()
    const renewal = startLeaseRenewal(gate.clients, 'not.started', 30, vc.clock, events, 4)
    // One tick (every lease/3 = 10 s), and its answers.
    await vc.run(new Promise<void>((resolve) => vc.clock.setTimeout(() => resolve(), 10_001)))
    renewal.stop()
    expect(targets.map((t) => t.callsOf('renew').length)).toEqual(Array(12).fill(1))
    expect(gate.maxInFlight()).toBe(4)
    // The experiment is unknown there (404): each instance's failure is journaled, naming it.
    const failed = events.entries.filter((e) => e.event === 'chaos_lease_renewal_failed')
    expect(failed.map((e) => e.fields.target).sort()).toEqual(targets.map((t) => t.target).sort())
  })
})

describe('rollback verified per instance', () => {
  it('names the one instance that did not verify; the others verified once and were not retried', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 4, (i) => (i === 2 ? { deleteFails: true, stopAllFails: true } : {}))
    const { record } = await run(vc, targets, cluster())
    expect(record.state).toBe('FAILED')
    expect(record.rollback).toMatchObject({ verified: false, method: 'STOP_ALL', attempts: 3 + 10 })
    expect(record.rollback.error).toMatch(
      /^http:\/\/fake-2\.test: experiment .* still listed as active after 10 attempts/,
    )
    for (const other of ['fake-0', 'fake-1', 'fake-3']) expect(record.rollback.error).not.toContain(other)
    expect(targets.map((t) => t.callsOf('stop').length)).toEqual([1, 1, 5, 1])
    expect(targets.map((t) => t.callsOf('stopAll').length)).toEqual([0, 0, 5, 0])
    expect(await activeOn(targets)).toEqual([0, 0, 1, 0])
    const lines = record.instances!
    expect(lines.map((i) => i.rollback_verified)).toEqual([true, true, false, true])
    expect(lines[2]!.rollback_error).toContain('still listed as active after 10 attempts')
    expect(lines.filter((i) => i.rollback_error !== null)).toHaveLength(1)
    // The agent's own counts, per instance, from its DELETE answer (or last view when it failed).
    expect(lines[0]!.faults_injected).toBeGreaterThan(0)
    for (const i of [1, 3]) expect(lines[i]!.faults_injected).toBe(0)
    expect(lines[0]!.calls_seen).toBeGreaterThan(lines[0]!.faults_injected!)
    expect(lines[1]!.calls_seen).toBe(0) // the workload went to instance 0 only
  })
})

describe('instances found by discovery', () => {
  const found = (targets: readonly FakeTarget[], states: DiscoveredInstance[]) => () =>
    Promise.resolve<FoundInstances>({
      sources: ['static', 'dns:hotel.test'],
      found: states,
      clients: targets.map((t) => t.client()),
      probes: targets.map((t) => t.probe()),
    })
  const instances = (): DiscoveredInstance[] => [
    { url: 'http://fake-0.test', source: 'static', state: 'UP', reason: null },
    {
      url: 'http://fake-1.test',
      source: 'dns:hotel.test',
      state: 'DOWN',
      reason: 'Prometheus reports up == 0',
    },
    { url: 'http://fake-2.test', source: 'dns:hotel.test', state: 'UP', reason: null },
    { url: 'http://fake-3.test', source: 'dns:hotel.test', state: 'UP', reason: null },
  ]

  it('SINGLE_SERVICE skips a DOWN and an unreadable discovered instance and reaches the first usable one', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 4, (i) => ({ unreachable: i === 2 }))
    const { record } = await run(vc, targets, single(), {}, { findInstances: found(targets, instances()) })
    expect(record.state).toBe('COMPLETED')
    expect(record.discovery).toEqual({
      sources: ['static', 'dns:hotel.test'],
      found: instances(),
      skipped: [
        { url: 'http://fake-1.test', reason: 'Prometheus reports up == 0' },
        { url: 'http://fake-2.test', reason: 'unreachable: ECONNREFUSED' },
      ],
    })
    // The DOWN one is not even asked; the fault reaches exactly one instance.
    expect(targets[1]!.calls).toEqual([])
    expect(targets.map((t) => t.callsOf('start').length)).toEqual([1, 0, 0, 0])
    expect(record.instances?.map((i) => [i.url, i.start])).toEqual([
      ['http://fake-0.test', 'STARTED'],
      ['http://fake-3.test', 'NOT_SENT'],
    ])
  })

  it('SERVICE_CLUSTER refuses at preflight (exit 3) naming every skipped instance; nothing is started', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 4, (i) => ({ unreachable: i === 2 }))
    const { record } = await run(vc, targets, cluster(), {}, { findInstances: found(targets, instances()) })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_cause).toBe('PREFLIGHT_REFUSED')
    expect(record.abort_reason).toContain(
      'a cluster-wide fault cannot reach http://fake-1.test: Prometheus reports up == 0; http://fake-2.test: unreachable',
    )
    expect(targets.every((t) => t.callsOf('start').length === 0)).toBe(true)
    expect(record.discovery?.skipped.map((s) => s.url)).toEqual(['http://fake-1.test', 'http://fake-2.test'])
  })

  it('refuses when no instance is usable', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 1)
    const down: DiscoveredInstance[] = [
      { url: 'http://fake-0.test', source: 'dns:hotel.test', state: 'DOWN', reason: 'target health down' },
    ]
    const { record } = await run(vc, targets, single(), {}, { findInstances: found(targets, down) })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_cause).toBe('PREFLIGHT_REFUSED')
    expect(record.abort_reason).toContain(
      'no usable instance (skipped: http://fake-0.test: target health down)',
    )
  })

  it('a static target that cannot be read still fails the experiment, as without discovery', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 2, (i) => ({ unreachable: i === 0 }))
    const states: DiscoveredInstance[] = [
      { url: 'http://fake-0.test', source: 'static', state: 'UP', reason: null },
      { url: 'http://fake-1.test', source: 'dns:hotel.test', state: 'UP', reason: null },
    ]
    const { record } = await run(vc, targets, single(), {}, { findInstances: found(targets, states) })
    expect(record.state).toBe('FAILED')
    expect(record.error).toBe('preflight: http://fake-0.test unreachable: ECONNREFUSED')
  })

  it('a discovery that fails is a preflight failure naming it', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 1)
    const { record } = await run(
      vc,
      targets,
      single(),
      {},
      {
        findInstances: () => Promise.reject(new Error('prometheus http://p:9090 unreachable')),
      },
    )
    expect(record.state).toBe('FAILED')
    expect(record.error).toBe('preflight: discovery failed: prometheus http://p:9090 unreachable')
  })
})

describe('mergeInstances', () => {
  it('static first in their order, then discovered sorted by url, de-duplicated by url (static wins)', () => {
    const merged = mergeInstances(
      ['http://b:1/', 'http://a:1'],
      [
        { url: 'http://d:1', source: 'dns:x', state: 'UP', reason: null },
        { url: 'http://a:1/', source: 'dns:x', state: 'DOWN', reason: 'down' },
        { url: 'http://c:1', source: 'prometheus:up', state: 'DOWN', reason: 'Prometheus reports up == 0' },
        { url: 'http://c:1', source: 'dns:x', state: 'UP', reason: null },
      ],
    )
    expect(merged).toEqual([
      { url: 'http://b:1', source: 'static', state: 'UP', reason: null },
      { url: 'http://a:1', source: 'static', state: 'UP', reason: null },
      { url: 'http://c:1', source: 'prometheus:up', state: 'DOWN', reason: 'Prometheus reports up == 0' },
      { url: 'http://d:1', source: 'dns:x', state: 'UP', reason: null },
    ])
  })
})

describe('a suite finds its instances again before each experiment', () => {
  it('calls discovery before each of two experiments and records what each found; the run lists every instance used', async () => {
    const vc = createVirtualClock()
    const targets = fleet(vc, 3)
    const seen: number[] = []
    let calls = 0
    const findInstances = (): Promise<FoundInstances> => {
      calls++
      seen.push(vc.now())
      // The second time, a third instance has appeared.
      const n = calls === 1 ? 2 : 3
      return Promise.resolve({
        sources: ['dns:hotel.test'],
        found: targets
          .slice(0, n)
          .map((t) => ({ url: t.target, source: 'dns:hotel.test', state: 'UP' as const, reason: null })),
        clients: targets.slice(0, n).map((t) => t.client()),
        probes: targets.slice(0, n).map((t) => t.probe()),
      })
    }
    const one = { ...cluster(), id: 'first' }
    const two = { ...cluster(), id: 'second' }
    const record = await vc.run(
      runSuite(
        [one, two],
        {
          runId: 'RUN1',
          selection: ['pms'],
          target: { urls: [], sandbox: true, discover: ['dns:hotel.test'] },
          rate: 20,
          baselineMs: 3_000,
          intervalMs: 1_000,
          recoveryTimeoutMs: 10_000,
          pauseMs: 1_000,
          leaseSeconds: 30,
          keepGoing: false,
          allowEntireSystem: false,
        },
        {
          clients: [],
          probes: [],
          findInstances,
          createWorkload: () => targets[0]!.workload(20),
          clock: vc.clock,
          events: createMemoryLogger(),
        },
        new AbortController().signal,
      ),
    )
    expect(calls).toBe(2)
    expect(seen[1]).toBeGreaterThan(seen[0]!)
    expect(record.experiments.map((e) => e.state)).toEqual(['COMPLETED', 'COMPLETED'])
    expect(record.experiments.map((e) => e.discovery?.found.length)).toEqual([2, 3])
    expect(record.experiments.map((e) => e.instances?.length)).toEqual([2, 3])
    expect(targets.map((t) => t.callsOf('start').length)).toEqual([2, 2, 1])
    expect(record.target.urls).toEqual(targets.map((t) => t.target))
    expect(record.target.environment).toEqual([null, null, null])
  })

  it('a run with discovery only that finds nothing keeps a valid target (its specs) and refuses', async () => {
    const vc = createVirtualClock()
    const record = await vc.run(
      runSuite(
        [cluster()],
        {
          runId: 'RUN1',
          selection: ['pms'],
          target: { urls: [], sandbox: false, discover: ['dns:hotel.test'] },
          rate: 20,
          baselineMs: 3_000,
          intervalMs: 1_000,
          recoveryTimeoutMs: 10_000,
          pauseMs: 0,
          leaseSeconds: 30,
          keepGoing: false,
          allowEntireSystem: false,
        },
        {
          clients: [],
          probes: [],
          findInstances: () =>
            Promise.resolve({ sources: ['dns:hotel.test'], found: [], clients: [], probes: [] }),
          createWorkload: () => {
            throw new Error('no workload without an instance')
          },
          clock: vc.clock,
          events: createMemoryLogger(),
        },
        new AbortController().signal,
      ),
    )
    expect(record.outcome).toBe('ABORTED')
    expect(record.experiments[0]!.abort_reason).toContain('no usable instance was found')
    expect(record.target.urls).toEqual(['dns:hotel.test'])
  })
})
