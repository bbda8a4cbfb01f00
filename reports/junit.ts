/**
 * The JUnit XML report, for CI servers (Jenkins, GitLab, the GitHub test-report actions): one
 * `testsuite` per run under a `testsuites` root, one `testcase` per experiment. Valid against the
 * JUnit XSD Jenkins' xUnit plugin uses (test/fixtures/junit/junit-10.xsd), which allows
 * `properties` on a suite only: the per-experiment facts are suite properties prefixed with the
 * experiment id, and each test case's `system-out` repeats them in words.
 *
 * A test case passes when its experiment completed with the hypothesis held. Otherwise:
 * - a `failure` per failed check (message: the check, text: actual vs expected), and one for an
 *   experiment aborted for safety or whose hypothesis did not hold;
 * - an `error` for a runtime failure, an interruption, an inconclusive result (nothing was proven)
 *   and a rollback that was not verified;
 * - `skipped` for an experiment the suite never reached.
 */
import type { CheckResult, ExperimentRecord, RunRecord } from '../src/record.js'
import { checkValue, faultSummary, ms, num, pct, seconds, tryParseCheck } from '../src/wording.js'

/**
 * Characters XML 1.0 does not allow at all, not even escaped: C0 controls other than tab, LF, CR;
 * lone surrogates; U+FFFE and U+FFFF. Removed from every string.
 */
const ILLEGAL_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

/** Text content: the five markup characters that matter outside attributes, illegal ones removed. */
export function xmlText(value: string): string {
  return value.replace(ILLEGAL_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * An attribute value (for double quotes). Tab, LF and CR are written as character references:
 * a parser would turn them into spaces otherwise (attribute-value normalisation).
 */
export function xmlAttr(value: string): string {
  return xmlText(value)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
}

/** Seconds with at most three decimals, as the schema's SUREFIRE_TIME pattern wants. */
function time(secondsValue: number): string {
  return Math.max(0, secondsValue).toFixed(3)
}

/** Seconds between two ISO times; 0 when either is missing. */
function elapsed(from: string | null, to: string | null): number {
  if (from === null || to === null) return 0
  return Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000)
}

/**
 * The Ant/Surefire timestamp form (no zone, no fraction), in UTC: `2026-11-28T11:22:33`. Readers
 * that want a zone get it from the `started_at` property (ISO-8601 with Z).
 */
function timestamp(iso: string): string {
  return iso.replace(/(\.\d+)?Z$/, '')
}

function attrs(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${xmlAttr(String(value))}"`)
    .join('')
}

/** One `failure`, `error` or `skipped` child of a test case. */
interface Outcome {
  kind: 'failure' | 'error' | 'skipped'
  type: string
  message: string
  text?: string
}

/** `actual 85%, expected > 95%` (the text report's wording). */
export function checkComparison(c: CheckResult): string {
  const parsed = tryParseCheck(c.expression)
  const actual = c.actual === null ? 'unknown' : checkValue(parsed, c.actual)
  let expected =
    c.expected === null ? 'unknown' : `${parsed?.op ?? ''} ${checkValue(parsed, c.expected)}`.trim()
  if (parsed?.bound.kind === 'baseline') expected += ` (${num(parsed.bound.factor)}x baseline)`
  return `actual ${actual}, expected ${expected}`
}

/** Whether an experiment passed: completed, and the hypothesis held. */
export function experimentPassed(e: ExperimentRecord): boolean {
  return e.state === 'COMPLETED' && e.hypothesis_held === true
}

function outcomes(e: ExperimentRecord): Outcome[] {
  if (e.state === 'SKIPPED')
    return [{ kind: 'skipped', type: 'SKIPPED', message: 'not run: the suite stopped before it' }]
  const found: Outcome[] = []
  for (const c of e.checks) {
    if (c.passed !== false) continue
    const label = c.name === c.expression ? '' : `${c.name}\n`
    found.push({
      kind: 'failure',
      type: 'CHECK_FAILED',
      message: c.expression,
      text: `${label}${c.expression}: ${checkComparison(c)}${c.detail ? `\n${c.detail}` : ''}`,
    })
  }
  if (e.state === 'ABORTED')
    found.push({
      kind: 'failure',
      type: 'ABORTED',
      message: `aborted: ${e.abort_reason ?? 'no reason recorded'}`,
    })
  else if (e.state === 'FAILED')
    found.push({ kind: 'error', type: 'FAILED', message: `failed: ${e.error ?? 'no error recorded'}` })
  else if (e.state === 'INTERRUPTED')
    found.push({
      kind: 'error',
      type: 'INTERRUPTED',
      // The recorded reason already starts with the word: "interrupted (SIGINT)".
      message: e.abort_reason?.startsWith('interrupted')
        ? e.abort_reason
        : `interrupted: ${e.abort_reason ?? 'no reason recorded'}`,
    })
  else if (e.hypothesis_held === false && found.length === 0)
    found.push({
      kind: 'failure',
      type: 'HYPOTHESIS_NOT_HELD',
      message: 'the steady-state hypothesis did not hold',
    })
  else if (e.hypothesis_held === null) {
    const unevaluated = e.checks.filter((c) => c.passed === null)
    found.push({
      kind: 'error',
      type: 'INCONCLUSIVE',
      message: `inconclusive: ${e.inconclusive_reason ?? 'the hypothesis was not tested'}`,
      ...(unevaluated.length > 0 && {
        text: unevaluated
          .map((c) => `${c.expression}: not evaluated${c.detail ? ` (${c.detail})` : ''}`)
          .join('\n'),
      }),
    })
  }
  if (e.rollback.attempted && !e.rollback.verified)
    found.push({
      kind: 'error',
      type: 'ROLLBACK_NOT_VERIFIED',
      message: `rollback not verified${e.rollback.error ? `: ${e.rollback.error}` : ''}`,
      text: `${e.rollback.attempts} attempt${e.rollback.attempts === 1 ? '' : 's'} (${e.rollback.method ?? 'no route'}); faults after rollback: ${e.rollback.faults_after_rollback ?? 'not measured'}. Check the target: a fault may still be active.`,
    })
  return found
}

/** How the test case counts in its suite's totals: each test case counts once. */
function tally(found: readonly Outcome[]): 'passed' | 'failures' | 'errors' | 'skipped' {
  if (found.some((o) => o.kind === 'failure')) return 'failures'
  if (found.some((o) => o.kind === 'error')) return 'errors'
  if (found.some((o) => o.kind === 'skipped')) return 'skipped'
  return 'passed'
}

function mttr(e: ExperimentRecord): string {
  if (e.metrics.mttr_seconds !== null) return seconds(e.metrics.mttr_seconds)
  return e.metrics.recovery ? 'never recovered' : 'not measured'
}

function hypothesisWord(e: ExperimentRecord): string {
  if (e.hypothesis_held === true) return 'held'
  if (e.hypothesis_held === false) return 'NOT held'
  return e.state === 'COMPLETED' ? 'inconclusive' : 'not decided'
}

/** The experiment in words, for the test case's system-out (what a CI server shows under it). */
function systemOut(e: ExperimentRecord): string {
  const lines = [
    `${e.name} (${e.id}), category ${e.category}, target service ${e.target_service}`,
    `Hypothesis: ${e.steady_state_hypothesis}`,
    `Fault: ${faultSummary(e.fault_config)}; blast radius ${e.blast_radius}`,
    `State: ${e.state}; hypothesis ${hypothesisWord(e)}`,
  ]
  const m = e.metrics.during
  if (m)
    lines.push(
      `During injection: ${m.total_requests} requests, availability ${pct(m.availability)}, error rate ${pct(m.error_rate)}, p95 ${ms(m.latency_ms.p95)}; MTTR ${mttr(e)}`,
    )
  if (e.rollback.attempted)
    lines.push(
      `Rollback: ${e.rollback.verified ? 'verified' : 'NOT verified'} (${e.rollback.method ?? 'no route'})`,
    )
  for (const c of e.checks)
    lines.push(
      `Check ${c.passed === true ? 'passed' : c.passed === false ? 'FAILED' : 'not evaluated'}: ${c.expression}${c.passed === null ? '' : ` (${checkComparison(c)})`}`,
    )
  const marks = { OK: 'OK', WARN: 'Warning:', ACTION: 'Action:' } as const
  for (const a of e.analysis) lines.push(`${marks[a.level]} ${a.message}`)
  return lines.join('\n')
}

/** `0.2`, `1` (a probability as a plain number, like the record). */
function ratio(value: number): string {
  return num(value, 4)
}

function properties(record: RunRecord): string[] {
  const props: [string, string][] = [
    ['run_id', record.run_id],
    ['outcome', record.outcome],
    ['exit_code', String(record.exit_code)],
    ['partial', String(record.partial)],
    ['selection', record.selection.join(' ')],
    ['target', record.target.urls.join(' ')],
    ['sandbox', String(record.target.sandbox)],
    ['started_at', record.started_at],
    ['finished_at', record.finished_at],
  ]
  for (const e of record.experiments) {
    const p = `${e.id}.`
    props.push(
      [`${p}state`, e.state],
      [`${p}fault_type`, e.fault_config.fault_type],
      [`${p}probability`, ratio(e.fault_config.probability)],
      [`${p}blast_radius`, e.blast_radius],
    )
    // Left out when null (not measured, not decided): an empty value would read as a value.
    if (e.metrics.mttr_seconds !== null) props.push([`${p}mttr_seconds`, num(e.metrics.mttr_seconds, 3)])
    if (e.hypothesis_held !== null) props.push([`${p}hypothesis_held`, String(e.hypothesis_held)])
  }
  return [
    '    <properties>',
    ...props.map(([name, value]) => `      <property${attrs({ name, value })}/>`),
    '    </properties>',
  ]
}

function testcase(e: ExperimentRecord, found: readonly Outcome[]): string[] {
  const open = `    <testcase${attrs({
    name: `${e.id}: ${e.name}`,
    classname: e.category,
    time: time(elapsed(e.started_at, e.finished_at)),
  })}`
  const children = found.map((o) => {
    const head = `<${o.kind}${attrs({ type: o.type, message: o.message })}`
    return o.text === undefined ? `      ${head}/>` : `      ${head}>${xmlText(o.text)}</${o.kind}>`
  })
  // A skipped experiment has nothing to tell beyond the skip.
  if (e.state !== 'SKIPPED') children.push(`      <system-out>${xmlText(systemOut(e))}</system-out>`)
  return [`${open}>`, ...children, '    </testcase>']
}

/** The counts of one run's suite. */
export interface SuiteCounts {
  tests: number
  failures: number
  errors: number
  skipped: number
}

function suite(record: RunRecord, index: number): { lines: string[]; counts: SuiteCounts; time: number } {
  const counts: SuiteCounts = { tests: 0, failures: 0, errors: 0, skipped: 0 }
  const cases: string[] = []
  for (const e of record.experiments) {
    const found = outcomes(e)
    counts.tests++
    const kind = tally(found)
    if (kind !== 'passed') counts[kind]++
    cases.push(...testcase(e, found))
  }
  const runTime = elapsed(record.started_at, record.finished_at)
  const open = `  <testsuite${attrs({
    name: `chaos ${record.selection.join(' ') || 'run'}`,
    id: index,
    package: 'chaos',
    timestamp: timestamp(record.started_at),
    time: time(runTime),
    tests: counts.tests,
    failures: counts.failures,
    errors: counts.errors,
    skipped: counts.skipped,
  })}>`
  return { lines: [open, ...properties(record), ...cases, '  </testsuite>'], counts, time: runTime }
}

/**
 * The JUnit XML of one or more runs (a monkey or schedule session makes several): a `testsuites`
 * root with one `testsuite` per run, in the order given. Ends with a newline.
 */
export function renderJunit(records: readonly RunRecord[], options: { name?: string } = {}): string {
  const total: SuiteCounts = { tests: 0, failures: 0, errors: 0, skipped: 0 }
  let totalTime = 0
  const body: string[] = []
  records.forEach((record, i) => {
    const s = suite(record, i)
    body.push(...s.lines)
    total.tests += s.counts.tests
    total.failures += s.counts.failures
    total.errors += s.counts.errors
    total.skipped += s.counts.skipped
    totalTime += s.time
  })
  const root = `<testsuites${attrs({
    name: options.name ?? 'chaos',
    time: time(totalTime),
    tests: total.tests,
    failures: total.failures,
    errors: total.errors,
  })}`
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>']
  if (body.length === 0) lines.push(`${root}/>`)
  else lines.push(`${root}>`, ...body, '</testsuites>')
  return lines.join('\n') + '\n'
}
