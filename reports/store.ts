/**
 * The report store: one directory (by default `.playbook/chaos_reports`) holding every run's JSON
 * and text report, `latest.json` / `latest.txt`, the `events.jsonl` journal and the `run.lock` that
 * keeps two runners from sharing the directory.
 *
 * Every report file is written atomically (temp file in the same directory, fsync, rename), so a
 * reader sees either the previous file or the new one, never a torn one, even when the runner
 * dies mid-write. Temp files start with a dot and end in `.tmp`; readers ignore them.
 */
import { randomBytes } from 'node:crypto'
import { access, appendFile, link, mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises'
import { basename, extname, isAbsolute, join } from 'node:path'
import { InvalidInputError, SafetyError } from '../src/errors.js'
import { silentLogger, type Logger } from '../src/logger.js'
import { ChaosEvent, compactTimestamp, type RunRecord } from '../src/record.js'
import { parseRecord, serializeRecord } from './json.js'
import { renderText } from './text.js'

/** File names inside the reports directory. */
export const STORE_FILES = {
  latestJson: 'latest.json',
  latestText: 'latest.txt',
  events: 'events.jsonl',
  lock: 'run.lock',
} as const

/** A report read back from the store. */
export interface StoredRun {
  /** Absolute path of the JSON report. */
  file: string
  record: RunRecord
}

/** Paths `writeRun` wrote. */
export interface WrittenRun {
  json: string
  text: string
  latestJson: string
  latestText: string
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

function tempName(file: string): string {
  return join(file, '..', `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

/**
 * Writes `data` to `file` atomically: temp file in the same directory, fsync, rename, fsync dir.
 * With `exclusive`, the file is only created, never replaced (hard link instead of rename), and the
 * result says whether it was created.
 */
export async function writeFileAtomic(
  file: string,
  data: string,
  options: { exclusive?: boolean } = {},
): Promise<boolean> {
  const tmp = tempName(file)
  const handle = await open(tmp, 'wx', 0o644)
  try {
    try {
      await handle.writeFile(data, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (options.exclusive) {
      try {
        await link(tmp, file)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? ''
        if (code === 'EEXIST') return false
        if (!NO_HARD_LINKS.has(code)) throw err
        // No hard links here: check-then-rename, exclusive except against a writer racing us.
        if (await exists(file)) return false
        await rename(tmp, file)
      }
    } else {
      await rename(tmp, file)
    }
  } finally {
    await rm(tmp, { force: true })
  }
  await syncDir(join(file, '..'))
  return true
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file)
    return true
  } catch {
    return false
  }
}

/** Makes a rename durable. Some platforms cannot fsync a directory; the rename is still atomic there. */
async function syncDir(dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // best effort only
  } finally {
    await handle?.close()
  }
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

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT'
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
   * Writes `<timestamp>-<selection>.json` and `.txt`, then `latest.json` and `latest.txt`, each
   * atomically. Writing the same run again (same `run_id`) replaces its files, so a runner may
   * save progress and then the final record. Throws if the record does not match the schema.
   */
  async writeRun(record: RunRecord): Promise<WrittenRun> {
    const json = serializeRecord(record)
    const text = renderText(record, { color: false })
    await mkdir(this.dir, { recursive: true })
    const stem = await this.claimStem(record, json)
    const paths: WrittenRun = {
      json: join(this.dir, `${stem}.json`),
      text: join(this.dir, `${stem}.txt`),
      latestJson: join(this.dir, STORE_FILES.latestJson),
      latestText: join(this.dir, STORE_FILES.latestText),
    }
    await writeFileAtomic(paths.text, text)
    await writeFileAtomic(paths.latestJson, json)
    await writeFileAtomic(paths.latestText, text)
    return paths
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
      if (await writeFileAtomic(file, json, { exclusive: true })) return stem
      if ((await runIdOf(file)) === record.run_id) {
        await writeFileAtomic(file, json)
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
   * One report by run id, by file name in the store (with or without `.json`), by absolute path, or
   * `latest`. Throws {@link InvalidInputError} (exit 2) when there is no such report.
   */
  async readRun(runIdOrFile: string): Promise<StoredRun> {
    if (runIdOrFile === 'latest') return this.readLatest()
    const candidates = isAbsolute(runIdOrFile)
      ? [runIdOrFile]
      : /[\\/]/.test(runIdOrFile)
        ? []
        : [join(this.dir, runIdOrFile), join(this.dir, `${runIdOrFile}.json`)].filter((f) =>
            isReportFile(basename(f)),
          )
    for (const file of candidates) {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (err) {
        if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') continue
        throw err
      }
      return { file, record: parseRecord(text, file) }
    }
    const match = (await this.listRuns()).find((run) => run.record.run_id === runIdOrFile)
    if (match) return match
    throw new InvalidInputError(
      `no run report "${runIdOrFile}" in ${this.dir}`,
      'see `chaos report list` for run ids, or pass the path of a report file',
    )
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

/** Contents of `run.lock`. */
export interface LockInfo {
  pid: number
  started_at: string
  selection: string[]
}

export interface AcquireLockOptions {
  /** This process's pid. */
  pid: number
  /** Whether a process is alive (the command passes one built on `process.kill(pid, 0)`). */
  isAlive: (pid: number) => boolean
  /** What this run is about to run (shown to a second runner that is refused). */
  selection?: readonly string[]
  now?: () => number
  logger?: Logger
}

/** A held run lock. */
export interface RunLock {
  readonly path: string
  readonly info: LockInfo
  /** The stale lock this one replaced, if any (its owner had died). */
  readonly takenOver?: LockInfo
  /** Removes the lock if it is still ours. Safe to call more than once. */
  release(): Promise<void>
}

/** Locks held by this process, so a lock left with our pid by an earlier process (pid reuse) is stale. */
const heldLocks = new Set<string>()

function parseLockInfo(text: string): LockInfo | undefined {
  try {
    const data = JSON.parse(text) as Partial<LockInfo>
    if (typeof data.pid === 'number' && typeof data.started_at === 'string' && Array.isArray(data.selection))
      return { pid: data.pid, started_at: data.started_at, selection: data.selection.map(String) }
  } catch {
    // fall through
  }
  return undefined
}

async function readLock(path: string): Promise<LockInfo | 'missing' | 'unreadable'> {
  try {
    return parseLockInfo(await readFile(path, 'utf8')) ?? 'unreadable'
  } catch (err) {
    if (isNotFound(err)) return 'missing'
    throw err
  }
}

const sameLock = (a: LockInfo, b: LockInfo) => a.pid === b.pid && a.started_at === b.started_at

/**
 * Creates `path` holding `content` only if it does not exist. The content goes to a temp file that
 * is hard-linked into place, so the lock never exists half-written; filesystems without hard links
 * fall back to an O_EXCL create.
 */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const tmp = tempName(path)
  const handle = await open(tmp, 'wx', 0o644)
  try {
    await handle.writeFile(content, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await link(tmp, path)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    if (code === 'EEXIST') return false
    if (!NO_HARD_LINKS.has(code)) throw err
  } finally {
    await rm(tmp, { force: true })
  }
  try {
    const lock = await open(path, 'wx', 0o644)
    try {
      await lock.writeFile(content, 'utf8')
      await lock.sync()
    } finally {
      await lock.close()
    }
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
}

/** Moves a stale lock out of the way; puts it back if it turned out to be a fresh one. */
async function removeStale(path: string, stale: LockInfo): Promise<void> {
  const aside = `${tempName(path)}.stale`
  try {
    await rename(path, aside)
  } catch (err) {
    if (isNotFound(err)) return
    throw err
  }
  const moved = await readLock(aside)
  if (typeof moved === 'object' && !sameLock(moved, stale)) {
    // Someone replaced the stale lock between our read and our rename: give theirs back.
    await link(aside, path).catch(() => {})
  }
  await rm(aside, { force: true })
}

/**
 * Takes `run.lock` in `dir` for this runner. A lock left by a dead process is taken over; a live
 * owner makes this throw {@link SafetyError} (exit 3) naming its pid, selection and start time.
 */
export async function acquireLock(dir: string, options: AcquireLockOptions): Promise<RunLock> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, STORE_FILES.lock)
  const now = options.now ?? Date.now
  const logger = options.logger ?? silentLogger
  const info: LockInfo = {
    pid: options.pid,
    started_at: new Date(now()).toISOString(),
    selection: [...(options.selection ?? [])],
  }
  let takenOver: LockInfo | undefined
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createExclusive(path, JSON.stringify(info) + '\n')) {
      heldLocks.add(path)
      return makeLock(path, info, takenOver)
    }
    const owner = await readLock(path)
    if (owner === 'missing') continue
    if (owner === 'unreadable') {
      throw new SafetyError(
        `the run lock ${path} is unreadable`,
        'if no chaos run is active on this reports directory, delete the file and run again',
      )
    }
    const ownerIsUs = owner.pid === options.pid && heldLocks.has(path)
    const ownerIsOther = owner.pid !== options.pid && options.isAlive(owner.pid)
    if (ownerIsUs || ownerIsOther) {
      const selection = owner.selection.length > 0 ? owner.selection.join(' ') : '(unknown)'
      throw new SafetyError(
        `another chaos run is using ${dir}: pid ${owner.pid}, selection "${selection}", started ${owner.started_at}`,
        `wait for it to finish or stop it (kill -INT ${owner.pid}); runs in parallel need separate reports directories`,
      )
    }
    logger.warn('chaos_lock_taken_over', { path, stale_pid: owner.pid, stale_started_at: owner.started_at })
    takenOver = owner
    await removeStale(path, owner)
  }
  throw new SafetyError(
    `could not take the run lock ${path}: other runners keep taking it`,
    'run one chaos run at a time per reports directory',
  )
}

function makeLock(path: string, info: LockInfo, takenOver: LockInfo | undefined): RunLock {
  let released = false
  return {
    path,
    info,
    ...(takenOver && { takenOver }),
    async release() {
      if (released) return
      released = true
      heldLocks.delete(path)
      const current = await readLock(path)
      // Only remove our own lock: if it was taken over meanwhile, the new owner's lock stays.
      if (typeof current === 'object' && sameLock(current, info)) await rm(path, { force: true })
    },
  }
}
