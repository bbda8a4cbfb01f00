/**
 * Issue 10, defect 11, through the compiled CLI: every kind of bad input file is one positioned
 * problem line and exit 2 — never a hang, a crash (exit 4) or a pass — and the other files still load.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { loadCatalogue } from '../src/scenario/catalogue.js'
import { MAX_INPUT_BYTES } from '../src/scenario/input-file.js'
import { loadScenarioFiles } from '../src/scenario/loader.js'
import { MAX_REPORT_BYTES } from '../src/store/report-store.js'
import { runChaos } from './support/index.js'
import { validScenarioText } from './support/scenario-text.js'

let cwd: string

const VALID = (id: string) => validScenarioText(id, 'Probe')

/** Ten anchors, each a list of ten aliases of the previous one: 10^9 values once expanded. */
function aliasBomb(): string {
  let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n'
  for (let i = 1; i < 10; i++)
    text += `a${i}: &a${i} [${Array(10)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`
  return text
}

/** 1,000 levels of block mappings (5,000 would be over the size limit; the flow file has 5,000). */
function deepBlocks(): string {
  let text = ''
  for (let i = 0; i < 1000; i++) text += `${' '.repeat(i)}k:\n`
  return text + `${' '.repeat(1000)}v\n`
}

async function chaos(args: string[]) {
  const r = await runChaos(args, { cwd })
  expect(r.stderr).not.toMatch(/^\s+at /m)
  return r
}

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'chaos-bad-input-'))
  await writeFile(join(cwd, 'good.yaml'), VALID('good_one'))
  await writeFile(join(cwd, 'bomb.yaml'), aliasBomb())
  await writeFile(
    join(cwd, 'dup.yaml'),
    VALID('dup_keys').replace('  probability: 0.3\n', '  probability: 0.3\n  probability: 0.5\n'),
  )
  await writeFile(join(cwd, 'deep.yaml'), deepBlocks())
  await writeFile(join(cwd, 'deep-flow.yaml'), `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)
  // Sparse: 2 MiB on disk as far as stat is concerned, nothing to read before the refusal.
  const big = await open(join(cwd, 'big.yaml'), 'w')
  await big.truncate(2 * 1024 * 1024)
  await big.close()
  execFileSync('mkfifo', [join(cwd, 'pipe.yaml')])
  await mkdir(join(cwd, 'empty'))
  await mkdir(join(cwd, 'folder.yaml'))
  await mkdir(join(cwd, 'mine'))
  await writeFile(join(cwd, 'mine', 'latency.yaml'), VALID('network_latency'))
})
afterAll(async () => rm(cwd, { recursive: true }))

describe('chaos validate with bad input files (defect 11)', () => {
  it('a FIFO is refused at once, naming the path, for validate and run --dry-run', async () => {
    for (const args of [
      ['validate', 'pipe.yaml'],
      ['run', 'pipe.yaml', '--dry-run'],
    ]) {
      const r = await chaos(args)
      expect(r.exitCode, r.stderr).toBe(2)
      expect(r.stderr).toContain(
        'pipe.yaml:1:1 not read: the file is a FIFO (named pipe), not a regular file',
      )
    }
  })

  it('an alias bomb, duplicate keys, deep nesting and a file over 1 MiB are positioned problems; the good file still loads', async () => {
    const r = await chaos([
      'validate',
      'good.yaml',
      'bomb.yaml',
      'dup.yaml',
      'deep.yaml',
      'deep-flow.yaml',
      'big.yaml',
    ])
    expect(r.exitCode, r.stderr).toBe(2)
    const lines = r.stderr.split('\n')
    expect(lines).toContain(
      'bomb.yaml:2:10 a1[0]: aliases expand to more than 100 copies (a resource exhaustion "alias bomb") (hint: write the values out instead of nesting aliases (*name) of aliases)',
    )
    expect(lines).toContain(
      'dup.yaml:10:3 fault_config.probability: duplicate key "probability" (hint: each field may appear once; remove one of them)',
    )
    expect(lines).toContain(
      'deep.yaml:65:65 nested more than 64 levels deep (hint: scenario and config files nest a few levels deep; flatten the structure)',
    )
    expect(r.stderr).toMatch(/^deep-flow\.yaml:1:\d+ nested more than 64 levels deep/m)
    expect(r.stderr).toMatch(
      /^big\.yaml:1:1 not read: the file is 2,097,152 bytes, more than the 1 MiB \(1,048,576 bytes\) limit/m,
    )
    expect(r.stderr).not.toMatch(/Excessive alias count|Maximum call stack|Map keys must be unique/)
    expect(r.stderr).toContain('Error: 5 problems in 5 files (1 valid scenario)')
  })

  it('validate of a folder with no scenario files (empty, or named x.yaml) fails with exit 2', async () => {
    for (const dir of ['empty', 'folder.yaml']) {
      const r = await chaos(['validate', dir])
      expect(r.exitCode, r.stderr).toBe(2)
      expect(r.stderr.split('\n')[0]).toBe(`Error: no scenario files found in ${dir}`)
    }
    const nothing = await chaos(['validate', '--no-builtin'])
    expect(nothing.exitCode, nothing.stderr).toBe(2)
    expect(nothing.stderr.split('\n')[0]).toBe('Error: no scenario files found')
  })

  it('a scenario reusing a built-in id is named as such when the built-ins are loaded', async () => {
    const r = await chaos(['validate', '--scenarios', 'mine'])
    expect(r.exitCode, r.stderr).toBe(2)
    expect(r.stderr).toContain(
      'mine/latency.yaml:1:5 id: id "network_latency" is also the built-in scenario scenarios/network/network_latency.yaml',
    )
    // Without the built-ins it is a valid scenario.
    expect((await chaos(['validate', '--scenarios', 'mine', '--no-builtin'])).exitCode).toBe(0)
  })

  it('an alias bomb in the config file is a positioned exit-2 problem for every command', async () => {
    const project = join(cwd, 'project')
    await mkdir(project, { recursive: true })
    await writeFile(join(project, 'chaos.config.yaml'), aliasBomb())
    const r = await runChaos(['list'], { cwd: project })
    expect(r.exitCode, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^chaos\.config\.yaml:2:10 a1\[0\]: aliases expand to more than 100 copies/m)
  })
})

describe('the loaders, in process', () => {
  it('loadScenarioFiles: each unreadable file is one problem, the others load', async () => {
    const files = ['good.yaml', 'pipe.yaml', 'big.yaml', 'bomb.yaml'].map((f) => join(cwd, f))
    const { scenarios, problems } = await loadScenarioFiles(files, { cwd })
    expect(scenarios.map((s) => s.scenario.id)).toEqual(['good_one'])
    expect(problems.map((p) => p.file)).toEqual(['pipe.yaml', 'big.yaml', 'bomb.yaml'])
  })

  it('a file of exactly the limit is read; one byte more is refused', async () => {
    const text = VALID('at_limit')
    const exact = join(cwd, 'exact.yaml')
    await writeFile(exact, text + '#'.repeat(MAX_INPUT_BYTES - Buffer.byteLength(text)))
    expect((await loadScenarioFiles([exact], { cwd })).problems).toEqual([])
    await writeFile(exact, (await readFile(exact, 'utf8')) + '#')
    const { problems } = await loadScenarioFiles([exact], { cwd })
    expect(problems[0]?.message).toMatch(/^not read: the file is 1,048,577 bytes/)
  })

  it('loadConfig: a FIFO, an oversized file and duplicate keys are exit-2 errors naming the file', async () => {
    for (const [name, text] of [
      ['dup.config.yaml', 'target: http://a:1\ntarget: http://b:1\n'],
      ['big.config.yaml', `# ${'x'.repeat(MAX_INPUT_BYTES)}\n`],
    ] as const) {
      await writeFile(join(cwd, name), text)
    }
    const failure = async (path: string) =>
      loadConfig({ cwd, env: {}, path }).then(
        () => undefined,
        (e: unknown) => e as Error & { exitCode: number; details: readonly string[] },
      )
    const fifo = await failure('pipe.yaml')
    expect(fifo?.exitCode).toBe(2)
    expect(fifo?.message).toBe('config file pipe.yaml is a FIFO (named pipe), not a regular file')
    const big = await failure('big.config.yaml')
    expect(big?.message).toMatch(/^config file big\.config\.yaml is 1,048,5\d\d bytes, more than the 1 MiB/)
    const dup = await failure('dup.config.yaml')
    expect(dup?.details).toEqual([
      'dup.config.yaml:2:1 target: duplicate key "target" (hint: each field may appear once; remove one of them)',
    ])
  })

  it('problems are never cached: a broken file is reported again on the next load', async () => {
    const dir = join(cwd, 'cached')
    const cacheDir = join(cwd, 'cache')
    await mkdir(dir)
    await writeFile(join(dir, 'bomb.yaml'), aliasBomb())
    await writeFile(join(dir, 'good.yaml'), VALID('cached_good'))
    for (let i = 0; i < 2; i++) {
      const catalogue = await loadCatalogue({ cwd, dirs: [dir], builtin: false, cacheDir })
      expect(catalogue.scenarios.map((s) => s.scenario.id)).toEqual(['cached_good'])
      expect(catalogue.problems.map((p) => p.file)).toEqual(['cached/bomb.yaml'])
    }
  })
})

describe('report show refuses what cannot be a report, before reading it', () => {
  it('a FIFO or a file larger than any report: exit 2, one line, no hang', async () => {
    const fifo = join(cwd, 'report-pipe.json')
    execFileSync('mkfifo', [fifo])
    const big = join(cwd, 'huge.json')
    const handle = await open(big, 'w')
    await handle.truncate(MAX_REPORT_BYTES + 1) // sparse: nothing to read before the refusal
    await handle.close()
    for (const [file, why] of [
      [fifo, 'not a regular file'],
      [big, 'more than a report can be'],
    ] as const) {
      const r = await chaos(['report', 'show', file])
      expect(r.exitCode, r.stderr).toBe(2)
      expect(r.stderr).toContain(`${file}: not a chaos report (`)
      expect(r.stderr).toContain(why)
    }
  })
})
