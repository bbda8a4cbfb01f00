/**
 * The three-line digest of a run: the verdict, which checks failed, and what to do. It opens the
 * text report and `chaos report show|latest`, and ends a run on a terminal: the on-call engineer
 * reads these three lines first and the rest only if needed. Plain text, each line at most
 * {@link DIGEST_WIDTH} characters (cut with "…"), derived from the record only: the analysis lines
 * the guide's interpretation rules wrote into it (`withAnalysis`, as every run does), the abort
 * reasons and errors, the rollback records and the inconclusive reasons.
 */
import type { CheckResult, ExperimentRecord, RunRecord } from '../src/record.js'
import { checkValue, plural, tryParseCheck } from '../src/wording.js'

/** Longest digest line, in characters (code points). */
export const DIGEST_WIDTH = 100

/** `text` cut to `width` characters, ending in "…" when cut. */
export function truncate(text: string, width = DIGEST_WIDTH): string {
  const chars = Array.from(text)
  return chars.length <= width ? text : chars.slice(0, width - 1).join('') + '…'
}

/**
 * Items joined with `separator` after `prefix`, as many as fit in {@link DIGEST_WIDTH}, then
 * "+N more" for the rest (the first item is always shown, cut if it alone is too long).
 */
function fitList(prefix: string, items: readonly string[], separator = '; '): string {
  let line = prefix + (items[0] ?? '')
  let shown = items.length > 0 ? 1 : 0
  for (const item of items.slice(1)) {
    const rest = items.length - shown - 1
    const more = rest > 0 ? `${separator}+${rest} more` : ''
    if (Array.from(line + separator + item + more).length > DIGEST_WIDTH) break
    line += separator + item
    shown++
  }
  const rest = items.length - shown
  const more = rest > 0 ? `${separator}+${rest} more` : ''
  // The "+N more" is kept whole; only the listed part is cut when it does not fit.
  return truncate(line, DIGEST_WIDTH - Array.from(more).length) + more
}

/** What became of experiments that did not hold their hypothesis, worst first; `outcome` picks the lead. */
const FATES: readonly {
  outcome: RunRecord['outcome']
  what: (their: string) => string
  is: (e: ExperimentRecord) => boolean
}[] = [
  {
    outcome: 'FAILED',
    what: (their) => `did not hold ${their} hypothesis`,
    is: (e) => e.hypothesis_held === false,
  },
  {
    outcome: 'ERROR',
    what: () => 'failed (runtime error)',
    is: (e) => e.state === 'FAILED' && e.hypothesis_held !== false,
  },
  {
    outcome: 'ABORTED',
    what: () => 'aborted',
    is: (e) => e.state === 'ABORTED' && e.hypothesis_held !== false,
  },
  {
    outcome: 'INTERRUPTED',
    what: () => 'interrupted',
    is: (e) => e.state === 'INTERRUPTED' && e.hypothesis_held !== false,
  },
  {
    outcome: 'INCONCLUSIVE',
    what: () => 'inconclusive (proved nothing)',
    is: (e) => e.state === 'COMPLETED' && e.hypothesis_held === null,
  },
  { outcome: 'PASSED', what: () => 'skipped', is: (e) => e.state === 'SKIPPED' },
]

/**
 * Line 1: the outcome, then "N of M experiments …" for the kind that decided the outcome, then
 * the others ("2 held", "1 skipped"), e.g. "FAILED — 1 of 3 experiments did not hold their
 * hypothesis; 2 held".
 */
function verdictLine(record: RunRecord): string {
  const all = record.experiments
  const total = all.length
  if (total === 0) return truncate(`${record.outcome} — no experiment ran`)
  const their = total === 1 ? 'its' : 'their'
  const held = all.filter((e) => e.hypothesis_held === true).length
  if (held === total)
    return truncate(`${record.outcome} — ${held} of ${plural(total, 'experiment')} held ${their} hypothesis`)
  const fates = FATES.map((f) => ({ ...f, n: all.filter(f.is).length })).filter((f) => f.n > 0)
  const lead = fates.find((f) => f.outcome === record.outcome) ?? fates[0]!
  const others = [
    ...(held > 0 ? [`${held} held`] : []),
    ...fates.filter((f) => f !== lead).map((f) => `${f.n} ${f.what(their)}`),
  ]
  return truncate(
    `${record.outcome} — ${lead.n} of ${plural(total, 'experiment')} ${lead.what(their)}${others.length > 0 ? `; ${others.join(', ')}` : ''}`,
  )
}

function checkWithValue(e: ExperimentRecord, c: CheckResult): string {
  const actual = c.actual === null ? 'unknown' : checkValue(tryParseCheck(c.expression), c.actual)
  return `${e.id} ${c.expression} (was ${actual})`
}

/** Line 2: every failed check with its value, else the checks not evaluated, else "no check failed". */
function checksLine(record: RunRecord): string {
  const failed: string[] = []
  const unevaluated: string[] = []
  for (const e of record.experiments)
    for (const c of e.checks) {
      if (c.passed === false) failed.push(checkWithValue(e, c))
      else if (c.passed === null) unevaluated.push(`${e.id} ${c.expression}`)
    }
  if (failed.length > 0) {
    const items = unevaluated.length > 0 ? [...failed, `${unevaluated.length} not evaluated`] : failed
    return fitList('failed: ', items)
  }
  if (unevaluated.length > 0)
    return fitList(`${plural(unevaluated.length, 'check')} not evaluated: `, unevaluated, ', ')
  return 'no check failed'
}

/** "Check … failed: actual …" lines repeat line 2; the digest's advice comes from the other ACTION lines. */
const CHECK_ACTION = /^Check .* failed: actual /

/**
 * Line 3: what to do, most urgent first: a rollback not verified (the fault may still be live),
 * then the interpretation rules' ACTION lines (an abort and its reason, a failed experiment,
 * weak fallbacks, …), then an inconclusive reason, then a failed check with no other advice.
 */
function actionLine(record: RunRecord): string {
  const unsafe = record.experiments.filter(
    (e) =>
      (e.rollback.attempted && !e.rollback.verified) || (!e.rollback.attempted && e.injected_at !== null),
  )
  if (unsafe.length > 0)
    return truncate(
      `next: run \`chaos stop --all\` now - rollback not verified (${unsafe.map((e) => e.id).join(', ')}): the fault may be live`,
    )
  const actions = record.experiments.flatMap((e) =>
    e.analysis
      .filter((l) => l.level === 'ACTION' && !CHECK_ACTION.test(l.message))
      .map((l) => `${e.id}: ${l.message}`),
  )
  if (actions.length > 0) return fitList('next: ', actions)
  // A record without analysis lines (written by hand, or by an older runner) still says why.
  const stopped = record.experiments.flatMap((e) =>
    e.state === 'ABORTED' || e.state === 'FAILED'
      ? [`${e.id} ${e.state.toLowerCase()}: ${e.abort_reason ?? e.error ?? 'no reason recorded'}`]
      : [],
  )
  if (stopped.length > 0) return fitList('next: see why ', stopped)
  const inconclusive = record.experiments.filter(
    (e) => e.state === 'COMPLETED' && e.hypothesis_held === null && e.inconclusive_reason,
  )
  if (inconclusive.length > 0)
    return fitList(
      'next: make it testable - ',
      inconclusive.map((e) => `${e.id}: ${e.inconclusive_reason!}`),
    )
  const failing = record.experiments.flatMap((e) => e.checks.filter((c) => c.passed === false).map(() => e))
  if (failing.length > 0)
    return fitList(
      'next: ',
      [...new Set(failing)].map((e) => `make ${e.target_service} hold "${e.steady_state_hypothesis}"`),
    )
  if (record.outcome === 'INTERRUPTED') return 'next: run it again - it was interrupted, results are partial'
  if (record.outcome === 'PASSED') return 'nothing to do'
  return truncate(`next: see the report - the run ended ${record.outcome} with no recorded action`)
}

/**
 * The digest of a run, exactly three lines: (1) the verdict, e.g. "FAILED — 1 of 3 experiments
 * did not hold their hypothesis"; (2) the failed checks with their values ("failed: … (was 12%)"),
 * else the checks not evaluated, else "no check failed"; (3) what to do ("next: …", or "nothing to
 * do"). Each line is at most {@link DIGEST_WIDTH} characters, plain text.
 */
export function runDigest(record: RunRecord): string[] {
  return [verdictLine(record), checksLine(record), actionLine(record)]
}
