/** Defect 8: the per-instance part of the record, from a real timeline split by instance. */
import { describe, expect, it } from 'vitest'
import type { ControlClient } from '../src/engine/control-client.js'
import type { ExperimentContext } from '../src/engine/phases/context.js'
import { instanceRecords } from '../src/engine/phases/instances.js'
import { Timeline } from '../src/engine/timeline.js'
import type { Workload } from '../src/engine/workload.js'

/** A timeline of `sent[i]` requests to instance i (every fourth one failing), 10 ms apart. */
function timeline(sent: number[]): Timeline {
  const t = new Timeline({ t0: 0, wallT0: 0, instances: sent.length })
  let at = 0
  let k = 0
  for (let left = [...sent]; left.some((n) => n > 0);) {
    const instance = left.findIndex((n) => n > 0)
    left[instance]!--
    t.recordSent(at, instance)
    t.recordFinished(at, at + 5, k++ % 4 === 0 ? 'HTTP_500' : null, null, instance)
    at += 10
  }
  return t
}

/** Just what instanceRecords reads: the clients, the ones injected, and the workload. */
function context(urls: string[], injected: number[], origins: string[], line: Timeline): ExperimentContext {
  const clients = urls.map((target) => ({ target }) as ControlClient)
  const workload = { targets: origins, timeline: line } as unknown as Workload
  return {
    deps: { clients },
    clients,
    injected: injected.map((i) => clients[i]!),
    workload,
  } as unknown as ExperimentContext
}

/** The per-instance facts of an instance no phase touched. */
const untouched = {
  start: 'NOT_SENT',
  faults_injected: null,
  calls_seen: null,
  rollback_verified: null,
  rollback_error: null,
}

describe('instanceRecords', () => {
  it('gives each instance its share of the workload; origins match instances with or without a trailing slash', () => {
    const line = timeline([3, 5])
    const ctx = context(['http://a', 'http://b'], [0, 1], ['http://a/', 'http://b'], line)
    const records = instanceRecords(ctx, 1_000)
    expect(records.map((r) => [r.url, r.reached, r.requests])).toEqual([
      ['http://a', true, 3],
      ['http://b', true, 5],
    ])
    const all = line.summary(0, 1_000)
    expect(records[0]!.failed_requests! + records[1]!.failed_requests!).toBe(all.failed_requests)
    expect(records[0]!.error_rate).toBeCloseTo(records[0]!.failed_requests! / 3, 12)
  })

  it('counts 0 for an instance outside the origins when every origin is an instance (workload URL = one of them)', () => {
    const ctx = context(['http://a', 'http://b'], [0, 1], ['http://a'], timeline([6]))
    expect(instanceRecords(ctx, 1_000).map((r) => r.requests)).toEqual([6, 0])
  })

  it('does not know (null) how a load balancer spread the workload', () => {
    const ctx = context(['http://a', 'http://b'], [0], ['http://lb'], timeline([6]))
    expect(instanceRecords(ctx, 1_000)).toEqual([
      {
        url: 'http://a',
        reached: true,
        requests: null,
        failed_requests: null,
        error_rate: null,
        ...untouched,
      },
      {
        url: 'http://b',
        reached: false,
        requests: null,
        failed_requests: null,
        error_rate: null,
        ...untouched,
      },
    ])
  })
})
