/**
 * Per-route status counts: the timeline counts each finished request by its route and status, the
 * phase metrics carry them, the text report lists the answers other than 2xx/3xx, and a baseline
 * whose requests mostly answered 404 is called a workload-path problem, not an unsteady system.
 */
import { describe, expect, it } from 'vitest'
import { renderText } from '../reports/text.js'
import { Timeline } from '../src/engine/timeline.js'
import { phaseMetrics } from '../src/engine/phases/measure.js'
import { unservedRoutes, unservedRoutesSentence } from '../src/interpretation/routes.js'
import { analyseExperiment } from '../src/interpretation/rules.js'
import { RunRecord } from '../src/record.js'
import { guideExperiment, phase, runRecord } from './report-fixtures.js'

const ROUTES = [
  { method: 'GET', path: '/orders' },
  { method: 'POST', path: '/checkout' },
]

describe('Timeline route counts', () => {
  it('counts finished requests per route by status, or by failure class without one', () => {
    const t = new Timeline({ t0: 0, wallT0: 0, routes: ROUTES })
    const finish = (at: number, route: number, status: number | null, failure: 'TIMEOUT' | null = null) => {
      t.recordSent(at)
      const cls = failure ?? (status !== null && status >= 400 ? (`HTTP_${status}` as const) : null)
      t.recordFinished(at, at + 5, cls, null, 0, route, status)
    }
    finish(0, 0, 200)
    finish(10, 0, 200)
    finish(20, 0, 503)
    finish(30, 1, 404)
    finish(40, 1, null, 'TIMEOUT')
    finish(2000, 1, 404) // outside the slice below
    expect(t.summary(0, 1000).routes).toEqual([
      { method: 'GET', path: '/orders', requests: 3, statuses: { '200': 2, '503': 1 } },
      { method: 'POST', path: '/checkout', requests: 2, statuses: { '404': 1, TIMEOUT: 1 } },
    ])
    // A timeline without routes counts none (and phase metrics then have no routes field).
    const bare = new Timeline({ t0: 0, wallT0: 0 })
    bare.recordSent(0)
    bare.recordFinished(0, 5, null)
    expect(bare.summary(0).routes).toBeUndefined()
    expect(phaseMetrics(bare.summary(0), null, null)).not.toHaveProperty('routes')
    expect(phaseMetrics(t.summary(0, 1000), null, null).routes).toHaveLength(2)
  })
})

describe('unserved routes', () => {
  const baseline = phase({
    routes: [
      { method: 'GET', path: '/api/availability', requests: 61, statuses: { '404': 61 } },
      { method: 'POST', path: '/api/bookings', requests: 10, statuses: { '201': 6, '404': 4 } },
    ],
  })

  it('names the routes mostly answered 404 or 405, and only those', () => {
    expect(unservedRoutes(baseline)).toEqual([
      { method: 'GET', path: '/api/availability', status: '404', count: 61, requests: 61 },
    ])
    expect(unservedRoutesSentence(unservedRoutes(baseline))).toBe(
      'the workload route GET /api/availability answered 404 (61 of 61): check the workload paths (workload: in the scenario or the config)',
    )
    expect(unservedRoutes(phase())).toEqual([])
  })

  it('says "check the workload paths" for a baseline of 404s, and lists non-2xx answers per route', () => {
    const aborted = guideExperiment({
      state: 'ABORTED',
      injected_at: null,
      rolled_back_at: null,
      hypothesis_held: null,
      abort_reason:
        'steady state did not hold before injection (availability >= 99% before); nothing was injected',
      metrics: { baseline, during: null, recovery: null, mttr_seconds: null, recovered: false },
    })
    const analysis = analyseExperiment(aborted)
    expect(analysis).toContainEqual({
      level: 'ACTION',
      message: expect.stringContaining(
        'Nothing was injected: the workload route GET /api/availability answered 404',
      ) as unknown,
    })
    expect(analysis.map((a) => a.message).join('\n')).not.toContain('bring the system to its steady state')
    const record = RunRecord.parse(runRecord({ experiments: [{ ...aborted, analysis }] }))
    const text = renderText(record)
    expect(text).toContain('Workload routes (answers other than 2xx/3xx):')
    expect(text).toContain('  - GET /api/availability: baseline 404 ×61 of 61')
    expect(text).toContain('  - POST /api/bookings: baseline 404 ×4 of 10')
  })

  it('reads a record without routes (older reports) as before', () => {
    const record = RunRecord.parse(runRecord())
    expect(renderText(record)).not.toContain('Workload routes')
  })
})
