/**
 * `--junit FILE`, `--markdown FILE` and GitHub's job summary: the results of a command's runs
 * written where CI looks for them. Every run record is added as soon as it exists (interrupted and
 * aborted runs included), and the files are rewritten atomically with every run so far, so a long
 * monkey or schedule session keeps them current and a reader never sees a torn file. The Markdown
 * is appended to `$GITHUB_STEP_SUMMARY` once, when the command ends: GitHub's contract is append,
 * and earlier steps' summaries in the same file must stay.
 */
import { appendFile, mkdir, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { renderJunit } from '../../reports/junit.js'
import { renderMarkdown, mdText } from '../../reports/markdown.js'
import { InvalidInputError } from '../errors.js'
import type { RunRecord } from '../record.js'
import { writeFileAtomic } from '../store/atomic-write.js'
import type { Output } from './output.js'

/** Where the results go: absolute paths, or undefined for an output not asked for. */
export interface ReportFileTargets {
  junit?: string
  markdown?: string
  /** `$GITHUB_STEP_SUMMARY` (read by the command: only the CLI layer reads the environment). */
  stepSummary?: string
}

/** The results files of one command: add each run's record, close once at the end. */
export interface ReportFiles {
  readonly targets: ReportFileTargets
  /** The records added so far, in order. */
  readonly records: readonly RunRecord[]
  /** Adds a run's record and rewrites the JUnit and Markdown files with every run so far. */
  add(record: RunRecord): Promise<void>
  /**
   * Writes the files if no run was added (an empty report; with the error that stopped the command
   * when there is one) and appends the Markdown to the step summary. Never throws: a file that
   * cannot be written is a warning on stderr, the run's own report is in the reports directory.
   */
  close(error?: unknown): Promise<void>
}

/** A command's `--junit` / `--markdown` values and `$GITHUB_STEP_SUMMARY`, resolved against `cwd`. */
export function reportFileTargets(
  flags: { junit?: string; markdown?: string },
  stepSummary: string | undefined,
  cwd: string,
): ReportFileTargets {
  return {
    ...(flags.junit !== undefined && { junit: resolve(cwd, flags.junit) }),
    ...(flags.markdown !== undefined && { markdown: resolve(cwd, flags.markdown) }),
    ...(stepSummary !== undefined && stepSummary !== '' && { stepSummary: resolve(cwd, stepSummary) }),
  }
}

/**
 * Checks that a results file can be written: its folder is created if missing, and it must not be
 * a directory. Throws InvalidInputError (exit 2) naming the flag, before anything is injected.
 */
async function probe(file: string, flag: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true })
  } catch (err) {
    throw new InvalidInputError(
      `${flag} ${file}: cannot create its folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      `point ${flag} at a file in a writable folder`,
    )
  }
  const found = await stat(file).catch(() => undefined)
  if (found?.isDirectory())
    throw new InvalidInputError(`${flag} ${file}: is a directory`, `give ${flag} a file name, e.g. chaos.xml`)
}

/** Why a write failed, in a few words. */
function reason(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message
}

/**
 * The results files a command was asked for, checked up front ({@link probe}); undefined when none
 * was (no flag, no step summary), so callers pay nothing.
 */
export async function openReportFiles(
  targets: ReportFileTargets,
  out: Output,
): Promise<ReportFiles | undefined> {
  if (!targets.junit && !targets.markdown && !targets.stepSummary) return undefined
  if (targets.junit) await probe(targets.junit, '--junit')
  if (targets.markdown) await probe(targets.markdown, '--markdown')
  const records: RunRecord[] = []
  let written = false
  let closed = false
  // Writes are chained: a slow write of run n must not land after the write of run n+1.
  let queue: Promise<void> = Promise.resolve()

  const write = async (markdown: string): Promise<void> => {
    const files: [string | undefined, string, () => string][] = [
      [targets.junit, '--junit', () => renderJunit(records)],
      [targets.markdown, '--markdown', () => markdown],
    ]
    for (const [file, flag, render] of files) {
      if (!file) continue
      try {
        await writeFileAtomic(file, render())
      } catch (err) {
        out.errorLine(`Warning: ${flag} ${file} not written: ${reason(err)}`)
      }
    }
    written = true
  }

  return {
    targets,
    records,
    add(record) {
      records.push(record)
      queue = queue.then(() => write(renderMarkdown(records)))
      return queue
    },
    async close(error) {
      if (closed) return
      closed = true
      await queue
      let markdown = renderMarkdown(records)
      // No run at all: say why in the Markdown, so a job summary does not just go blank.
      if (records.length === 0 && error instanceof Error && !('oclif' in error))
        markdown = `${markdown.trimEnd()} Error: ${mdText(error.message)}\n`
      if (!written) await write(markdown)
      if (targets.stepSummary) {
        try {
          await appendFile(targets.stepSummary, `${markdown}\n`, 'utf8')
        } catch (err) {
          out.errorLine(`Warning: $GITHUB_STEP_SUMMARY ${targets.stepSummary} not appended: ${reason(err)}`)
        }
      }
    },
  }
}
