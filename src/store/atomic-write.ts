/**
 * Atomic file writes for the store: temp file in the same directory, fsync, rename (or hard link
 * for create-only), fsync of the directory. A reader sees the previous file or the new one, never
 * a torn one, even when the writer dies mid-write. Temp files start with a dot and end in `.tmp`.
 */
import { randomBytes } from 'node:crypto'
import { access, link, open, rename, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'

/** A temp file name next to `file` (same directory, so a rename is atomic). */
export function tempName(file: string): string {
  return join(file, '..', `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
}

/** Error codes of filesystems without hard links (then a create-only write falls back). */
export const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

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

/** Whether a filesystem error means "no such file". */
export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT'
}
