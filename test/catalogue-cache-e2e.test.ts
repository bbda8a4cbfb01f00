/**
 * The validated-catalogue cache (src/scenario/catalogue-cache.ts): used when nothing changed,
 * never when something did. In-process through loadCatalogue, then through the compiled CLI
 * (`chaos list`, built by `npm test` before vitest runs) as a user meets it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { execa } from 'execa'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadCatalogue } from '../src/scenario/catalogue.js'
import { catalogueCacheDir, VALIDATION_DIRS } from '../src/scenario/catalogue-cache.js'

const root = join(import.meta.dirname, '..')

const scenario = (id: string, name: string, extra = '') => `id: ${id}
name: ${name}
category: service
target_service: pms_adapter
duration_seconds: 30
steady_state_hypothesis: the breaker holds
fault_config: { fault_type: EXCEPTION, probability: 0.3, exception_class: E, blast_radius: SINGLE_REQUEST }
checks: [error_rate < 5% during]
${extra}`

let work: string
let dir: string
let cacheDir: string

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'chaos-cache-'))
  dir = join(work, 'scenarios')
  cacheDir = join(work, 'cache')
  await mkdir(dir)
  await writeFile(join(dir, 'one.yaml'), scenario('user_one', 'User One'))
})

afterEach(async () => {
  await rm(work, { recursive: true, force: true })
})

const load = () => loadCatalogue({ cwd: work, dirs: [dir], builtin: false, cacheDir })
const names = async () => (await load()).scenarios.map((s) => s.scenario.name)
const cacheFiles = () => readdirSync(cacheDir).filter((f) => f.endsWith('.json'))

/** Rewrites the cached value of every scenario's name, so a result served from the cache shows it. */
function markCache(): void {
  for (const f of cacheFiles()) {
    const path = join(cacheDir, f)
    const data = JSON.parse(readFileSync(path, 'utf8')) as {
      scenarios: Array<{ scenario: { name: string } }>
    }
    for (const s of data.scenarios) s.scenario.name = `cached ${s.scenario.name}`
    writeFileSync(path, JSON.stringify(data))
  }
}

describe('loadCatalogue with a cache directory', () => {
  it('serves an unchanged catalogue from the cache, with the same value a fresh load gives', async () => {
    const fresh = await loadCatalogue({ cwd: work, dirs: [dir], builtin: false })
    expect(await load()).toEqual(fresh)
    expect(cacheFiles()).toHaveLength(1)
    expect(await load()).toEqual(fresh)

    markCache()
    expect(await names()).toEqual(['cached User One'])
  })

  it('validates again after any change: edited (same size), added, removed, broken, fixed', async () => {
    await load()
    markCache()
    expect(await names()).toEqual(['cached User One'])

    // Same length, different content: size alone would not see it.
    await writeFile(join(dir, 'one.yaml'), scenario('user_one', 'User Two'))
    expect(await names()).toEqual(['User Two'])

    await writeFile(join(dir, 'two.yaml'), scenario('user_two', 'Another'))
    expect(await names()).toEqual(['User Two', 'Another'])
    await unlink(join(dir, 'two.yaml'))
    expect(await names()).toEqual(['User Two'])

    // A broken file is never cached: every load reports it, with its position.
    await writeFile(join(dir, 'one.yaml'), scenario('user_one', 'User One', 'tags: 7\n'))
    for (let i = 0; i < 2; i++) {
      const broken = await load()
      expect(broken.scenarios).toEqual([])
      expect(broken.problems.map((p) => `${p.field}@${p.line}`)).toEqual(['tags@9'])
    }
    await writeFile(join(dir, 'one.yaml'), scenario('user_one', 'User One'))
    expect(await names()).toEqual(['User One'])
  })

  it('ignores a corrupt cache file and replaces it', async () => {
    await load()
    const [file] = cacheFiles()
    for (const garbage of ['{"format":1,"key":', '[]', '{"format":1,"scenarios":[null]}']) {
      await writeFile(join(cacheDir, file!), garbage)
      expect(await names()).toEqual(['User One'])
    }
    const again = await load()
    expect(again.scenarios.map((s) => s.scenario.id)).toEqual(['user_one'])
    expect(JSON.parse(readFileSync(join(cacheDir, file!), 'utf8'))).toMatchObject({ format: 1 })
  })

  it('keys on every module that validates a scenario (all of them under VALIDATION_DIRS)', () => {
    const src = join(root, 'src')
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const text = readFileSync(file, 'utf8')
      for (const [, spec] of text.matchAll(/(?:from|import\()\s*'(\.[^']+)\.js'/g))
        visit(resolve(dirname(file), `${spec}.ts`))
    }
    visit(join(src, 'scenario', 'loader.ts'))
    expect(seen.size).toBeGreaterThan(3)
    const outside = [...seen].filter(
      (file) => !(VALIDATION_DIRS as readonly string[]).includes(relative(src, dirname(file))),
    )
    expect(outside).toEqual([])
  })

  it('lives per user (CHAOS_CACHE_DIR, XDG_CACHE_HOME, ~/.cache) and can be turned off', () => {
    expect(catalogueCacheDir({ CHAOS_CACHE_DIR: '/c' })).toBe('/c')
    expect(catalogueCacheDir({ CHAOS_CACHE_DIR: 'off' })).toBeUndefined()
    expect(catalogueCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'chaos-playbook'))
    expect(catalogueCacheDir({})).toMatch(/[/\\]\.cache[/\\]chaos-playbook$/)
  })
})

describe('chaos list with the cache', () => {
  const list = (...args: string[]) =>
    execa('node', [join(root, 'bin', 'run.js'), 'list', '--scenarios', dir, ...args], {
      cwd: work,
      env: { CHAOS_CACHE_DIR: cacheDir, NO_COLOR: '1' },
      reject: false,
    })

  it('shows a changed file at once, and a broken file still exits 2 with its position', async () => {
    const first = await list('--json')
    expect(first.exitCode).toBe(0)
    expect(cacheFiles()).toHaveLength(1)
    const row = (stdout: string) =>
      (JSON.parse(stdout) as { scenarios: Array<{ id: string; duration_seconds: number }> }).scenarios.find(
        (s) => s.id === 'user_one',
      )
    expect(row(first.stdout)?.duration_seconds).toBe(30)

    await writeFile(
      join(dir, 'one.yaml'),
      scenario('user_one', 'User One').replace('duration_seconds: 30', 'duration_seconds: 45'),
    )
    expect(row((await list('--json')).stdout)?.duration_seconds).toBe(45)

    await writeFile(join(dir, 'one.yaml'), scenario('user_one', 'User One', 'tags: 7\n'))
    const broken = await list()
    expect(broken.exitCode).toBe(2)
    expect(broken.stderr).toMatch(/scenarios[/\\]one\.yaml:9:7 tags: /)
  })
})
