/**
 * Startup cost of the CLI: wall time of `chaos --help` and `chaos list` (compiled, `node bin/run.js`)
 * as a ratio to a bare `node -e ''` measured in the same run, interleaved so that machine load
 * affects all three alike. Goal: under 3x. Needs a build (`npm run build`).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const RUNS = 9

function wallMs(args: string[]): number {
  const start = performance.now()
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
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
  const cases: Record<string, string[]> = {
    "node -e ''": ['-e', ''],
    'chaos --help': ['bin/run.js', '--help'],
    'chaos list': ['bin/run.js', 'list'],
  }
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  wallMs(cases['chaos list']!) // warm the file-system cache
  for (let i = 0; i < RUNS; i++) {
    for (const [name, args] of Object.entries(cases)) times[name]!.push(wallMs(args))
  }
  await Promise.resolve()
  const base = median(times["node -e ''"]!)
  log(`median of ${RUNS} runs each (goal: under 3x node -e '')`)
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs)
    log(`${name.padEnd(14)} ${m.toFixed(0).padStart(5)} ms  ${(m / base).toFixed(2)}x`)
  }
}
