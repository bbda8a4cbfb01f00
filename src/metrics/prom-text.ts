/**
 * Parser for the Prometheus text exposition format 0.0.4 (what prom-client serves on /metrics),
 * and helpers to read counter and gauge series out of it (what the scraper needs).
 *
 * Samples are grouped into families by their declared name: `x_bucket`, `x_sum`, `x_count` and
 * `x_created` join histogram `x`; `x_sum`, `x_count`, `x_created` and the quantile samples join
 * summary `x`; `x_total` and `x_created` join counter `x` (OpenMetrics style). Every sample keeps
 * its own labels, so labelled histograms stay separable per label set (the reason this parser
 * exists: parse-prometheus-text-format mixes them up).
 *
 * Grammar (per line): `# HELP name text`, `# TYPE name counter|gauge|histogram|summary|untyped`,
 * other `#` lines are comments, blank lines are ignored, and a sample is
 * `name[{label="value",...}] value [timestamp_ms]` with values in Go float syntax
 * (`1.5e3`, `NaN`, `+Inf`, `-Inf`) and label values escaping `\\`, `\"` and `\n`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
export type Labels = Readonly<Record<string, string>>

export interface Sample {
  /** Full sample name, e.g. `http_request_duration_seconds_bucket`. */
  name: string
  labels: Labels
  value: number
  /** Milliseconds since the epoch, when the exposition gave one. */
  timestamp?: number
}

export interface MetricFamily {
  name: string
  type: MetricType
  help?: string
  samples: Sample[]
}

/** Families by name, in order of first appearance. */
export type Families = Map<string, MetricFamily>

/** A malformed exposition; `line` is 1-based. */
export class PromTextParseError extends Error {
  override readonly name = 'PromTextParseError'
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`metrics line ${line}: ${message}`)
  }
}

const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const INT = /^-?\d+$/

/** Suffixes a family of each type may put on its sample names. */
const SUFFIXES: Record<MetricType, readonly string[]> = {
  histogram: ['_bucket', '_count', '_sum', '_created'],
  summary: ['_count', '_sum', '_created'],
  counter: ['_total', '_created'],
  gauge: [],
  untyped: [],
}

/** Parses a Go-syntax float: decimal, NaN, Inf with optional sign (case-insensitive). */
export function parsePromFloat(text: string): number | undefined {
  if (FLOAT.test(text)) return Number(text)
  switch (text.toLowerCase()) {
    case 'nan':
      return NaN
    case 'inf':
    case '+inf':
      return Infinity
    case '-inf':
      return -Infinity
  }
  return undefined
}

/** Parses a whole exposition. Throws {@link PromTextParseError} on the first malformed line. */
export function parsePrometheusText(text: string): Families {
  const families: Families = new Map()
  /** Sample name → family it was resolved to (cache; also fixes membership once seen). */
  const owner = new Map<string, MetricFamily>()
  const typed = new Set<string>()
  const lines = text.split('\n')

  const declare = (name: string): MetricFamily => {
    let f = families.get(name)
    if (!f) {
      f = { name, type: 'untyped', samples: [] }
      families.set(name, f)
    }
    return f
  }

  const resolve = (sampleName: string): MetricFamily => {
    const cached = owner.get(sampleName)
    if (cached) return cached
    let family = families.get(sampleName)
    if (!family) {
      for (const [base, f] of families) {
        if (!sampleName.startsWith(base)) continue
        const suffix = sampleName.slice(base.length)
        if (SUFFIXES[f.type].includes(suffix)) {
          family = f
          break
        }
      }
    }
    family ??= declare(sampleName)
    owner.set(sampleName, family)
    return family
  }

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1
    let line = lines[i]!
    if (line.endsWith('\r')) line = line.slice(0, -1)
    const trimmed = line.trim()
    if (trimmed === '') continue

    if (trimmed.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(trimmed)
      if (!m) continue // a plain comment
      const keyword = m[1]
      const name = m[2] ?? ''
      const rest = m[3] ?? ''
      if (METRIC_NAME.exec(name)?.[0] !== name)
        throw new PromTextParseError(`invalid metric name "${name}" in ${keyword}`, lineNo)
      const family = declare(name)
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new PromTextParseError(`second HELP line for ${name}`, lineNo)
        family.help = unescapeHelp(rest)
      } else {
        const type = rest.trim() as MetricType
        if (!TYPES.has(type))
          throw new PromTextParseError(`unknown metric type "${rest.trim()}" for ${name}`, lineNo)
        if (typed.has(name)) throw new PromTextParseError(`second TYPE line for ${name}`, lineNo)
        if (family.samples.length > 0)
          throw new PromTextParseError(`TYPE line for ${name} after its samples`, lineNo)
        typed.add(name)
        family.type = type
      }
      continue
    }

    const sample = parseSampleLine(line, lineNo)
    resolve(sample.name).samples.push(sample)
  }
  return families
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'))
}

function parseSampleLine(line: string, lineNo: number): Sample {
  let pos = 0
  const skipSpace = () => {
    while (pos < line.length && (line[pos] === ' ' || line[pos] === '\t')) pos++
  }
  skipSpace()
  const nameMatch = METRIC_NAME.exec(line.slice(pos))
  if (!nameMatch)
    throw new PromTextParseError(`expected a metric name at "${line.slice(pos, pos + 20)}"`, lineNo)
  const name = nameMatch[0]
  pos += name.length

  const labels: Record<string, string> = {}
  skipSpace()
  if (line[pos] === '{') {
    pos++
    for (;;) {
      skipSpace()
      if (line[pos] === '}') {
        pos++
        break
      }
      const ln = LABEL_NAME.exec(line.slice(pos))
      if (!ln)
        throw new PromTextParseError(
          `expected a label name in ${name} at "${line.slice(pos, pos + 20)}"`,
          lineNo,
        )
      const labelName = ln[0]
      pos += labelName.length
      skipSpace()
      if (line[pos] !== '=')
        throw new PromTextParseError(`expected "=" after label ${labelName} in ${name}`, lineNo)
      pos++
      skipSpace()
      if (line[pos] !== '"')
        throw new PromTextParseError(`expected a quoted value for label ${labelName} in ${name}`, lineNo)
      pos++
      let value = ''
      for (;;) {
        const c = line[pos]
        if (c === undefined)
          throw new PromTextParseError(`unterminated value for label ${labelName} in ${name}`, lineNo)
        pos++
        if (c === '"') break
        if (c !== '\\') {
          value += c
          continue
        }
        const e = line[pos++]
        if (e === '\\' || e === '"') value += e
        else if (e === 'n') value += '\n'
        else
          throw new PromTextParseError(
            `invalid escape "\\${e ?? ''}" in label ${labelName} of ${name}`,
            lineNo,
          )
      }
      if (Object.hasOwn(labels, labelName))
        throw new PromTextParseError(`label ${labelName} repeated in ${name}`, lineNo)
      labels[labelName] = value
      skipSpace()
      if (line[pos] === ',') pos++
      else if (line[pos] !== '}')
        throw new PromTextParseError(`expected "," or "}" after label ${labelName} in ${name}`, lineNo)
    }
  }

  const rest = line
    .slice(pos)
    .trim()
    .split(/[ \t]+/)
  if (rest.length === 0 || rest[0] === '') throw new PromTextParseError(`missing value for ${name}`, lineNo)
  if (rest.length > 2)
    throw new PromTextParseError(`unexpected "${rest.slice(2).join(' ')}" after ${name}'s value`, lineNo)
  const value = parsePromFloat(rest[0]!)
  if (value === undefined) throw new PromTextParseError(`invalid value "${rest[0]}" for ${name}`, lineNo)
  const sample: Sample = { name, labels, value }
  if (rest[1] !== undefined) {
    if (!INT.test(rest[1])) throw new PromTextParseError(`invalid timestamp "${rest[1]}" for ${name}`, lineNo)
    sample.timestamp = Number(rest[1])
  }
  return sample
}

// ---------------------------------------------------------------------------------------------
// Reading values

/** How one label must match: exact value, one of several values, or a pattern (anchored by you). */
export type LabelMatcher = string | readonly string[] | RegExp
/** Label constraints; a label absent from a sample matches as the empty string (as in PromQL). */
export type LabelFilter = Readonly<Record<string, LabelMatcher>>

/** True when `labels` satisfy every constraint in `filter`. */
export function matchLabels(labels: Labels, filter: LabelFilter = {}): boolean {
  for (const [name, matcher] of Object.entries(filter)) {
    const v = labels[name] ?? ''
    if (typeof matcher === 'string') {
      if (v !== matcher) return false
    } else if (matcher instanceof RegExp) {
      matcher.lastIndex = 0
      if (!matcher.test(v)) return false
    } else if (!matcher.includes(v)) return false
  }
  return true
}

/** A family by name; for counters `x_total` also finds family `x` and vice versa. */
export function findFamily(families: Families, name: string): MetricFamily | undefined {
  const direct = families.get(name)
  if (direct) return direct
  if (name.endsWith('_total')) {
    const base = families.get(name.slice(0, -'_total'.length))
    if (base?.type === 'counter') return base
  }
  const withTotal = families.get(`${name}_total`)
  return withTotal?.type === 'counter' ? withTotal : undefined
}

/** A labelled value: one series of a counter or gauge. */
export interface SeriesValue {
  labels: Labels
  value: number
}

/** The value samples of a counter, gauge or untyped metric (not `_created`), filtered by labels. */
function valueSamples(families: Families, name: string, filter?: LabelFilter): SeriesValue[] {
  const family = findFamily(families, name)
  if (!family) return []
  return family.samples
    .filter((s) => !s.name.endsWith('_created') && matchLabels(s.labels, filter))
    .map((s) => ({ labels: s.labels, value: s.value }))
}

/** Each series of a counter (`name` or `name_total`), filtered by labels. Empty when absent. */
export function counterSeries(families: Families, name: string, filter?: LabelFilter): SeriesValue[] {
  return valueSamples(families, name, filter)
}

/** Current values of a gauge, one per matching series. */
export function gaugeValues(families: Families, name: string, filter?: LabelFilter): SeriesValue[] {
  return valueSamples(families, name, filter)
}

/** Canonical key of a label set (sorted), e.g. `{a="1",b="2"}`; `{}` when empty. */
export function labelsKey(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
  return `{${parts.join(',')}}`
}
