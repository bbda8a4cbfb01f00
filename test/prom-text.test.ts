import client from 'prom-client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  counterSeries,
  findFamily,
  gaugeValues,
  histogramQuantile,
  histogramSeries,
  labelsKey,
  mergeBuckets,
  parsePrometheusText,
  PromTextParseError,
  sumCounter,
  summarySeries,
} from '../src/metrics/prom-text.js'

/** A registry shaped like the sandbox's: labelled histogram, summary, counters, gauges. */
async function promClientExposition() {
  const registry = new client.Registry()
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Request duration "in" seconds\\ms\nsecond line',
    labelNames: ['route', 'status'],
    buckets: [0.05, 0.1, 0.5, 1],
    registers: [registry],
  })
  for (const v of [0.01, 0.07, 0.07, 0.3]) duration.observe({ route: '/api/availability', status: '200' }, v)
  for (const v of [0.2, 2]) duration.observe({ route: '/api/bookings', status: '503' }, v)

  const requests = new client.Counter({
    name: 'http_requests_total',
    help: 'Requests',
    labelNames: ['route', 'status'],
    registers: [registry],
  })
  requests.inc({ route: '/api/availability', status: '200' }, 40)
  requests.inc({ route: '/api/availability', status: '500' }, 2)
  requests.inc({ route: '/api/bookings', status: '200' }, 7)

  const trips = new client.Counter({
    name: 'circuit_breaker_trips_total',
    help: 'Trips',
    labelNames: ['target_service'],
    registers: [registry],
  })
  trips.inc({ target_service: 'pms_adapter' }, 3)
  trips.inc({ target_service: 'db "main"\\pool\nA' }, 1)

  const state = new client.Gauge({
    name: 'circuit_breaker_state',
    help: 'Breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['target_service'],
    registers: [registry],
  })
  state.set({ target_service: 'pms_adapter' }, 2)
  state.set({ target_service: 'whatsapp' }, 0)

  const weird = new client.Gauge({
    name: 'weird_values',
    help: 'x',
    labelNames: ['k'],
    registers: [registry],
  })
  weird.set({ k: 'nan' }, NaN)
  weird.set({ k: 'inf' }, Infinity)
  weird.set({ k: 'ninf' }, -Infinity)

  const summary = new client.Summary({
    name: 'pms_call_seconds',
    help: 'PMS calls',
    labelNames: ['op'],
    percentiles: [0.5, 0.9, 0.99],
    registers: [registry],
  })
  for (const v of [1, 2, 3, 4]) summary.observe({ op: 'read' }, v)

  client.collectDefaultMetrics({ register: registry })
  return registry.metrics()
}

describe('parsePrometheusText on real prom-client output', () => {
  it('groups a labelled histogram into one family with separate series per label set', async () => {
    const families = parsePrometheusText(await promClientExposition())
    const family = families.get('http_request_duration_seconds')!
    expect(family.type).toBe('histogram')
    expect(family.help).toBe('Request duration "in" seconds\\ms\nsecond line')
    // No stray families from the suffixes.
    for (const suffix of ['_bucket', '_sum', '_count'])
      expect(families.has(`http_request_duration_seconds${suffix}`)).toBe(false)

    const series = histogramSeries(families, 'http_request_duration_seconds')
    expect(series).toHaveLength(2)
    const avail = series.find((s) => s.labels.route === '/api/availability')!
    expect(avail.labels).toEqual({ route: '/api/availability', status: '200' })
    expect(avail.buckets).toEqual([
      { le: 0.05, count: 1 },
      { le: 0.1, count: 3 },
      { le: 0.5, count: 4 },
      { le: 1, count: 4 },
      { le: Infinity, count: 4 },
    ])
    expect(avail.count).toBe(4)
    expect(avail.sum).toBeCloseTo(0.45, 12)
    const bookings = histogramSeries(families, 'http_request_duration_seconds', { status: '503' })
    expect(bookings).toHaveLength(1)
    expect(bookings[0]!.buckets.map((b) => b.count)).toEqual([0, 0, 1, 1, 2])
    expect(bookings[0]).toMatchObject({ sum: 2.2, count: 2 })

    // PromQL: histogram_quantile(0.5, ...) for the availability route: rank 2 in (0.05, 0.1] → 0.075.
    expect(histogramQuantile(0.5, avail.buckets)).toBeCloseTo(0.075, 12)
    // Aggregated over routes (sum by le): 6 observations, p50 rank 3 → exactly the 0.1 bucket's top.
    expect(histogramQuantile(0.5, mergeBuckets(series.map((s) => s.buckets)))).toBeCloseTo(0.1, 12)
  })

  it('reads counters by label filter, with escaped label values intact', async () => {
    const families = parsePrometheusText(await promClientExposition())
    expect(findFamily(families, 'http_requests_total')?.type).toBe('counter')
    expect(sumCounter(families, 'http_requests_total')).toBe(49)
    expect(sumCounter(families, 'http_requests_total', { route: '/api/availability' })).toBe(42)
    expect(sumCounter(families, 'http_requests_total', { status: /^5..$/ })).toBe(2)
    expect(
      sumCounter(families, 'http_requests_total', { route: ['/api/bookings', '/nope'], status: '200' }),
    ).toBe(7)
    expect(sumCounter(families, 'http_requests_total', { route: '/absent' })).toBe(0)
    expect(sumCounter(families, 'no_such_metric_total')).toBe(0)
    const trips = counterSeries(families, 'circuit_breaker_trips_total')
    expect(trips.map((t) => t.labels.target_service).sort()).toEqual(['db "main"\\pool\nA', 'pms_adapter'])
    expect(
      sumCounter(families, 'circuit_breaker_trips_total', { target_service: 'db "main"\\pool\nA' }),
    ).toBe(1)
  })

  it('reads gauges including NaN and infinities', async () => {
    const families = parsePrometheusText(await promClientExposition())
    expect(gaugeValues(families, 'circuit_breaker_state')).toEqual([
      { labels: { target_service: 'pms_adapter' }, value: 2 },
      { labels: { target_service: 'whatsapp' }, value: 0 },
    ])
    const weird = new Map(gaugeValues(families, 'weird_values').map((v) => [v.labels.k, v.value]))
    expect(weird.get('nan')).toBeNaN()
    expect(weird.get('inf')).toBe(Infinity)
    expect(weird.get('ninf')).toBe(-Infinity)
  })

  it('groups a labelled summary with its quantiles, sum and count', async () => {
    const families = parsePrometheusText(await promClientExposition())
    expect(families.get('pms_call_seconds')?.type).toBe('summary')
    const [read, ...others] = summarySeries(families, 'pms_call_seconds')
    expect(others).toHaveLength(0)
    expect(read).toMatchObject({ labels: { op: 'read' }, sum: 10, count: 4 })
    expect(read!.quantiles.map((q) => q.quantile)).toEqual([0.5, 0.9, 0.99])
    expect(read!.quantiles[0]!.value).toBeCloseTo(2.5, 9)
  })

  it("parses prom-client's default metrics (labelled GC histogram, process start time)", async () => {
    const families = parsePrometheusText(await promClientExposition())
    expect(gaugeValues(families, 'process_start_time_seconds')[0]!.value).toBeGreaterThan(1e9)
    const gc = families.get('nodejs_gc_duration_seconds')
    expect(gc?.type).toBe('histogram')
    // Every sample of every family carries a finite-or-special number and its own labels object.
    for (const f of families.values()) {
      expect(f.type).not.toBe('untyped')
      for (const s of f.samples) expect(s.name.startsWith(f.name)).toBe(true)
    }
  })
})

describe('parsePrometheusText edge cases', () => {
  it('handles comments, blank lines, timestamps, untyped metrics, CRLF and trailing commas', () => {
    const text = [
      '# just a comment',
      '',
      '   ',
      '# HELP up Target up',
      '# TYPE up gauge',
      'up 1 1700000000000',
      'untyped_thing{a="1",} -2.5e-3',
      'another 12\r',
      '# TYPE foo counter',
      'foo_total{x="y"} 3',
      'foo_created{x="y"} 1.7e9',
      'neg_ts 1 -5',
      '\tspaced   {  a = "b" , c="d"  }   7  ',
    ].join('\n')
    const families = parsePrometheusText(text)
    expect(families.get('up')).toEqual({
      name: 'up',
      type: 'gauge',
      help: 'Target up',
      samples: [{ name: 'up', labels: {}, value: 1, timestamp: 1_700_000_000_000 }],
    })
    expect(families.get('untyped_thing')).toMatchObject({
      type: 'untyped',
      samples: [{ labels: { a: '1' }, value: -0.0025 }],
    })
    expect(families.get('another')!.samples[0]!.value).toBe(12)
    // OpenMetrics-style counter: family foo, _total is the value, _created is not counted.
    expect(families.get('foo')!.samples).toHaveLength(2)
    expect(sumCounter(families, 'foo')).toBe(3)
    expect(sumCounter(families, 'foo_total')).toBe(3)
    expect(families.get('neg_ts')!.samples[0]!.timestamp).toBe(-5)
    expect(families.get('spaced')!.samples[0]).toEqual({
      name: 'spaced',
      labels: { a: 'b', c: 'd' },
      value: 7,
    })
  })

  it('accepts Go float spellings of NaN and infinities', () => {
    const f = parsePrometheusText('a NaN\nb +Inf\nc -Inf\nd Inf\ne nan\nf .5\ng 5.\n')
    const v = (n: string) => f.get(n)!.samples[0]!.value
    expect(v('a')).toBeNaN()
    expect(v('e')).toBeNaN()
    expect([v('b'), v('c'), v('d'), v('f'), v('g')]).toEqual([Infinity, -Infinity, Infinity, 0.5, 5])
  })

  it('decodes label escapes exactly and round-trips arbitrary label values', () => {
    expect(parsePrometheusText('m{l="a\\\\b\\"c\\nd"} 1').get('m')!.samples[0]!.labels.l).toBe('a\\b"c\nd')
    fc.assert(
      fc.property(fc.string(), (value) => {
        const escaped = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
        const sample = parsePrometheusText(`m{l="${escaped}"} 1`).get('m')!.samples[0]!
        expect(sample.labels.l).toBe(value)
      }),
    )
  })

  it('rejects malformed lines with the line number', () => {
    const bad: Array<[string, RegExp]> = [
      ['ok 1\nm{l="x} 1', /line 2: unterminated value for label l/],
      ['m{l="\\t"} 1', /invalid escape "\\t"/],
      ['m{l="a",l="b"} 1', /label l repeated/],
      ['m{l=x} 1', /expected a quoted value/],
      ['m{1a="x"} 1', /expected a label name/],
      ['m', /missing value for m/],
      ['m abc', /invalid value "abc"/],
      ['m 1 2.5', /invalid timestamp "2.5"/],
      ['m 1 2 3', /unexpected "3"/],
      ['# TYPE m histo', /unknown metric type "histo"/],
      ['# TYPE m gauge\n# TYPE m counter', /line 2: second TYPE line for m/],
      ['m 1\n# TYPE m gauge', /TYPE line for m after its samples/],
      ['{l="x"} 1', /expected a metric name/],
    ]
    for (const [text, message] of bad) {
      expect(() => parsePrometheusText(text), text).toThrow(PromTextParseError)
      expect(() => parsePrometheusText(text), text).toThrow(message)
    }
  })

  it('labelsKey is order independent', () => {
    expect(labelsKey({ b: '2', a: '1' })).toBe(labelsKey({ a: '1', b: '2' }))
    expect(labelsKey({ a: '1', le: '0.5' }, 'le')).toBe('{a="1"}')
    expect(labelsKey({})).toBe('{}')
  })
})

describe('histogramQuantile (PromQL semantics)', () => {
  const b = (pairs: Array<[number, number]>) => pairs.map(([le, count]) => ({ le, count }))

  it('interpolates linearly, from 0 in the first bucket', () => {
    const buckets = b([
      [1, 10],
      [2, 20],
      [4, 40],
      [Infinity, 40],
    ])
    expect(histogramQuantile(0.125, buckets)).toBe(0.5)
    expect(histogramQuantile(0.5, buckets)).toBe(2)
    expect(histogramQuantile(0.75, buckets)).toBe(3)
    expect(histogramQuantile(1, buckets)).toBe(4)
    expect(histogramQuantile(0, buckets)).toBe(0)
  })

  it('returns the highest finite bound when the rank falls into +Inf', () => {
    expect(
      histogramQuantile(
        0.99,
        b([
          [1, 1],
          [2, 2],
          [Infinity, 10],
        ]),
      ),
    ).toBe(2)
  })

  it('returns the bound of a first bucket ≤ 0 instead of interpolating from 0', () => {
    expect(
      histogramQuantile(
        0.1,
        b([
          [-1, 5],
          [0, 8],
          [Infinity, 10],
        ]),
      ),
    ).toBe(-1)
  })

  it('handles the special cases like Prometheus', () => {
    const ok = b([
      [1, 1],
      [Infinity, 2],
    ])
    expect(histogramQuantile(NaN, ok)).toBeNaN()
    expect(histogramQuantile(-0.1, ok)).toBe(-Infinity)
    expect(histogramQuantile(1.1, ok)).toBe(Infinity)
    expect(
      histogramQuantile(
        0.5,
        b([
          [1, 1],
          [2, 2],
        ]),
      ),
    ).toBeNaN() // no +Inf
    expect(histogramQuantile(0.5, b([[Infinity, 3]]))).toBeNaN() // fewer than 2 buckets
    expect(
      histogramQuantile(
        0.5,
        b([
          [1, 0],
          [Infinity, 0],
        ]),
      ),
    ).toBeNaN() // no observations
    expect(histogramQuantile(0.5, [])).toBeNaN()
  })

  it('sorts, coalesces equal bounds and forces monotonic counts', () => {
    // Unsorted input with a duplicate bound (1 → 2 + 2 = 4) and a dip (le=3 below le=2).
    const buckets = b([
      [Infinity, 8],
      [1, 2],
      [3, 5],
      [1, 2],
      [2, 6],
    ])
    // After repair: [1:4, 2:6, 3:6, +Inf:8]; rank 4 → exactly the top of bucket 1.
    expect(histogramQuantile(0.5, buckets)).toBe(1)
    // rank 6 → first bucket reaching 6 is le=2: 1 + (2-1) * (6-4)/(6-4) = 2.
    expect(histogramQuantile(0.75, buckets)).toBe(2)
  })
})
