/**
 * Startup cost of the CLI: wall time of `chaos --help` and `chaos list` (compiled, `node bin/run.js`)
 * as a ratio to a bare `node -e ''` measured in the same run, interleaved so that machine load
 * affects all of them alike. Goal: under 3x. `chaos list` is measured with its catalogue cache
 * warm (the usual case; in a fresh cache directory filled by the warm-up run) and, for comparison,
 * with the cache off (every scenario file parsed and validated). Needs a build (`npm run build`).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const RUNS = 9

function wallMs(args: string[], env: Record<string, string>): number {
  const start = performance.now()
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: 'ignore',
  })
  const elapsed = performance.now() - start
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}`)
  return elapsed
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export default async function startup(log: (line: string) => void): Promise<void> {
  if (!existsSync(new URL('../dist/commands/list.js', import.meta.url))) {
    log('startup: dist/ is missing; run npm run build first')
    return
  }
  const cacheDir = mkdtempSync(join(tmpdir(), 'chaos-bench-cache-'))
  const warm = { CHAOS_CACHE_DIR: cacheDir }
  const cases: Record<string, [string[], Record<string, string>]> = {
    "node -e ''": [['-e', ''], {}],
    'chaos --help': [['bin/run.js', '--help'], warm],
    'chaos list': [['bin/run.js', 'list'], warm],
    'chaos list (no cache)': [['bin/run.js', 'list'], { CHAOS_CACHE_DIR: 'off' }],
  }
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  try {
    wallMs(...cases['chaos list']!) // warms the file-system cache and fills the catalogue cache
    for (let i = 0; i < RUNS; i++) {
      for (const [name, [args, env]] of Object.entries(cases)) times[name]!.push(wallMs(args, env))
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true })
  }
  await Promise.resolve()
  const base = median(times["node -e ''"]!)
  log(`median of ${RUNS} runs each (goal: under 3x node -e '')`)
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs)
    log(`${name.padEnd(22)} ${m.toFixed(0).padStart(5)} ms  ${(m / base).toFixed(2)}x`)
  }
}
