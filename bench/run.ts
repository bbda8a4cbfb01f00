/**
 * `npm run bench`: runs every benchmark module in bench/ and prints ratios against a baseline
 * measured in the same run. Benchmarks never assert; they report.
 * Usage: npm run bench [-- name ...] to run only some (startup, agent, sandbox, generator, proxy-http,
 * proxy-tcp, fleet).
 */
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.bench\.ts$/, '')))
  .sort()

for (const file of files) {
  const mod = (await import(new URL(file, import.meta.url).href)) as {
    default: (log: (line: string) => void) => Promise<void>
  }
  console.log(`\n## ${file.replace(/\.bench\.ts$/, '')}`)
  await mod.default((line) => console.log(line))
}
