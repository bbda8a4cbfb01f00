/**
 * What the monkey remembers between invocations, in `<reports_dir>/monkey/`: `monkey-state.json`
 * (when the last monkey experiment started, for --min-gap across separate `--once` runs from cron)
 * and one `monkey-<timestamp>.json` session summary per session. A subdirectory keeps these files
 * out of `chaos report list`, which reads every JSON file at the top of the reports directory.
 * Every write is atomic (temp file, fsync, rename), so a reader never sees half a file.
 */
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { SafetyError } from '../errors.js'
import { compactTimestamp } from '../record.js'
import { writeFileAtomic } from '../store/atomic-write.js'

/** The monkey's directory inside the reports directory. */
export function monkeyDir(reportsDir: string): string {
  return join(reportsDir, 'monkey')
}

/** `monkey-state.json`. */
export const MonkeyState = z.object({
  last_experiment_at: z.iso.datetime(),
  last_experiment: z.string(),
})
export type MonkeyState = z.infer<typeof MonkeyState>

/** Reads and writes `monkey-state.json` of one reports directory. */
export class MonkeyStateFile {
  readonly path: string
  private readonly dir: string

  constructor(reportsDir: string) {
    this.dir = monkeyDir(reportsDir)
    this.path = join(this.dir, 'monkey-state.json')
  }

  /** The state, or undefined when no monkey experiment ever ran here. */
  async read(): Promise<MonkeyState | undefined> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    let parsed: ReturnType<typeof MonkeyState.safeParse> | undefined
    try {
      parsed = MonkeyState.safeParse(JSON.parse(text))
    } catch {
      parsed = undefined
    }
    if (!parsed?.success) {
      // Without it the min-gap cannot be honoured; guessing "long ago" could inject too often.
      throw new SafetyError(
        `the monkey state file ${this.path} is unreadable, so the time of the last monkey experiment is unknown`,
        'delete the file to reset --min-gap (the next check may then start an experiment)',
      )
    }
    return parsed.data
  }

  /** Replaces the state atomically. */
  async write(state: MonkeyState): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    await writeFileAtomic(this.path, JSON.stringify(state, null, 2) + '\n')
  }

  /** Puts back an earlier state (or removes it) after an experiment that never started. */
  async restore(previous: MonkeyState | undefined): Promise<void> {
    if (previous) return this.write(previous)
    await rm(this.path, { force: true })
  }
}

/**
 * Writes a session summary as `monkey-<timestamp>.json` (or `-2`, `-3`, ... when a session of
 * the same second exists) and returns its path.
 */
export async function writeSessionSummary(
  reportsDir: string,
  startedAtMs: number,
  summary: unknown,
): Promise<string> {
  const dir = monkeyDir(reportsDir)
  await mkdir(dir, { recursive: true })
  const json = JSON.stringify(summary, null, 2) + '\n'
  const base = `monkey-${compactTimestamp(startedAtMs)}`
  for (let n = 1; ; n++) {
    const file = join(dir, n === 1 ? `${base}.json` : `${base}-${n}.json`)
    if (await writeFileAtomic(file, json, { exclusive: true })) return file
  }
}
