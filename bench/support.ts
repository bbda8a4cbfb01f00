/** What the HTTP benchmarks share: autocannon (loaded untyped) and the median of samples. */

/** The part of autocannon's result the benchmarks read. */
export interface AutocannonResult {
  requests: { total: number }
  non2xx: number
  errors: number
  timeouts: number
}

/** autocannon's programmatic form, as the benchmarks call it. */
export type Autocannon = (options: {
  url: string
  connections: number
  duration: number
}) => Promise<AutocannonResult>

/** autocannon, imported at run time: it ships no types, and a computed specifier keeps tsc from looking. */
export async function loadAutocannon(): Promise<Autocannon> {
  const specifier = 'autocannon'
  return ((await import(specifier)) as { default: Autocannon }).default
}

/** The median (the mean of the two middle values for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
