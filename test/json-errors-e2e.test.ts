/**
 * `--json` errors through the compiled CLI: every command that has --json answers a bad input with
 * one JSON line on stdout, `{"error", "hint", "exit_code"}`, the same exit code as without --json,
 * and nothing on stderr. The commands come from the oclif manifest, so a new command is covered.
 */
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, ROOT, runChaos, tempCwd } from './support/index.js'

let cwd: { dir: string; cleanup: () => Promise<void> }
beforeAll(async () => {
  assertBuilt()
  cwd = await tempCwd()
})
afterAll(async () => {
  await cwd.cleanup()
})

interface ErrorJson {
  error: string
  hint: string | null
  exit_code: number
  details?: string[]
}

/** Runs `args` with and without --json; both exit alike, the JSON one prints only the error JSON. */
async function jsonError(args: readonly string[], dir = cwd.dir): Promise<ErrorJson> {
  const [plain, json] = await Promise.all([
    runChaos(args, { cwd: dir, timeoutMs: 60_000 }),
    runChaos([...args, '--json'], { cwd: dir, timeoutMs: 60_000 }),
  ])
  expect(plain.exitCode, `${args.join(' ')}: ${String(plain.stderr)}`).not.toBe(0)
  expect(json.exitCode, args.join(' ')).toBe(plain.exitCode)
  expect(json.stderr, args.join(' ')).toBe('')
  expect(json.stdout.trim().split('\n'), 'one line').toHaveLength(1)
  const parsed = JSON.parse(json.stdout) as ErrorJson
  expect(Object.keys(parsed).slice(0, 3)).toEqual(['error', 'hint', 'exit_code'])
  expect(parsed.exit_code).toBe(plain.exitCode)
  // The same sentence the terminal shows.
  expect(plain.stderr).toContain(`Error: ${parsed.error}`)
  return parsed
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, { flags: Record<string, unknown> }>
}
const withJson = Object.entries(manifest.commands)
  .filter(([, c]) => 'json' in c.flags)
  .map(([id]) => id.split(':'))

describe('--json errors (compiled CLI)', () => {
  it('covers the commands', () => {
    expect(withJson.map((id) => id.join(' '))).toEqual(
      expect.arrayContaining(['run', 'status', 'stop', 'schedule', 'report show', 'agent check']),
    )
  })

  it.each(withJson.map((id) => [id.join(' '), id]))(
    '%s: an unknown flag is a usage error (exit 2) as JSON',
    async (_name, id) => {
      const error = await jsonError([...id, '--no-such-flag'])
      expect(error.exit_code).toBe(2)
      expect(error.error).toContain('--no-such-flag')
      expect(error.hint).toMatch(/--help/)
    },
  )

  it('a missing argument is named, with a hint to chaos list and examples', async () => {
    const error = await jsonError(['run'])
    expect(error.error).toBe('missing argument SELECTION (CATEGORY, SCENARIO_ID, FILE or DIR, or all)')
    expect(error.hint).toMatch(/chaos list .*e\.g\. chaos run pms/)
    expect(error.exit_code).toBe(2)
    expect((await jsonError(['report', 'show'])).error).toMatch(/^missing argument RUN/)
  })

  it('a bad flag value, a missing file, a broken config, no target, an unreachable target', async () => {
    expect(await jsonError(['run', 'pms', '--duration', 'soon'])).toMatchObject({
      error: '--duration: "soon" is not a positive duration',
      exit_code: 2,
    })
    // oclif's own parse errors name the flag too.
    expect((await jsonError(['sandbox', '--port', 'abc'])).error).toBe(
      '--port: Expected an integer but received: abc',
    )
    expect(await jsonError(['report', 'show', join(cwd.dir, 'missing.json')])).toMatchObject({
      exit_code: 2,
    })
    expect(await jsonError(['status'])).toMatchObject({ error: 'no target configured', exit_code: 2 })
    const unreachable = await jsonError(['status', '--target', 'http://127.0.0.1:1', '--token', 't'])
    expect(unreachable.exit_code).toBe(4)
    expect(unreachable.error).toMatch(/unreachable/)
    const broken = await tempCwd()
    try {
      await writeFile(join(broken.dir, 'chaos.config.yaml'), 'target: [\n')
      const config = await jsonError(['list'], broken.dir)
      expect(config.exit_code).toBe(2)
      expect(config.error).toMatch(/problem in config file chaos\.config\.yaml/)
      expect(config.details![0]).toMatch(/^chaos\.config\.yaml:\d+:\d+ /)
    } finally {
      await broken.cleanup()
    }
  })

  it('an unknown command is JSON too', async () => {
    expect(await jsonError(['lst'])).toEqual({
      error: '"lst" is not a chaos command',
      hint: 'did you mean chaos list? run chaos help for every command',
      exit_code: 2,
    })
  })
})
