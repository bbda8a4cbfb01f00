import client from 'prom-client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  counterSeries,
  findFamily,
  gaugeValues,
  labelsKey,
  parsePrometheusText,
  PromTextParseError,
  type Families,
  type LabelFilter,
} from '../src/metrics/prom-text.js'

/** Sum of a counter's matching series, as the scraper adds them up. */
const sumCounter = (families: Families, name: string, filter?: LabelFilter) =>
  counterSeries(families, name, filter).reduce((sum, s) => sum + s.value, 0)

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

    // Every bucket, _sum and _count sample of both label sets lands in the one family.
    const avail = family.samples.filter((x) => x.labels.route === '/api/availability')
    expect(avail.filter((x) => x.name.endsWith('_bucket')).map((x) => [x.labels.le, x.value])).toEqual([
      ['0.05', 1],
      ['0.1', 3],
      ['0.5', 4],
      ['1', 4],
      ['+Inf', 4],
    ])
    expect(avail.find((x) => x.name === 'http_request_duration_seconds_count')?.value).toBe(4)
    expect(avail.find((x) => x.name === 'http_request_duration_seconds_sum')?.value).toBeCloseTo(0.45, 12)
    expect(family.samples.filter((x) => x.labels.status === '503')).toHaveLength(7)
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
    const samples = families.get('pms_call_seconds')!.samples
    expect(samples.filter((x) => x.name === 'pms_call_seconds').map((x) => x.labels.quantile)).toEqual([
      '0.5',
      '0.9',
      '0.99',
    ])
    expect(samples.find((x) => x.labels.quantile === '0.5')?.value).toBeCloseTo(2.5, 9)
    expect(samples.find((x) => x.name === 'pms_call_seconds_sum')?.value).toBe(10)
    expect(samples.find((x) => x.name === 'pms_call_seconds_count')?.value).toBe(4)
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
    expect(labelsKey({})).toBe('{}')
  })
})
