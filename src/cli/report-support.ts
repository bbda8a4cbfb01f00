/**
 * What the `chaos report` commands share, kept out of `commands/` (which holds only commands) and
 * free of `process`: the command passes its cwd and environment in.
 */
import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { loadConfig } from '../config.js'
import type { Logger, LogFields, LogLevel } from '../logger.js'
import { ReportStore } from '../store/report-store.js'

/**
 * The reports directory: `--reports-dir` (relative to cwd), else the config's `reports_dir`
 * (relative to the config file), else `.playbook/chaos_reports` under cwd.
 */
export async function resolveReportsDir(options: {
  flag?: string
  configPath?: string
  cwd: string
  env: Readonly<Record<string, string | undefined>>
}): Promise<string> {
  if (options.flag) return resolve(options.cwd, options.flag)
  const config = await loadConfig({ cwd: options.cwd, env: options.env, path: options.configPath })
  return config.reportsDir
}

/**
 * What `chaos report show|diff` pass to `ReportStore.readRun` for an argument: a path that names a
 * file relative to `cwd` (the `.txt` or `.json` a run printed), or that has a path separator, as an
 * absolute path (an existing file wins over a run id of the same spelling); anything else (a run
 * id, a prefix, a name in the store) as given.
 */
export function reportRef(arg: string, cwd: string): string {
  const asPath = resolve(cwd, arg)
  // With a separator it can only be a path: absolute, so a missing file is named as such.
  if (/[\\/]/.test(arg)) return asPath
  return statSync(asPath, { throwIfNoEntry: false })?.isFile() ? asPath : arg
}

/** A logger that prints warnings and errors as one `Warning: ...` line each (e.g. skipped report files). */
export function warningPrinter(print: (line: string) => void): Logger {
  const sink = (level: LogLevel, event: string, fields: LogFields = {}) => {
    if (level !== 'warn' && level !== 'error') return
    if (event === 'chaos_report_unreadable') print(`Warning: skipped ${String(fields.reason)}`)
    else print(`Warning: ${event} ${JSON.stringify(fields)}`)
  }
  return {
    log: sink,
    debug: (e, f) => sink('debug', e, f),
    info: (e, f) => sink('info', e, f),
    warn: (e, f) => sink('warn', e, f),
    error: (e, f) => sink('error', e, f),
  }
}

/**
 * The report store the `chaos report` commands read: its directory resolved as
 * {@link resolveReportsDir} says, and files it skips (damaged, unreadable) said through `warn`.
 */
export async function openReportStore(options: {
  flag?: string
  configPath?: string
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  warn: (line: string) => void
}): Promise<{ dir: string; store: ReportStore }> {
  const dir = await resolveReportsDir(options)
  return { dir, store: new ReportStore({ dir, logger: warningPrinter(options.warn) }) }
}
