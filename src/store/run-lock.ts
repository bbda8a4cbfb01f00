/**
 * The run lock, `run.lock` in the reports directory: keeps two runners from sharing one reports
 * directory. A lock left by a dead process is taken over; a live owner makes a second runner exit 3.
 */
import { link, mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { SafetyError } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import { isNotFound, NO_HARD_LINKS, tempName } from './atomic-write.js'

/** The lock's file name inside the reports directory. */
export const LOCK_FILE = 'run.lock'

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
  const path = join(dir, LOCK_FILE)
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
