/**
 * The JSON report: a run record serialised with a stable key order (the schema's field order, map
 * keys sorted), so two reports of the same run are byte-identical and diffs stay readable.
 */
import { InvalidInputError } from '../src/errors.js'
import { RunRecord, upgradeRecordData } from '../src/record.js'

function sortedKeys<T extends Record<string, unknown>>(map: T): T {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T
}

/**
 * Validates and normalises a record: zod's output follows the schema's field order; the open maps
 * (`failures_by_class`, extra `fault_config` fields) are sorted by key.
 */
export function canonicalRecord(record: RunRecord): RunRecord {
  const parsed = RunRecord.parse(record)
  for (const e of parsed.experiments) {
    const { fault_type, probability, blast_radius, ...rest } = e.fault_config
    e.fault_config = { fault_type, probability, blast_radius, ...sortedKeys(rest) }
    for (const m of [e.metrics.baseline, e.metrics.during, e.metrics.recovery])
      if (m) m.failures_by_class = sortedKeys(m.failures_by_class)
  }
  return parsed
}

/** The JSON report text (2-space indent, trailing newline). Throws if the record breaks the schema. */
export function serializeRecord(record: RunRecord): string {
  return JSON.stringify(canonicalRecord(record), null, 2) + '\n'
}

/**
 * Parses a JSON report; `source` (a file name) is named in the one-line error. The error never
 * quotes the file: it may be any file a user was pointed at (`/etc/passwd`, a planted symlink).
 */
export function parseRecord(text: string, source: string): RunRecord {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    // JSON.parse's message quotes the text near the error: it is deliberately left out.
    throw new InvalidInputError(
      `${source}: not a chaos report (not JSON)`,
      'pick a report written by `chaos run` (see `chaos report list`)',
    )
  }
  const result = RunRecord.safeParse(upgradeRecordData(data))
  if (!result.success) {
    const issue = result.error.issues[0]!
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)'
    // An unknown key's message names the key, which is the file's content: say only that it is unknown.
    const what = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message
    throw new InvalidInputError(
      `${source}: not a chaos report (${where}: ${what})`,
      'pick a report written by `chaos run` (see `chaos report list`)',
    )
  }
  return result.data
}
