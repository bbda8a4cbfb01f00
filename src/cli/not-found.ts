/**
 * oclif's `command_not_found` hook: `chaos lst` says `Error: "lst" is not a chaos command` and
 * `Hint: did you mean chaos list?`, then exits 2 (invalid usage, like every other usage error).
 * It never asks "run list instead?" nor runs the guess (as @oclif/plugin-not-found does on a
 * TTY): a guessed command of a chaos tool could inject faults. Without a TTY that plugin prints
 * no suggestion at all and exits 127, so this small hook replaces it.
 */
import type { Hook, Interfaces } from '@oclif/core'
import { ExitCode } from '../exit-codes.js'

/** Edit distance (insertions, deletions, substitutions) between two words. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
    }
    previous = current
  }
  return previous[b.length]!
}

/**
 * The known command closest to `id` (ids use `:` between topic and command), or undefined when
 * none is close enough to be a typo: at most a third of the word's letters (at least 1) differ,
 * or the id is the start of exactly one command.
 */
export function suggestCommand(id: string, commandIds: readonly string[]): string | undefined {
  const prefixed = commandIds.filter((c) => c.startsWith(id))
  if (prefixed.length === 1) return prefixed[0]
  let best: { id: string; distance: number } | undefined
  for (const candidate of commandIds) {
    const distance = editDistance(id, candidate)
    if (!best || distance < best.distance) best = { id: candidate, distance }
  }
  return best && best.distance <= Math.max(1, Math.floor(id.length / 3)) ? best.id : undefined
}

/**
 * The two lines for an unknown command `id` (topic and command joined by `:`): the error, and a
 * hint with the closest visible command when one is close enough.
 */
export function unknownCommandLines(config: Interfaces.Config, id: string): [string, string] {
  const visible = config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases])
  const spell = (name: string) => [config.bin, ...name.split(':')].join(' ')
  const guess = suggestCommand(id, visible)
  return [
    `Error: "${id.split(':').join(' ')}" is not a ${config.bin} command`,
    `Hint: ${guess ? `did you mean ${spell(guess)}? ` : ''}run ${config.bin} help for every command`,
  ]
}

// eslint-disable-next-line @typescript-eslint/require-await -- oclif's hooks are async by contract
const hook: Hook.CommandNotFound = async function (options) {
  const [error, hint] = unknownCommandLines(options.config, options.id)
  // With --json the same error is one JSON line on stdout, as every command's errors are.
  const argv = options.argv ?? []
  const end = argv.indexOf('--')
  if ((end === -1 ? argv : argv.slice(0, end)).includes('--json')) {
    const json = {
      error: error.replace(/^Error: /, ''),
      hint: hint.replace(/^Hint: /, ''),
      exit_code: ExitCode.INVALID_INPUT,
    }
    process.stdout.write(JSON.stringify(json) + '\n')
  } else process.stderr.write(`${error}\n${hint}\n`)
  return this.exit(ExitCode.INVALID_INPUT)
}

export default hook
