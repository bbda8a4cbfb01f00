/**
 * The package as users get it: `npm pack` (of the built dist/; `npm test` builds first), the tarball
 * unpacked into a fresh project's node_modules next to only the declared runtime dependencies, then
 * a TypeScript program that imports `chaos-playbook` and `chaos-playbook/agent` by their bare names
 * (test/fixtures/package/consumer.ts) is type-checked through the `types` conditions of `exports`,
 * compiled, and run: it validates the packed catalogue and runs a real experiment against an
 * in-process agent.
 */
import { execFileSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIXTURES = join(ROOT, 'test', 'fixtures', 'package')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string
  dependencies: Record<string, string>
}

let work: string
let project: string

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'src', 'index.js'))) {
    throw new Error('dist/ is missing: build first with `npm run build` (npm test does)')
  }
  work = mkdtempSync(join(tmpdir(), 'chaos-package-'))
  // --ignore-scripts: packs the dist/ already built instead of rebuilding it (prepare).
  execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: ROOT })
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!
  project = join(work, 'project')
  const installed = join(project, 'node_modules', pkg.name)
  mkdirSync(installed, { recursive: true })
  execFileSync('tar', ['-xzf', join(work, tarball), '-C', installed, '--strip-components=1'])
  // Only the declared dependencies (plus @types/node for the type check): an import of anything
  // else from dist/ fails here as it would for a user.
  for (const dep of [...Object.keys(pkg.dependencies), '@types/node']) {
    const link = join(project, 'node_modules', dep)
    mkdirSync(dirname(link), { recursive: true })
    symlinkSync(realpathSync(join(ROOT, 'node_modules', dep)), link, 'dir')
  }
  cpSync(FIXTURES, project, { recursive: true })
  writeFileSync(join(project, 'package.json'), JSON.stringify({ private: true, type: 'module' }))
})

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('the packed package', () => {
  it('ships the entry points, the catalogue and no tests or source maps', () => {
    const installed = join(project, 'node_modules', pkg.name)
    for (const file of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/agent/index.d.ts',
      'bin/run.js',
    ])
      expect(existsSync(join(installed, file)), file).toBe(true)
    expect(readdirSync(join(installed, 'scenarios')).sort()).toEqual([
      'database',
      'network',
      'pms',
      'resource',
      'scenario.schema.json',
      'service',
    ])
    expect(existsSync(join(installed, 'test'))).toBe(false)
    expect(existsSync(join(installed, 'dist', 'src', 'index.js.map'))).toBe(false)
  })

  it("import 'chaos-playbook' type-checks, validates the packed scenarios and runs an experiment against 'chaos-playbook/agent'", async () => {
    // Strict type-check through the `types` conditions, then emit consumer.js next to it.
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const compiled = await execa(
      'node',
      [
        tsc,
        '--strict',
        '--skipLibCheck',
        '--module',
        'nodenext',
        '--target',
        'es2023',
        '--types',
        'node',
        'consumer.ts',
      ],
      { cwd: project, reject: false, timeout: 30_000 },
    )
    expect(compiled.stdout + compiled.stderr).toBe('')
    expect(compiled.exitCode).toBe(0)

    const reports = join(work, 'reports')
    const { stdout } = await execa('node', ['consumer.js', reports], { cwd: project, timeout: 30_000 })
    const out = JSON.parse(stdout) as {
      builtinDir: string
      catalogue: { count: number; problems: string[] }
      valid?: string
      invalid: string[]
      run: {
        outcome: string
        exitCodeIsCheckFailed: boolean
        faults: number
        checks: Array<[string, boolean | null]>
        rollbackVerified: boolean
        reportFile: string
        roundTrip: boolean
        text: string
      }
    }
    // The catalogue comes from the installed package, not from this repository.
    expect(realpathSync(out.builtinDir)).toBe(
      realpathSync(join(project, 'node_modules', pkg.name, 'scenarios')),
    )
    expect(out.catalogue).toEqual({ count: 27, problems: [] })
    expect(out.valid).toBe('LATENCY')
    expect(out.invalid).toHaveLength(1)
    expect(out.invalid[0]).toMatch(/^x\.yaml:\d+:\d+ fault_config\.fault_type: .*did you mean LATENCY\?/)

    // 100 ms of latency on every call: the injection is measured, the p50 < 50 ms check fails.
    expect(out.run.outcome).toBe('FAILED')
    expect(out.run.exitCodeIsCheckFailed).toBe(true)
    expect(out.run.faults).toBeGreaterThan(0)
    expect(out.run.checks).toEqual([
      ['faults_injected > 0 during', true],
      ['latency_p50_ms < 50 during', false],
    ])
    expect(out.run.rollbackVerified).toBe(true)
    expect(out.run.reportFile.startsWith(reports)).toBe(true)
    expect(existsSync(out.run.reportFile)).toBe(true)
    expect(out.run.roundTrip).toBe(true)
    expect(out.run.text).toContain('Outcome: FAILED (exit 1)')
  })
})
