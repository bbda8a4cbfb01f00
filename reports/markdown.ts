/**
 * The Markdown report (GitHub-flavoured), for pull-request comments and CI job summaries
 * (`$GITHUB_STEP_SUMMARY`): per run a verdict heading, the summary table, what failed (checks,
 * aborts, errors, rollbacks not verified) and the analysis lines. Every text from the record is
 * escaped, so a scenario name or an error message can neither break the table nor inject markup.
 */
import type { AnalysisLine, ExperimentRecord, RunOutcome, RunRecord } from '../src/record.js'
import { ms, pct, plural, seconds } from '../src/wording.js'
import { checkComparison, experimentPassed } from './junit.js'

/**
 * Line breaks to one space; control characters, lone surrogates and non-characters (invisible, or
 * garbage on the page) removed.
 */
function oneLine(value: string): string {
  return value
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/[^\t\u0020-\u007E\u00A0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
}

/**
 * Plain text inside Markdown, on one line: every character that would start markup is escaped with
 * a backslash (GFM allows one before any ASCII punctuation), `|` always, so a table cell holds. The
 * ones that are markup only in some places (`_` inside a word, `<` not opening a tag, `>` or `#`
 * not at the start, `&` not an entity) are left alone, so the raw text stays readable.
 */
export function mdText(value: string): string {
  const text = oneLine(value)
  const word = /[A-Za-z0-9]/
  return text.replace(/[\\`*_[\]<>|#~&+\-.)]/g, (c: string, i: number) => {
    const before = text[i - 1] ?? ''
    const after = text[i + 1] ?? ''
    switch (c) {
      case '_':
        return word.test(before) && word.test(after) ? c : '\\_'
      case '<':
        return /[A-Za-z/!?]/.test(after) ? '\\<' : c
      case '>':
      case '#':
      case '+':
      case '-':
        // Block markers (quote, heading, list) only at the start of the text.
        return i === 0 ? `\\${c}` : c
      case '.':
      case ')':
        // `1. ` or `1) ` at the start would be an ordered list.
        return /^\d+$/.test(text.slice(0, i)) ? `\\${c}` : c
      case '&':
        return /^&(#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);/i.test(text.slice(i)) ? '\\&' : c
      default:
        return `\\${c}`
    }
  })
}

/**
 * A code span: a backtick fence longer than any backtick run inside. In a table cell `|` still ends
 * the cell (GFM splits rows before parsing spans), so there it is escaped; GitHub drops the backslash.
 */
export function mdCode(value: string, inTable = false): string {
  const text = oneLine(value)
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length))
  const fence = '`'.repeat(longest + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  const body = inTable ? text.replace(/\|/g, '\\|') : text
  return `${fence}${pad}${body}${pad}${fence}`
}

const VERDICT: Record<RunOutcome, string> = {
  PASSED: '✅',
  FAILED: '❌',
  ABORTED: '🛑',
  INTERRUPTED: '⏹️',
  ERROR: '💥',
  INCONCLUSIVE: '⚠️',
}

const ANALYSIS_MARK: Record<AnalysisLine['level'], string> = {
  OK: '✅',
  WARN: '⚠️',
  ACTION: '📝 **Action:**',
}

function stateCell(e: ExperimentRecord): string {
  if (experimentPassed(e)) return '✅ COMPLETED'
  if (e.state === 'SKIPPED') return '⏭️ SKIPPED'
  if (e.state === 'COMPLETED') return e.hypothesis_held === null ? '⚠️ COMPLETED' : '❌ COMPLETED'
  return `❌ ${e.state}`
}

function hypothesisCell(e: ExperimentRecord): string {
  if (e.hypothesis_held === true) return 'held'
  if (e.hypothesis_held === false) return '**NOT held**'
  return e.state === 'COMPLETED' ? 'inconclusive' : '-'
}

function mttrCell(e: ExperimentRecord): string {
  if (e.metrics.mttr_seconds !== null) return seconds(e.metrics.mttr_seconds)
  return e.metrics.recovery ? 'never' : '-'
}

function rollbackCell(e: ExperimentRecord): string {
  if (!e.rollback.attempted) return '-'
  return e.rollback.verified ? 'verified' : '**NOT verified**'
}

function summaryTable(record: RunRecord): string[] {
  const rows = record.experiments.map((e) => {
    const m = e.metrics.during
    return [
      `${mdCode(e.id, true)} ${mdText(e.name)}`,
      mdText(e.category),
      stateCell(e),
      hypothesisCell(e),
      m ? pct(m.availability) : '-',
      m ? pct(m.error_rate) : '-',
      m ? ms(m.latency_ms.p95) : '-',
      mttrCell(e),
      rollbackCell(e),
    ]
  })
  return [
    '| Experiment | Category | State | Hypothesis | Availability | Error rate | p95 | MTTR | Rollback |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ]
}

/** What went wrong in one experiment, one list item each (empty when it passed or was skipped). */
function problems(e: ExperimentRecord): string[] {
  const who = mdCode(e.id)
  const items: string[] = []
  for (const c of e.checks) {
    if (c.passed === false) items.push(`- ${who}: ${mdCode(c.expression)}: ${mdText(checkComparison(c))}`)
    else if (c.passed === null)
      items.push(
        `- ${who}: ${mdCode(c.expression)}: not evaluated${c.detail ? ` (${mdText(c.detail)})` : ''}`,
      )
  }
  if (e.state === 'ABORTED')
    items.push(`- ${who}: aborted: ${mdText(e.abort_reason ?? 'no reason recorded')}`)
  if (e.state === 'FAILED') items.push(`- ${who}: failed: ${mdText(e.error ?? 'no error recorded')}`)
  if (e.state === 'INTERRUPTED')
    items.push(
      `- ${who}: ${e.abort_reason?.startsWith('interrupted') ? mdText(e.abort_reason) : `interrupted: ${mdText(e.abort_reason ?? 'no reason recorded')}`}`,
    )
  if (e.state === 'COMPLETED' && e.hypothesis_held === null)
    items.push(`- ${who}: inconclusive: ${mdText(e.inconclusive_reason ?? 'the hypothesis was not tested')}`)
  if (e.rollback.attempted && !e.rollback.verified)
    items.push(
      `- ${who}: **rollback NOT verified**${e.rollback.error ? `: ${mdText(e.rollback.error)}` : ''}; check the target, a fault may still be active`,
    )
  // One line per instance that needs a look (a fleet's summary names the instances, not only the run).
  for (const i of e.instances ?? []) {
    if (i.start === 'REFUSED') items.push(`- ${who}: instance ${mdCode(i.url)} refused the start`)
    if (i.rollback_verified === false)
      items.push(
        `- ${who}: instance ${mdCode(i.url)}: **rollback NOT verified**${i.rollback_error ? `: ${mdText(i.rollback_error)}` : ''}`,
      )
  }
  for (const s of e.discovery?.skipped ?? [])
    items.push(`- ${who}: instance ${mdCode(s.url)} skipped: ${mdText(s.reason)}`)
  return items
}

function runSection(record: RunRecord, level: number): string[] {
  const h = '#'.repeat(level)
  const ran = record.experiments.filter((e) => e.state !== 'SKIPPED')
  const passed = ran.filter(experimentPassed).length
  const skipped = record.experiments.length - ran.length
  const runSeconds = Math.max(0, (Date.parse(record.finished_at) - Date.parse(record.started_at)) / 1000)
  const counts = [`${passed} passed`, `${ran.length - passed} not passed`]
  if (skipped > 0) counts.push(`${skipped} skipped`)
  const lines = [
    `${h} ${VERDICT[record.outcome]} chaos ${mdText(record.selection.join(' ') || 'run')}: ${record.outcome} (exit ${record.exit_code})`,
    '',
    `Run ${mdCode(record.run_id)} · target ${record.target.urls.map((u) => mdCode(u)).join(', ')}${record.target.sandbox ? ' (built-in sandbox)' : ''} · started ${mdText(record.started_at)}, took ${seconds(runSeconds)} · ${plural(record.experiments.length, 'experiment')}: ${counts.join(', ')}`,
  ]
  if (record.partial) lines.push('', '> This run did not finish: the report is partial.')
  if (record.experiments.length === 0) {
    lines.push('', 'No experiments were run.')
    return lines
  }
  lines.push('', ...summaryTable(record))
  const failed = record.experiments.flatMap(problems)
  if (failed.length > 0) lines.push('', `${h}# What failed`, '', ...failed)
  const analysed = record.experiments.filter((e) => e.analysis.length > 0)
  if (analysed.length > 0) {
    lines.push('', `${h}# Analysis`)
    for (const e of analysed) {
      lines.push('', `**${mdCode(e.id)}** ${mdText(e.name)}`, '')
      for (const a of e.analysis) lines.push(`- ${ANALYSIS_MARK[a.level]} ${mdText(a.message)}`)
    }
  }
  return lines
}

/**
 * The Markdown of one or more runs (a monkey or schedule session makes several), in the order
 * given; more than one run gets an overview line first. Ends with a newline.
 */
export function renderMarkdown(records: readonly RunRecord[]): string {
  if (records.length === 1) return runSection(records[0]!, 2).join('\n') + '\n'
  const passed = records.filter((r) => r.outcome === 'PASSED').length
  const lines = [
    `## chaos: ${plural(records.length, 'run')}, ${passed} passed${records.length > passed ? `, ${records.length - passed} not passed` : ''}`,
  ]
  if (records.length === 0) lines.push('', 'No runs were made.')
  for (const record of records) lines.push('', ...runSection(record, 3))
  return lines.join('\n') + '\n'
}
