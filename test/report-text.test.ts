/** The text report of a hand-built record: the key lines of the guide's Example Analysis, no snapshots. */
import { describe, expect, it } from 'vitest'
import { withAnalysis } from '../src/interpretation/rules.js'
import { runDigest } from '../reports/digest.js'
import { renderText } from '../reports/text.js'
import { faultSummary, pct } from '../src/wording.js'
import { guideExperiment, runRecord, skippedExperiment } from './report-fixtures.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g

function lines(text: string): string[] {
  return text.split('\n')
}

describe('renderText', () => {
  const text = renderText(withAnalysis(runRecord()))
  const all = lines(text)

  it('opens with the digest, then the run header: id, outcome, target, selection', () => {
    expect(all.slice(0, 4)).toEqual([...runDigest(withAnalysis(runRecord())), ''])
    expect(all[4]).toBe('Chaos run 20261128T112233Z-3f9a1c')
    expect(all).toContain('Outcome: FAILED (exit 1)')
    expect(all).toContain('Target: http://127.0.0.1:41234 (built-in sandbox)')
    expect(all).toContain('Selection: pms')
    expect(text).not.toContain('PARTIAL')
  })

  it('reads like the Example Analysis for each experiment', () => {
    const start = all.indexOf('Experiment: PMS API Failure (20% error rate injected: ConnectionError)')
    expect(start).toBeGreaterThan(0)
    const block = all.slice(start)
    const expectedInOrder = [
      'Duration: 1m',
      'Results:',
      '  - Total Requests: 1000',
      '  - Affected Requests: 200 (20%) met at least one fault',
      '  - Faults Injected: 200 (calls, retries included)',
      '  - Successful: 850 (85%)',
      '  - Failed: 150 (15%)',
      '  - Error Rate: 15%',
      '  - Availability: 85%',
      '  - Latency: p50 12ms, p95 40ms, p99 80ms, max 120ms',
      '  - Circuit Breaker Trips: 3',
      '  - MTTR: 45s',
      'Checks:',
      'Analysis:',
    ]
    let at = -1
    for (const line of expectedInOrder) {
      const next = block.indexOf(line)
      expect(next, line).toBeGreaterThan(at)
      at = next
    }
  })

  it('lists every check with ✅/❌ and actual vs expected', () => {
    expect(all).toContain('  ❌ availability > 95% during - actual 85%, expected > 95%')
    expect(all).toContain(
      '  ✅ latency_p95_ms < 2x baseline during - actual 40ms, expected < 80ms (2x baseline)',
    )
    expect(all).toContain('  ✅ mttr_seconds < 2m after - actual 45s, expected < 2m')
  })

  it('prints the analysis as ✅ / ⚠ / 📝 Action: lines', () => {
    expect(all).toContain('✅ Circuit breaker opened after failures (3 trips)')
    expect(all).toContain(
      '✅ At least 50 of 200 requests that met a fault still succeeded - retries or fallbacks absorbed them',
    )
    expect(all).toContain('⚠  Availability dropped to 85% (below 95% target)')
    expect(all.some((l) => l.startsWith('📝 Action: Check "availability > 95% during" failed'))).toBe(true)
  })

  it('ends with a plain summary table', () => {
    const summary = all.indexOf('Summary')
    expect(summary).toBeGreaterThan(all.indexOf('Analysis:'))
    const table = all.slice(summary + 1).join('\n')
    expect(table).toMatch(/│ Experiment\s+│ State\s+│ Hypothesis/)
    expect(table).toMatch(/│ pms_api_failure │ COMPLETED │ NOT held\s+│ 85%/)
    expect(text.includes('\u001b')).toBe(false)
    expect(text.endsWith('\n')).toBe(true)
  })

  it('marks partial runs and skipped experiments', () => {
    const partial = renderText(
      withAnalysis(
        runRecord({
          partial: true,
          outcome: 'INTERRUPTED',
          exit_code: 130,
          experiments: [guideExperiment({ state: 'INTERRUPTED' }), skippedExperiment()],
        }),
      ),
    )
    expect(lines(partial)[4]).toBe('Chaos run 20261128T112233Z-3f9a1c [PARTIAL]')
    expect(partial).toContain('This run did not finish: the report is partial.')
    expect(partial).toContain('Experiment: Network Latency (500ms latency on 50% of calls)')
    expect(partial).toContain('Results: not measured (the fault was never injected)')
    expect(partial).toContain('⚠  Not run - the suite stopped before this experiment')
    expect(partial).toMatch(/│ network_latency\s+│ SKIPPED\s+│ -/)
  })

  it('shows an early abort with its reason and actual duration', () => {
    const aborted = renderText(
      withAnalysis(
        runRecord({
          outcome: 'ABORTED',
          exit_code: 3,
          experiments: [
            guideExperiment({
              state: 'ABORTED',
              abort_reason: 'error rate 62% over the last poll window is above the safety limit 50%',
              rolled_back_at: '2026-11-28T11:22:47.000Z',
              rollback: {
                attempted: true,
                verified: false,
                attempts: 5,
                method: 'STOP_ALL',
                error: 'timeout',
                faults_after_rollback: null,
              },
            }),
          ],
        }),
      ),
    )
    expect(aborted).toContain(
      'Abort reason: error rate 62% over the last poll window is above the safety limit 50%',
    )
    expect(aborted).toContain('Duration: 4s (planned 1m)')
    expect(aborted).toContain('Rollback: NOT verified (STOP_ALL, 5 attempts) - timeout')
    expect(aborted).toMatch(/📝 Action: Rollback not verified \(timeout\)/)
  })

  it('colours only when asked', () => {
    const coloured = renderText(withAnalysis(runRecord()), { color: true })
    expect(coloured.includes('\u001b[')).toBe(true)
    expect(coloured.replace(ANSI, '')).toBe(text)
  })
})

describe('renderText, defect 8: several instances', () => {
  const two = [
    { url: 'http://a:8080', reached: true, requests: 41, failed_requests: 4, error_rate: 4 / 41 },
    { url: 'http://b:8080', reached: false, requests: 40, failed_requests: 0, error_rate: 0 },
  ]

  it('lists each instance with its fault and its share of the workload, when there are several', () => {
    const all = lines(renderText(runRecord({ experiments: [guideExperiment({ instances: two })] })))
    const at = all.indexOf('Instances:')
    expect(at).toBeGreaterThan(0)
    expect(all.slice(at + 1, at + 3)).toEqual([
      '  - http://a:8080: fault started, 41 requests, 4 failed (9.76%)',
      '  - http://b:8080: no fault, 40 requests, 0 failed (0%)',
    ])
  })

  it('says the counts are not per instance when the workload went to --workload-url', () => {
    const unmeasured = two.map((i) => ({ ...i, requests: null, failed_requests: null, error_rate: null }))
    const base = runRecord()
    const all = lines(
      renderText(
        runRecord({
          target: { ...base.target, workload_url: 'http://lb:80' },
          experiments: [guideExperiment({ instances: unmeasured })],
        }),
      ),
    )
    expect(all).toContain('Workload: http://lb:80')
    expect(all).toContain(
      '  - http://a:8080: fault started, requests not measured per instance (workload sent to http://lb:80)',
    )
  })

  it('has no Instances block for one instance', () => {
    const one = renderText(runRecord({ experiments: [guideExperiment({ instances: two.slice(0, 1) })] }))
    expect(one).not.toContain('Instances:')
    expect(one).not.toContain('Workload:')
  })
})

describe('faultSummary', () => {
  it('describes each fault type in one phrase', () => {
    const base = { probability: 0.3, blast_radius: 'SINGLE_SERVICE' as const }
    expect(faultSummary({ ...base, fault_type: 'LATENCY', latency_ms: 500, latency_jitter_ms: 100 })).toBe(
      '500ms ± 100ms latency on 30% of calls',
    )
    expect(faultSummary({ ...base, fault_type: 'TIMEOUT', timeout_ms: 5000 })).toBe(
      '30% timeouts injected after 5s',
    )
    expect(faultSummary({ ...base, fault_type: 'CIRCUIT_BREAK' })).toBe('30% circuit-open failures injected')
    expect(
      faultSummary({
        ...base,
        fault_type: 'RATE_LIMIT',
        rate_limit_requests: 10,
        rate_limit_window_seconds: 1,
      }),
    ).toBe('rate limit of 10 calls per 1s injected on 30% of calls')
    expect(
      faultSummary({
        ...base,
        fault_type: 'RESOURCE_EXHAUSTION',
        pressure: { type: 'MEMORY', heap_fraction: 0.25 },
      }),
    ).toBe('30% resource exhaustion injected with memory pressure (25% of heap)')
  })

  it('never rounds a partial availability to 100 %', () => {
    expect(pct(0.99999)).toBe('>99.99%')
    expect(pct(1)).toBe('100%')
    expect(pct(0.00001)).toBe('<0.01%')
    expect(pct(0.9995)).toBe('99.95%')
  })
})

describe('renderText, issue 13: a fleet', () => {
  const fleet = [
    {
      url: 'http://a:8080',
      reached: true,
      requests: 41,
      failed_requests: 4,
      error_rate: 4 / 41,
      start: 'STARTED' as const,
      faults_injected: 4,
      calls_seen: 20,
      rollback_verified: true,
      rollback_error: null,
    },
    {
      url: 'http://b:8080',
      reached: false,
      requests: 40,
      failed_requests: 0,
      error_rate: 0,
      start: 'REFUSED' as const,
      faults_injected: null,
      calls_seen: null,
      rollback_verified: null,
      rollback_error: null,
    },
    {
      url: 'http://c:8080',
      reached: true,
      requests: 39,
      failed_requests: 0,
      error_rate: 0,
      start: 'FAILED' as const,
      faults_injected: null,
      calls_seen: null,
      rollback_verified: false,
      rollback_error: 'experiment x still listed as active after 10 attempts',
    },
  ]
  const discovery = {
    sources: ['static', 'dns:hotel.svc:8080'],
    found: [
      { url: 'http://a:8080', source: 'static', state: 'UP' as const, reason: null },
      { url: 'http://d:8080', source: 'dns:hotel.svc:8080', state: 'DOWN' as const, reason: 'down' },
    ],
    skipped: [{ url: 'http://d:8080', reason: 'Prometheus reports up == 0' }],
  }

  it("one line per instance: start, traffic, the agent's own counts, the rollback read-back; then discovery", () => {
    const all = lines(
      renderText(runRecord({ experiments: [guideExperiment({ instances: fleet, discovery })] })),
    )
    const at = all.indexOf('Instances:')
    expect(all.slice(at + 1, at + 6)).toEqual([
      '  - http://a:8080: fault started, 41 requests, 4 failed (9.76%), agent counted 4 faults in 20 calls, rollback verified',
      '  - http://b:8080: start refused, 40 requests, 0 failed (0%)',
      '  - http://c:8080: start failed (outcome unknown, rolled back), 39 requests, 0 failed (0%), rollback NOT verified (experiment x still listed as active after 10 attempts)',
      'Discovery: 2 found (static, dns:hotel.svc:8080), 1 skipped',
      '  - skipped http://d:8080: Prometheus reports up == 0',
    ])
  })
})
