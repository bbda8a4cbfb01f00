/**
 * The label matchers that pick a fleet's series in Prometheus (`--metrics-selector`, config
 * `metrics_selector`), e.g. `job="hotel"` or `job="hotel",namespace=~"prod-.*"`: parsed and
 * checked here so a typo is a usage error before a run, not a run whose counters all read null.
 */
import { InvalidInputError } from '../errors.js'

/** One label matcher, as PromQL writes it: `name op "value"`. */
export interface LabelMatcherText {
  name: string
  op: '=' | '!=' | '=~' | '!~'
  value: string
}

const NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y
const OP = /=~|!~|!=|=/y
const SPACE = /\s*/y

function bad(text: string, why: string): InvalidInputError {
  return new InvalidInputError(
    `metrics selector "${text}" is not a list of PromQL label matchers: ${why}`,
    'write e.g. --metrics-selector \'job="hotel"\' (several: job="hotel",namespace="prod")',
  )
}

/** Reads a quoted PromQL string (double, single or back quotes) at `at`; returns value and end. */
function readString(text: string, at: number): { value: string; end: number } | undefined {
  const quote = text[at]
  if (quote !== '"' && quote !== "'" && quote !== '`') return undefined
  let value = ''
  for (let i = at + 1; i < text.length; i++) {
    const c = text[i]!
    if (c === quote) return { value, end: i + 1 }
    if (c === '\\' && quote !== '`') {
      const next = text[++i]
      if (next === undefined) return undefined
      value += next === 'n' ? '\n' : next === 't' ? '\t' : next
    } else value += c
  }
  return undefined
}

/**
 * Parses matchers, with or without the surrounding braces. Throws InvalidInputError when the text
 * is not matchers, or is empty (a selector matching everything Prometheus has is no fleet).
 */
export function parseSelector(text: string): LabelMatcherText[] {
  let body = text.trim()
  if (body.startsWith('{') && body.endsWith('}')) body = body.slice(1, -1)
  const matchers: LabelMatcherText[] = []
  let at = 0
  const skip = () => {
    SPACE.lastIndex = at
    SPACE.exec(body)
    at = SPACE.lastIndex
  }
  skip()
  while (at < body.length) {
    NAME.lastIndex = at
    const name = NAME.exec(body)?.[0]
    if (!name) throw bad(text, `a label name is expected at "${body.slice(at)}"`)
    at += name.length
    skip()
    OP.lastIndex = at
    const op = OP.exec(body)?.[0] as LabelMatcherText['op'] | undefined
    if (!op) throw bad(text, `=, !=, =~ or !~ is expected after ${name}`)
    at += op.length
    skip()
    const str = readString(body, at)
    if (!str) throw bad(text, `a quoted value is expected after ${name}${op}`)
    matchers.push({ name, op, value: str.value })
    at = str.end
    skip()
    if (at < body.length) {
      if (body[at] !== ',') throw bad(text, `a comma is expected at "${body.slice(at)}"`)
      at++
      skip()
    }
  }
  if (matchers.length === 0) throw bad(text, 'it is empty')
  // Prometheus refuses selectors whose every matcher matches an absent label (and one would pick
  // every series it has, which is no fleet).
  if (matchers.every(matchesEmpty))
    throw bad(text, 'every matcher matches an empty label; add e.g. job="hotel"')
  return matchers
}

/** True when the matcher accepts a series without the label (PromQL's regexps are anchored). */
function matchesEmpty(m: LabelMatcherText): boolean {
  if (m.op === '=') return m.value === ''
  if (m.op === '!=') return m.value !== ''
  let empty: boolean
  try {
    empty = new RegExp(`^(?:${m.value})$`).test('')
  } catch {
    return false // Prometheus judges its own (RE2) syntax; JS may read some patterns differently
  }
  return m.op === '=~' ? empty : !empty
}

/** The matchers as PromQL text, without braces (to put beside other matchers). */
export function formatSelector(matchers: readonly LabelMatcherText[]): string {
  return matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(',')
}

/**
 * The selector implied by the `--discover` specs when `--metrics-selector` is not given: the
 * matchers of a `prometheus:<PromQL>` spec's first selector (`up{job="hotel"}` → `job="hotel"`,
 * without `__name__`), or `job="<job>"` for `prometheus-targets:<job>`. Undefined when no spec
 * implies one; InvalidInputError when the specs imply different ones (then it must be given).
 */
export function selectorFromDiscovery(specs: readonly string[]): string | undefined {
  const found = new Set<string>()
  for (const spec of specs) {
    if (spec.startsWith('prometheus-targets:')) {
      found.add(formatSelector([{ name: 'job', op: '=', value: spec.slice('prometheus-targets:'.length) }]))
    } else if (spec.startsWith('prometheus:')) {
      const expr = spec.slice('prometheus:'.length)
      const open = expr.indexOf('{')
      const close = open < 0 ? -1 : expr.indexOf('}', open)
      if (close < 0) continue
      let matchers: LabelMatcherText[]
      try {
        matchers = parseSelector(expr.slice(open + 1, close)).filter((m) => m.name !== '__name__')
      } catch {
        continue
      }
      if (matchers.length > 0) found.add(formatSelector(matchers))
    }
  }
  if (found.size > 1)
    throw new InvalidInputError(
      `the --discover specs imply different metrics selectors (${[...found].join(' | ')})`,
      "say which series are the fleet's with --metrics-selector",
    )
  return [...found][0]
}

/** The values of `--metrics-source` (config `metrics_source`); `scrape` is the default. */
export const METRICS_SOURCES = ['scrape', 'prometheus'] as const
export type MetricsSource = (typeof METRICS_SOURCES)[number]

/**
 * The fleet's selector for `--metrics-source prometheus`: `--metrics-selector` when given (checked
 * and normalised), else the one the `--discover` specs imply (`prometheus:up{job="hotel"}` →
 * `job="hotel"`). InvalidInputError when neither gives one.
 */
export function resolveMetricsSelector(
  selector: string | undefined,
  discover: readonly string[] = [],
): string {
  const chosen = selector ?? selectorFromDiscovery(discover)
  if (chosen === undefined)
    throw new InvalidInputError(
      '--metrics-source prometheus needs the label matchers of the fleet in Prometheus',
      'give --metrics-selector \'job="hotel"\' (config metrics_selector), or --discover prometheus:up{job="hotel"}',
    )
  return formatSelector(parseSelector(chosen))
}
