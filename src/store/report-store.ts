/**
 * The report store: one directory (by default `.playbook/chaos_reports`) holding every run's
 * report in each format of the format table (`reports/formats.ts`: `.json` and `.txt`), the
 * `latest.*` copies, the `events.jsonl` journal and the `run.lock` (`./run-lock.ts`) that keeps two
 * runners from sharing the directory.
 *
 * Every report file is written atomically (`./atomic-write.ts`), so a reader sees either the
 * previous file or the new one, never a torn one, even when the runner dies mid-write. Temp files
 * start with a dot and end in `.tmp`; readers ignore them.
 */
import { randomBytes } from 'node:crypto'
import { constants, existsSync } from 'node:fs'
import { appendFile, mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { basename, extname, isAbsolute, join } from 'node:path'
import { parseRecord } from '../../reports/json.js'
import { REPORT_FORMAT_NAMES, REPORT_FORMATS, type ReportFormatName } from '../../reports/formats.js'
import { InvalidInputError } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import { ChaosEvent, compactTimestamp, type RunRecord } from '../record.js'
import { isNotFound, writeFileAtomic } from './atomic-write.js'
import { LOCK_FILE } from './run-lock.js'

/**
 * A report file (or the reports directory) that could not be written: which one, and why in one
 * line (`ENOTDIR: not a directory`), without the temp file's name Node puts in its message.
 */
export class ReportWriteError extends Error {
  override readonly name = 'ReportWriteError'
  constructor(
    /** The file (or directory) that could not be written. */
    readonly file: string,
    /** Why, e.g. `ENOSPC: no space left on device`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot write ${file}: ${reason}`, options)
  }
}

/** The first part of a filesystem error's message (`EISDIR: illegal operation on a directory`). */
export function fsReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split(/, (?:open|mkdir|rename|link|unlink|write|scandir) '/)[0]!.trim()
}

/** `mkdir -p dir`, failing with a {@link ReportWriteError} that says when a file is in the way. */
async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason =
      code === 'EEXIST'
        ? 'it is a file, not a directory'
        : code === 'ENOTDIR'
          ? 'a parent of it is a file, not a directory'
          : fsReason(err)
    throw new ReportWriteError(dir, reason, { cause: err })
  }
}

/** Runs one write, turning its failure into a {@link ReportWriteError} that names `file`. */
async function writing<T>(file: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    throw new ReportWriteError(file, fsReason(err), { cause: err })
  }
}

/**
 * Checks that reports can be written to `dir` before a run starts anything: creates it (with its
 * parents) and writes and deletes a probe file. Throws {@link ReportWriteError} naming `dir`, with
 * a reason a person can act on when the path or one of its parents is a file.
 */
export async function probeReportsDir(dir: string): Promise<void> {
  await makeDir(dir)
  const probe = join(dir, `.probe-${randomBytes(6).toString('hex')}.tmp`)
  try {
    await writeFile(probe, '', { flag: 'wx' })
  } catch (err) {
    throw new ReportWriteError(dir, `cannot create a file in it (${fsReason(err)})`, { cause: err })
  }
  await rm(probe, { force: true })
}

/** File names inside the reports directory. */
export const STORE_FILES = {
  /** The JSON copy of the last run: what `chaos report latest` reads. */
  latestJson: `latest.${REPORT_FORMATS.json.extension}`,
  events: 'events.jsonl',
  lock: LOCK_FILE,
} as const

/** A report read back from the store. */
export interface StoredRun {
  /** Absolute path of the JSON report. */
  file: string
  record: RunRecord
}

/** Paths `writeRun` wrote. */
export interface WrittenRun {
  /** The run's file of each report format, by format name. */
  files: Record<ReportFormatName, string>
  /** `latest.<extension>` of each report format, by format name. */
  latest: Record<ReportFormatName, string>
  /** The JSON report (`files.json`). */
  json: string
  /** The text report (`files.text`), the one commands point people to. */
  text: string
}

/** An event to append; `ts` defaults to the store clock's now. */
export type EventInput = { event: string; ts?: string } & Record<string, unknown>

export interface ReportStoreOptions {
  /** The reports directory (absolute; the command resolves it). */
  dir: string
  /** Receives `chaos_report_unreadable` warnings for skipped files. */
  logger?: Logger
  /** Wall clock for event timestamps. */
  now?: () => number
}

/** File-name part for a selection: `network`, `pms_api_failure+network_latency`, `my-scenario`. */
export function selectionSlug(selection: readonly string[]): string {
  const parts = selection
    .map((item) =>
      /[\\/]/.test(item) || /\.(ya?ml|json)$/i.test(item) ? basename(item, extname(item)) : item,
    )
    .map((item) =>
      item
        .toLowerCase()
        .replace(/[^a-z0-9_.-]+/g, '-')
        .replace(/^[-.]+|-+$/g, ''),
    )
    .filter(Boolean)
  const slug = parts
    .join('+')
    .slice(0, 60)
    .replace(/[+-]+$/, '')
  return slug || 'run'
}

/** The run id in a report file, if it has one. */
async function runIdOf(file: string): Promise<unknown> {
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { run_id?: unknown }).run_id
  } catch {
    return undefined
  }
}

/** How many runs an ambiguous prefix names in its error. */
const AMBIGUOUS_SHOWN = 5

/** Extensions of the report formats other than JSON (`txt`, ...): files that have a `.json` beside them. */
function otherReportExtensions(): string[] {
  return REPORT_FORMAT_NAMES.map((name) => `.${REPORT_FORMATS[name].extension}`).filter((e) => e !== '.json')
}

/** A report file name or path without its report extension: `X.txt` and `X.json` → `X`. */
function reportStem(ref: string): string {
  const ext = extname(ref)
  return ext === '.json' || otherReportExtensions().includes(ext) ? ref.slice(0, -ext.length) : ref
}

/** The JSON report a report file stands for: `X.txt` → `X.json`; any other path as given. */
function jsonBeside(file: string): string {
  return otherReportExtensions().includes(extname(file)) ? `${reportStem(file)}.json` : file
}

function isReportFile(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.') && name !== STORE_FILES.latestJson
}

/** Report directory access: write runs, read them back, append lifecycle events. */
export class ReportStore {
  readonly dir: string
  private readonly logger: Logger
  private readonly now: () => number
  private eventQueue: Promise<void> = Promise.resolve()

  constructor(options: ReportStoreOptions) {
    this.dir = options.dir
    this.logger = options.logger ?? silentLogger
    this.now = options.now ?? Date.now
  }

  /**
   * Writes `<timestamp>-<selection>.<extension>` for every report format (`.json`, `.txt`), then
   * `latest.<extension>` for every format, each atomically. Writing the same run again (same
   * `run_id`) replaces its files, so a runner may save progress and then the final record. Throws
   * if the record does not match the schema, before writing anything; a write that fails throws
   * {@link ReportWriteError} naming the file (files written before it stay).
   */
  async writeRun(record: RunRecord): Promise<WrittenRun> {
    const rendered = REPORT_FORMAT_NAMES.map((name) => ({
      name,
      extension: REPORT_FORMATS[name].extension,
      text: REPORT_FORMATS[name].render(record, { color: false }),
    }))
    await makeDir(this.dir)
    // The JSON file claims the run's file name; the other formats follow it.
    const stem = await this.claimStem(record, rendered.find((r) => r.name === 'json')!.text)
    const files = {} as Record<ReportFormatName, string>
    const latest = {} as Record<ReportFormatName, string>
    for (const { name, extension, text } of rendered) {
      const file = (files[name] = join(this.dir, `${stem}.${extension}`))
      if (name !== 'json') await writing(file, () => writeFileAtomic(file, text))
    }
    for (const { name, extension, text } of rendered) {
      const file = (latest[name] = join(this.dir, `latest.${extension}`))
      await writing(file, () => writeFileAtomic(file, text))
    }
    return { files, latest, json: files.json, text: files.text }
  }

  /**
   * Writes the record's JSON under `<timestamp>-<selection>[-n].json` and returns the stem: the
   * first name not taken by another run (claimed exclusively, so two writers never share a name),
   * or the record's own earlier file.
   */
  private async claimStem(record: RunRecord, json: string): Promise<string> {
    const base = `${compactTimestamp(Date.parse(record.started_at))}-${selectionSlug(record.selection)}`
    for (let n = 1; ; n++) {
      const stem = n === 1 ? base : `${base}-${n}`
      const file = join(this.dir, `${stem}.json`)
      if (await writing(file, () => writeFileAtomic(file, json, { exclusive: true }))) return stem
      if ((await runIdOf(file)) === record.run_id) {
        await writing(file, () => writeFileAtomic(file, json))
        return stem
      }
    }
  }

  /** Every readable report, newest first. Damaged files are skipped with a warning. */
  async listRuns(): Promise<StoredRun[]> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch (err) {
      if (isNotFound(err)) return []
      throw err
    }
    const runs: StoredRun[] = []
    for (const name of names.filter(isReportFile)) {
      const file = join(this.dir, name)
      try {
        runs.push({ file, record: parseRecord(await readFile(file, 'utf8'), file) })
      } catch (err) {
        if (isNotFound(err)) continue
        this.logger.warn('chaos_report_unreadable', { file, reason: (err as Error).message })
      }
    }
    return runs.sort(
      (a, b) =>
        Date.parse(b.record.started_at) - Date.parse(a.record.started_at) ||
        (basename(b.file) < basename(a.file) ? -1 : 1),
    )
  }

  /**
   * One report, found by what a run prints or `chaos report list` shows: `latest`, a run id, a
   * unique prefix of a run id or of a report file name, a file name in the store, or the absolute
   * path of a report file; a report of another format (`X.txt`) stands for the JSON report written
   * beside it (`X.json`), which is the one read. Throws {@link InvalidInputError} (exit 2) when
   * there is no such report, when a prefix matches several runs (naming them) or when the file is
   * not a report.
   */
  async readRun(ref: string): Promise<StoredRun> {
    if (isAbsolute(ref)) return this.readFile(jsonBeside(ref), ref)
    const stem = reportStem(ref)
    if (stem === 'latest') return this.readLatest()
    // Anything with a separator is a path (the command resolves existing ones to absolute paths).
    if (!/[\\/]/.test(ref)) {
      const file = join(this.dir, `${stem}.json`)
      if (isReportFile(basename(file))) {
        const text = await readReportText(file).catch((err: unknown) => {
          if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return undefined
          throw err
        })
        if (text !== undefined) return { file, record: parseRecord(text, file) }
      }
    }
    const runs = await this.listRuns()
    const exact = runs.find((run) => run.record.run_id === ref)
    if (exact) return exact
    // A prefix, of a run id or a file name; a name with its extension (`X.txt`) is never a prefix.
    const matches = runs.filter(
      (run) =>
        ref.length > 0 &&
        stem === ref &&
        (run.record.run_id.startsWith(ref) || basename(run.file).startsWith(ref)),
    )
    if (matches.length === 1) return matches[0]!
    if (matches.length > 1) {
      const shown = matches.slice(0, AMBIGUOUS_SHOWN).map((run) => {
        const r = run.record
        return `${r.run_id} (${r.selection.join(' ') || '-'}, ${r.outcome})`
      })
      const more = matches.length > AMBIGUOUS_SHOWN ? `, and ${matches.length - AMBIGUOUS_SHOWN} more` : ''
      throw new InvalidInputError(
        `"${ref}" matches ${matches.length} runs in ${this.dir}: ${shown.join(', ')}${more}`,
        'give more of the run id (see `chaos report list`)',
      )
    }
    throw new InvalidInputError(
      `no run report "${ref}" in ${this.dir}`,
      'see `chaos report list` for run ids, or pass the path of a report file',
    )
  }

  /** The report in `file`; `asked` (the path given, e.g. its `.txt`) is named when it is missing. */
  private async readFile(file: string, asked: string): Promise<StoredRun> {
    let text: string
    try {
      text = await readReportText(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EISDIR')
        throw new InvalidInputError(
          `${file}: not a chaos report (a directory)`,
          'pick a report written by `chaos run` (see `chaos report list`)',
        )
      if (!isNotFound(err)) throw err
      if (file === asked || !existsSync(asked))
        throw new InvalidInputError(
          `no such report file: ${asked}`,
          'see `chaos report list` for run ids, or pass the path of a report file',
        )
      throw new InvalidInputError(
        `${asked}: no JSON report beside it (${file})`,
        'the runner writes both; pass the .json or a run id (see `chaos report list`)',
      )
    }
    return { file, record: parseRecord(text, file) }
  }

  /** The last run written (`latest.json`). Throws {@link InvalidInputError} (exit 2) when none. */
  async readLatest(): Promise<StoredRun> {
    const file = join(this.dir, STORE_FILES.latestJson)
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if (!isNotFound(err)) throw err
      throw new InvalidInputError(`no chaos run report in ${this.dir} yet`, 'run `chaos run` first')
    }
    return { file, record: parseRecord(text, file) }
  }

  /**
   * Appends one event as a JSON line to `events.jsonl`. Appends are queued, so lines keep the
   * order of the calls even when callers do not await; {@link flushEvents} waits for all of them.
   */
  appendEvent(event: EventInput): Promise<void> {
    const { event: name, ts, ...fields } = event
    const line = ChaosEvent.safeParse({
      ts: ts ?? new Date(this.now()).toISOString(),
      event: name,
      ...fields,
    })
    if (!line.success) return Promise.reject(new Error(`event "${name}": ${line.error.issues[0]?.message}`))
    const text = JSON.stringify(line.data) + '\n'
    const write = this.eventQueue.then(async () => {
      await mkdir(this.dir, { recursive: true })
      // One appendFile call is one write(2) with O_APPEND: lines from one process never interleave.
      await appendFile(join(this.dir, STORE_FILES.events), text, 'utf8')
    })
    // A failed append must not block the ones after it; the caller of that append sees the error.
    this.eventQueue = write.catch(() => {})
    return write
  }

  /** Resolves when every event appended so far is on disk. */
  flushEvents(): Promise<void> {
    return this.eventQueue
  }

  /** The events in `events.jsonl`, oldest first; lines that are not events are skipped. */
  async readEvents(): Promise<ChaosEvent[]> {
    let text: string
    try {
      text = await readFile(join(this.dir, STORE_FILES.events), 'utf8')
    } catch (err) {
      if (isNotFound(err)) return []
      throw err
    }
    const events: ChaosEvent[] = []
    for (const line of text.split('\n')) {
      if (!line.trim()) continue
      try {
        const parsed = ChaosEvent.safeParse(JSON.parse(line))
        if (parsed.success) events.push(parsed.data)
      } catch {
        // a torn last line after a crash: skip it
      }
    }
    return events
  }
}

/** Largest report file read (a 30-minute run's report is well under 1 MiB). */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024

/**
 * A report file's text, refusing what cannot be one before reading it: a FIFO or device (opened
 * without blocking, so a FIFO cannot hang the command) or a file over {@link MAX_REPORT_BYTES}.
 */
async function readReportText(file: string): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  try {
    const stat = await handle.stat()
    if (stat.isDirectory()) throw Object.assign(new Error(`${file} is a directory`), { code: 'EISDIR' })
    const why = !stat.isFile()
      ? 'not a regular file'
      : stat.size > MAX_REPORT_BYTES
        ? `${stat.size} bytes, more than a report can be`
        : null
    if (why)
      throw new InvalidInputError(
        `${file}: not a chaos report (${why})`,
        'pick a report written by `chaos run` (see `chaos report list`)',
      )
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}
