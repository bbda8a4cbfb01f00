import { describe, expect, it } from 'vitest'
import { expandDates, expandWorkloadDates } from '../src/engine/workload-dates.js'

const NOW = Date.UTC(2026, 10, 28, 23, 30) // 2026-11-28T23:30Z

describe('workload date placeholders', () => {
  it('resolves {{today}} and {{today+N}} in UTC, across month ends', () => {
    expect(expandDates('/a?in={{today}}&out={{ today + 5 }}', NOW)).toBe('/a?in=2026-11-28&out=2026-12-03')
    expect(expandDates('no placeholder {{tomorrow}}', NOW)).toBe('no placeholder {{tomorrow}}')
  })

  it('resolves placeholders in paths and nested body strings, leaving other values alone', () => {
    const [r] = expandWorkloadDates(
      [
        {
          method: 'POST',
          path: '/b/{{today+1}}',
          weight: 2,
          body: { n: 3, stay: { check_in: '{{today+3}}' }, tags: ['{{today}}'] },
        },
      ],
      NOW,
    )
    expect(r).toEqual({
      method: 'POST',
      path: '/b/2026-11-29',
      weight: 2,
      body: { n: 3, stay: { check_in: '2026-12-01' }, tags: ['2026-11-28'] },
    })
  })
})
