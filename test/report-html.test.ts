/**
 * The HTML report as text: user input is escaped, nothing is fetched, the verdict and failed checks
 * come first, an experiment without a timeline gets a sentence instead of a chart, the chart shades
 * the phases and marks the rollback, and the reproduce command follows the record. The page in a
 * real browser (console, network, pixels, print) is report-html-e2e.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { escapeHtml, renderHtml, reproduceCommand } from '../reports/html.js'
import type { TimeseriesPoint } from '../src/record.js'
import { guideExperiment, runRecord, skippedExperiment } from './report-fixtures.js'

const HOSTILE = `<script>alert("x")</script> & 'q' <img src=x onerror=alert(1)>`

/** Per-second points: baseline 0..9, injection 10..69, recovery 70..79. */
function series(): TimeseriesPoint[] {
  return Array.from({ length: 80 }, (_, t) => ({
    t,
    phase: t < 10 ? 'BASELINE' : t < 70 ? 'DURING' : 'RECOVERY',
    requests: 20,
    errors: t >= 10 && t < 70 ? 3 : 0,
    latency_p95_ms: t >= 10 && t < 70 ? 90 : 40,
    faults_injected: null,
    breaker_state: null,
  }))
}

/** The attribute values of `name` on every `tag` element. */
function attrs(html: string, tag: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`<${tag}\\b[^>]*\\b${name}="([^"]*)"`, 'g'))].map((m) => m[1]!)
}

describe('escapeHtml', () => {
  it('escapes the five characters that could open markup or leave an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;amp;&#60;/a&#62;',
    )
    expect(escapeHtml('plain text 20% · ✓')).toBe('plain text 20% · ✓')
  })
})

describe('renderHtml', () => {
  it('escapes every user-given text: names, hypothesis, check names, analysis, errors, selection', () => {
    const e = guideExperiment({
      id: 'evil',
      name: HOSTILE,
      steady_state_hypothesis: HOSTILE,
      target_service: HOSTILE,
      error: HOSTILE,
      abort_reason: HOSTILE,
      checks: [{ ...guideExperiment().checks[1]!, name: HOSTILE }],
      analysis: [{ level: 'WARN', message: HOSTILE }],
      timeseries: series(),
    })
    const html = renderHtml(runRecord({ selection: [HOSTILE], experiments: [e] }))
    expect(html).not.toContain('<script')
    expect(html).not.toContain('<img')
    expect(html).not.toContain('onerror=alert(1)>')
    // Ten places name the hostile text, each escaped.
    const escaped = escapeHtml(HOSTILE)
    expect(html.split(escaped).length - 1).toBeGreaterThanOrEqual(8)
  })

  it('loads nothing: no script, no external style, font or image, a CSP that forbids fetching', () => {
    const html = renderHtml(
      runRecord({
        experiments: [guideExperiment({ timeseries: series() })],
        target: { urls: ['https://shop.example.com'], sandbox: false },
      }),
    )
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i)
    expect(attrs(html, '[a-z]+', 'src')).toEqual([])
    for (const href of attrs(html, 'a', 'href')) expect(href).toMatch(/^#/)
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`)
  })

  it('opens with the verdict and the failed checks, actual vs expected, before any experiment', () => {
    const html = renderHtml(runRecord())
    const digest = html.indexOf('class="digest bad"')
    const firstExperiment = html.indexOf('<section class="experiment"')
    expect(digest).toBeGreaterThan(0)
    expect(digest).toBeLessThan(firstExperiment)
    const top = html.slice(digest, firstExperiment)
    expect(top).toContain('FAILED')
    expect(top).toContain('Failed: 0 of 1 experiment held.')
    expect(top).toContain('Failed checks (1):')
    expect(top).toContain(
      '<code>pms_api_failure</code> availability &#62; 95% during: actual <strong>85%</strong>, expected &#62; 95%',
    )
    expect(renderHtml(runRecord({ outcome: 'PASSED', experiments: [] }))).toContain(
      '<strong>Failed checks:</strong> none.',
    )
  })

  it('says why there is no timeline instead of drawing an empty chart', () => {
    const aborted = guideExperiment({ id: 'aborted_early', state: 'ABORTED', timeseries: [] })
    const html = renderHtml(
      runRecord({ experiments: [guideExperiment({ timeseries: series() }), skippedExperiment(), aborted] }),
    )
    expect(html.match(/<svg/g)).toHaveLength(1)
    expect(html).toContain('The experiment was skipped (its suite stopped before reaching it)')
    expect(html).toContain('No per-second measurements were recorded')
    // A one-point series still draws (no division by a zero-length axis).
    const one = renderHtml(
      runRecord({ experiments: [guideExperiment({ timeseries: series().slice(0, 1) })] }),
    )
    expect(one).toMatch(/<svg/)
    expect(one).not.toMatch(/NaN|Infinity/)
  })

  it('shades each phase and puts the rollback line where the recovery starts', () => {
    const html = renderHtml(runRecord({ experiments: [guideExperiment({ timeseries: series() })] }))
    expect(html).not.toMatch(/NaN|Infinity/)
    const band = (phase: string) => {
      const m = new RegExp(`<rect class="phase-${phase}" x="([\\d.]+)" y="[\\d.]+" width="([\\d.]+)"`).exec(
        html,
      )
      expect(m, phase).not.toBeNull()
      return { x: Number(m![1]), w: Number(m![2]) }
    }
    const [baseline, during, recovery] = [band('baseline'), band('during'), band('recovery')]
    // 10 s, 60 s and 10 s of the same axis.
    expect(during.w / baseline.w).toBeCloseTo(6, 1)
    expect(recovery.w / baseline.w).toBeCloseTo(1, 1)
    expect(during.x).toBeCloseTo(baseline.x + baseline.w, 0)
    const rollback = /<line x1="([\d.]+)" x2="[\d.]+" y1="[\d.]+" y2="[\d.]+" class="rollback"/.exec(html)
    expect(Number(rollback![1])).toBeCloseTo(recovery.x, 0)
    expect(html).toContain('rollback 1m 10s')
    // The three series: throughput, error rate, p95.
    expect(html.match(/class="series"/g)).toHaveLength(3)
  })

  it('renders the checks with actual vs expected, the analysis, the rollback record', () => {
    const html = renderHtml(
      runRecord({
        experiments: [
          guideExperiment({
            analysis: [
              { level: 'OK', message: 'MTTR within acceptable range' },
              { level: 'ACTION', message: 'Strengthen fallbacks' },
            ],
          }),
        ],
      }),
    )
    expect(html).toMatch(
      /latency_p95_ms &#60; 2x baseline during<\/td><td class="num">40ms<\/td><td class="num">&#60; 80ms \(2x baseline\)/,
    )
    expect(html).toContain('MTTR within acceptable range')
    expect(html).toContain('<strong>Action:</strong> Strengthen fallbacks')
    expect(html).toMatch(/Rollback <span class="badge good">verified<\/span>/)
    expect(html).toContain('<dt>Method</dt><dd>DELETE</dd>')
  })
})

describe('reproduceCommand', () => {
  it('runs the selection again with the timings of the record (sandbox: no --target)', () => {
    expect(reproduceCommand(runRecord())).toBe(
      'chaos run pms --duration 1m --baseline 10s --rate 20 --interval 1s --recovery-timeout 2m',
    )
  })

  it('names an external target and workload URL, quotes odd words, and leaves out a duration that differed', () => {
    const record = runRecord({
      selection: ['my scenarios/a.yaml', 'pms'],
      target: { urls: ['http://a:1', 'http://b:2'], sandbox: false, workload_url: 'http://lb:80' },
      options: {
        rate: 7.5,
        baseline_seconds: 2,
        interval_seconds: 0.5,
        recovery_timeout_seconds: 90,
        pause_seconds: 0,
      },
      experiments: [guideExperiment(), guideExperiment({ id: 'b', duration_seconds: 5 })],
    })
    expect(reproduceCommand(record)).toBe(
      "chaos run 'my scenarios/a.yaml' pms --baseline 2s --rate 7.5 --interval 500ms --recovery-timeout 90s --pause 0s --target http://a:1,http://b:2 --workload-url http://lb:80",
    )
  })
})

describe('renderHtml, issue 13: a fleet', () => {
  it('one row per instance with its start, the agent counts and the rollback read-back; skipped instances listed, escaped', () => {
    const base = { requests: 10, failed_requests: 0, error_rate: 0, calls_seen: null }
    const html = renderHtml(
      runRecord({
        experiments: [
          guideExperiment({
            instances: [
              {
                ...base,
                url: 'http://a:1',
                reached: true,
                start: 'STARTED',
                faults_injected: 3,
                calls_seen: 9,
                rollback_verified: true,
                rollback_error: null,
              },
              {
                ...base,
                url: 'http://b:1',
                reached: false,
                start: 'REFUSED',
                faults_injected: null,
                rollback_verified: null,
                rollback_error: null,
              },
              {
                ...base,
                url: 'http://c:1',
                reached: true,
                start: 'STARTED',
                faults_injected: null,
                rollback_verified: false,
                rollback_error: HOSTILE,
              },
            ],
            discovery: {
              sources: ['dns:hotel'],
              found: [{ url: 'http://d:1', source: 'dns:hotel', state: 'DOWN', reason: HOSTILE }],
              skipped: [{ url: 'http://d:1', reason: HOSTILE }],
            },
          }),
        ],
      }),
    )
    expect(html).toContain('<th>Agent and rollback</th>')
    expect(html).toContain('<td>http://a:1</td><td>fault started</td>')
    expect(html).toContain('<td>agent counted 3 faults in 9 calls, rollback verified</td>')
    expect(html).toContain('<td>http://b:1</td><td>start refused</td>')
    expect(html).toContain(`rollback NOT verified (${escapeHtml(HOSTILE)})`)
    expect(html).toContain('Discovery: 1 found (dns:hotel), 1 skipped')
    expect(html).toContain(`<li>skipped http://d:1: ${escapeHtml(HOSTILE)}</li>`)
    expect(html).not.toContain(HOSTILE)
  })
})
