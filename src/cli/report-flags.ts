/**
 * Flags of the `chaos report` commands. Kept apart from flags.ts: they read the format table
 * (reports/formats.ts), which loads every renderer, and no other command should pay for that.
 */
import { Flags } from '@oclif/core'
import { REPORT_FORMAT_NAMES, type ReportFormatName } from '../../reports/formats.js'

/** `--reports-dir`, shared by every `chaos report` command. */
export const reportsDirFlag = {
  'reports-dir': Flags.string({
    description: 'reports directory (default: reports_dir from the config, else .playbook/chaos_reports)',
    helpValue: 'DIR',
  }),
}

/** Flags of the commands that print one run report: `--format` takes the names of the format table. */
export const reportFlags = {
  format: Flags.option({
    description: 'report format',
    options: REPORT_FORMAT_NAMES,
    default: 'text' as ReportFormatName,
  })(),
  ...reportsDirFlag,
}

/** Flags of `chaos report list`: the run list as a table (`text`) or one JSON object per run. */
export const reportListFlags = {
  format: Flags.option({
    description: 'output format',
    options: ['text', 'json'] as const,
    default: 'text',
  })(),
  ...reportsDirFlag,
}
