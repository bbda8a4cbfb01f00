/**
 * The report formats, as ONE table: name → render function → file extension. The report store
 * writes one file per format for every run (`<stem>.<extension>` and `latest.<extension>`), and
 * `chaos report show|latest --format` accepts exactly these names. A new format is a renderer
 * module in `reports/` plus one row here.
 */
import type { RunRecord } from '../src/record.js'
import { renderHtml } from './html.js'
import { serializeRecord } from './json.js'
import { renderText } from './text.js'

/** How a report is rendered for one output. */
export interface RenderOptions {
  /** ANSI colours: only for a terminal; files are always written without. */
  color: boolean
}

/** One report format. */
export interface ReportFormat {
  /** File extension without the dot; unique across formats. */
  extension: string
  /** The report text of a run (ends with a newline). Throws if the record breaks the schema. */
  render(record: RunRecord, options: RenderOptions): string
}

/**
 * Every report format, by the name `--format` takes, in the order `--help` lists them. `json` is
 * the store's own copy of the record (the one it reads back), so it must stay.
 */
export const REPORT_FORMATS = {
  text: { extension: 'txt', render: (record, { color }) => renderText(record, { color }) },
  json: { extension: 'json', render: (record) => serializeRecord(record) },
  html: { extension: 'html', render: (record) => renderHtml(record) },
} as const satisfies Record<string, ReportFormat>

/** A format name: `json`, `text`, ... */
export type ReportFormatName = keyof typeof REPORT_FORMATS

/** The format names, in table order (the `--format` options). */
export const REPORT_FORMAT_NAMES = Object.keys(REPORT_FORMATS) as ReportFormatName[]

/** Whether `name` is a format of the table. */
export function isReportFormatName(name: string): name is ReportFormatName {
  return Object.hasOwn(REPORT_FORMATS, name)
}

/** A run's report in the format `--format` names, for printing (no trailing newline). */
export function renderReport(record: RunRecord, format: ReportFormatName, options: RenderOptions): string {
  const entry: ReportFormat = REPORT_FORMATS[format]
  return entry.render(record, options).trimEnd()
}
