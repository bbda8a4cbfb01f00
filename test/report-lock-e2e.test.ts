/**
 * The run lock of a reports directory, against real processes: a live owner refuses a second
 * runner (exit 3), a dead owner's lock is taken over, and release removes only our own lock.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterEach, describe, expect, it } from 'vitest'
import { SafetyError } from '../src/errors.js'
import { acquireLock, type LockInfo } from '../src/store/run-lock.js'

const holder = join(import.meta.dirname, 'fixtures', 'report', 'hold-lock.ts')

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-lock-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Starts another process that takes the lock; resolves once it holds it. */
async function otherRunner(
  dir: string,
  selection: string[],
): Promise<{ child: ResultPromise; info: LockInfo }> {
  const child = execa('node', ['--import', 'tsx', holder, dir, ...selection], { reject: false })
  cleanups.push(async () => {
    child.kill('SIGKILL')
    await child
  })
  const info = await new Promise<LockInfo>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve(JSON.parse(out) as LockInfo)
    })
    void child.then((r) => reject(new Error(`lock holder exited: ${String(r.stderr)}`)))
  })
  return { child, info }
}

describe('acquireLock', () => {
  it('writes run.lock with pid, start time and selection, and release removes it', async () => {
    const dir = await tempDir()
    const lock = await acquireLock(dir, {
      pid: process.pid,
      isAlive,
      selection: ['network'],
      now: () => Date.parse('2026-11-28T11:22:33.000Z'),
    })
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toEqual({
      pid: process.pid,
      started_at: '2026-11-28T11:22:33.000Z',
      selection: ['network'],
    })
    expect(lock.takenOver).toBeUndefined()
    await lock.release()
    await lock.release()
    expect(await readdir(dir)).toEqual([])
  })

  it('refuses while another live runner holds it (exit 3), and takes over once that runner died', async () => {
    const dir = await tempDir()
    const { child, info } = await otherRunner(dir, ['pms', 'network_latency'])
    const error = await acquireLock(dir, { pid: process.pid, isAlive }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SafetyError)
    expect((error as SafetyError).exitCode).toBe(3)
    expect((error as Error).message).toBe(
      `another chaos run is using ${dir}: pid ${info.pid}, selection "pms network_latency", started ${info.started_at}`,
    )
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toEqual(info)

    // SIGKILL: no chance to release, the lock stays behind with a dead pid.
    child.kill('SIGKILL')
    await child
    expect(isAlive(info.pid)).toBe(false)
    const lock = await acquireLock(dir, { pid: process.pid, isAlive, selection: ['pms'] })
    expect(lock.takenOver).toEqual(info)
    expect((JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8')) as LockInfo).pid).toBe(process.pid)
    expect((await readdir(dir)).sort()).toEqual(['run.lock'])
    await lock.release()
  })

  it('is free again once the other runner releases it (SIGTERM)', async () => {
    const dir = await tempDir()
    const { child } = await otherRunner(dir, ['pms'])
    child.kill('SIGTERM')
    await child
    expect(await readdir(dir)).toEqual([])
    const lock = await acquireLock(dir, { pid: process.pid, isAlive })
    expect(lock.takenOver).toBeUndefined()
    await lock.release()
  })

  it('refuses a second lock in the same process, but not a lock an earlier process left with our pid', async () => {
    const dir = await tempDir()
    const first = await acquireLock(dir, { pid: process.pid, isAlive })
    await expect(acquireLock(dir, { pid: process.pid, isAlive })).rejects.toThrow(SafetyError)
    await first.release()

    // A container restart can give a new runner the pid its dead predecessor had.
    const stale: LockInfo = { pid: process.pid, started_at: '2020-01-01T00:00:00.000Z', selection: ['old'] }
    await writeFile(join(dir, 'run.lock'), JSON.stringify(stale))
    const lock = await acquireLock(dir, { pid: process.pid, isAlive })
    expect(lock.takenOver).toEqual(stale)
    await lock.release()
  })

  it('does not remove a lock that is no longer ours on release', async () => {
    const dir = await tempDir()
    const lock = await acquireLock(dir, { pid: process.pid, isAlive })
    const successor = JSON.stringify({ pid: 999_999, started_at: new Date().toISOString(), selection: ['x'] })
    await writeFile(join(dir, 'run.lock'), successor)
    await lock.release()
    expect(await readFile(join(dir, 'run.lock'), 'utf8')).toBe(successor)
  })

  it('refuses an unreadable lock with a hint instead of guessing', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'run.lock'), 'garbage')
    await expect(acquireLock(dir, { pid: process.pid, isAlive })).rejects.toThrow(/run\.lock is unreadable/)
  })
})
