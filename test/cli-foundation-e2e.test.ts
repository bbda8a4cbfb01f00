/**
 * The foundation through the real compiled CLI (`node bin/run.js`, built by `npm test` before
 * vitest runs): catalogue, validation, selection, dry runs, config errors and exit codes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Plan } from '../src/plan.js'
import type { CatalogueEntry } from '../src/render/catalogue.js'
import type { Problem } from '../src/scenario/loader.js'
import { runChaos } from './support/index.js'

const root = join(import.meta.dirname, '..')
const fixtures = join(root, 'test', 'fixtures')

const CATALOGUE: Record<string, string[]> = {
  network: [
    'network_latency',
    'network_timeout',
    'network_connection_failure',
    'network_high_latency_spike',
    'network_intermittent_connectivity',
  ],
  service: [
    'service_random_failure',
    'service_circuit_breaker_trip',
    'service_rate_limiting',
    'service_cascading_failure',
    'service_slow_response',
    'service_unavailable',
  ],
  database: [
    'database_connection_failure',
    'database_slow_query',
    'database_query_timeout',
    'database_pool_exhaustion',
    'database_transaction_deadlock',
  ],
  pms: [
    'pms_api_failure',
    'pms_slow_response',
    'pms_rate_limiting',
    'pms_api_timeout',
    'pms_complete_unavailability',
    'pms_intermittent_failures',
  ],
  resource: [
    'resource_memory_pressure',
    'resource_cpu_throttling',
    'resource_disk_io_slowdown',
    'resource_exhaustion',
    'resource_memory_leak',
  ],
}
const ALL_IDS = Object.values(CATALOGUE).flat()

let cwd: string
beforeAll(async () => {
  // A working directory without a config file, so the repository's state cannot leak in.
  cwd = await mkdtemp(join(tmpdir(), 'chaos-cli-'))
})
afterAll(async () => rm(cwd, { recursive: true }))

/** Runs the CLI with a clean environment (no CHAOS_* from the developer's shell). */
async function chaos(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const result = await runChaos(args, { cwd: options.cwd ?? cwd, ...(options.env && { env: options.env }) })
  // No expected error ever shows a stack trace.
  expect(result.stderr).not.toMatch(/^\s+at /m)
  return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr }
}

async function json<T>(args: string[], options?: Parameters<typeof chaos>[1]): Promise<T> {
  const r = await chaos([...args, '--json'], options)
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as T
}

describe('chaos --version / --help', () => {
  it('prints the version and the commands, with per-command examples', async () => {
    const version = await chaos(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^chaos-playbook\/\d+\.\d+\.\d+/)
    const help = await chaos(['--help'])
    expect(help.code).toBe(0)
    for (const command of ['list', 'validate', 'run'])
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, 'm'))
    const runHelp = await chaos(['run', '--help'])
    expect(runHelp.stdout).toContain('EXAMPLES')
    expect(runHelp.stdout).toContain('chaos run network --dry-run')
    for (const flag of [
      '--target',
      '--token',
      '--duration',
      '--probability',
      '--rate',
      '--blast-radius',
      '--baseline',
      '--interval',
      '--pause',
      '--recovery-timeout',
      '--keep-going',
      '--allow-entire-system',
      '--scenarios',
      '--dry-run',
      '--quiet',
    ])
      expect(runHelp.stdout).toContain(flag)
  })
})

describe('chaos list', () => {
  it('shows the 27 scenarios of the guide in 5 categories', async () => {
    // Wide enough for whole ids (at 80 columns long ids wrap: test/terminal-output-e2e.test.ts).
    const r = await chaos(['list'], { env: { COLUMNS: '200' } })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('27 scenarios in 5 categories')
    for (const id of ALL_IDS) expect(r.stdout).toContain(id)
    const listed = await json<{ scenarios: CatalogueEntry[]; count: number; categories: string[] }>(['list'])
    expect(listed.count).toBe(27)
    expect(listed.categories).toEqual(Object.keys(CATALOGUE))
    // Suite order is the guide's section 5 order.
    expect(listed.scenarios.map((s) => s.id)).toEqual(ALL_IDS)
  })

  it('filters by category and rejects an unknown one', async () => {
    const pms = await json<{ scenarios: CatalogueEntry[] }>(['list', 'pms'])
    expect(pms.scenarios.map((s) => s.id)).toEqual(CATALOGUE.pms)
    const bad = await chaos(['list', 'netwrk'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('Error: unknown category "netwrk"')
    expect(bad.stderr).toContain('did you mean network?')
  })

  it('adds user scenarios from --scenarios DIR', async () => {
    const listed = await json<{ scenarios: CatalogueEntry[] }>([
      'list',
      '--scenarios',
      join(fixtures, 'user-scenarios'),
    ])
    expect(listed.scenarios).toHaveLength(29)
    // A user scenario follows the built-ins of its category.
    const ids = listed.scenarios.map((s) => s.id)
    expect(ids.indexOf('custom_latency_test')).toBe(5)
  })
})

describe('chaos validate', () => {
  it('validates every shipped scenario', async () => {
    const r = await chaos(['validate'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim()).toBe('27 scenarios valid')
    expect(await json<{ valid: boolean; scenarios: number; problems: Problem[] }>(['validate'])).toEqual({
      valid: true,
      scenarios: 27,
      problems: [],
    })
  })

  it('reports every problem of every broken file in one run, then exits 2', async () => {
    const r = await chaos(['validate', join(fixtures, 'broken'), join(fixtures, 'user-scenarios')], {
      cwd: root,
    })
    expect(r.code).toBe(2)
    const lines = r.stderr.split('\n').filter(Boolean)
    const expected = [
      /^test\/fixtures\/broken\/bad-check\.json:9:\d+ checks\[1\]\.check: unknown phase "parsecs" \(hint: .+\)$/,
      /^test\/fixtures\/broken\/bad-check\.yaml:13:23 checks\[0\]: unknown phase "durin" \(hint: .+\)$/,
      /^test\/fixtures\/broken\/bad-yaml\.yaml:\d+:\d+ YAML syntax error: .+ \(hint: .+\)$/,
      /^test\/fixtures\/broken\/duration-2h\.yaml:6:19 duration_seconds: must be at most 1800 .+ \(hint: .+\)$/,
      /^test\/fixtures\/broken\/exception-without-class\.yaml:8:1 fault_config\.exception_class: missing required field \(hint: EXCEPTION faults need exception_class.+\)$/,
      /^test\/fixtures\/broken\/latency-without-latency-ms\.yaml:8:1 fault_config\.latency_ms: missing required field \(hint: LATENCY faults need latency_ms.+\)$/,
      /^test\/fixtures\/broken\/probability-1\.5\.yaml:10:16 fault_config\.probability: must be at most 1 \(hint: .+\)$/,
      /^test\/fixtures\/broken\/rate-limit-without-requests\.yaml:8:1 fault_config\.rate_limit_requests: missing required field \(hint: RATE_LIMIT faults need rate_limit_requests.+\)$/,
      /^test\/fixtures\/broken\/timeout-without-timeout-ms\.yaml:8:1 fault_config\.timeout_ms: missing required field \(hint: TIMEOUT faults need timeout_ms.+\)$/,
      /^test\/fixtures\/broken\/unknown-key\.yaml:12:3 fault_config\.latencyms: unknown field "latencyms" \(hint: did you mean "latency_ms"\?\)$/,
      /^Error: 10 problems in 10 files \(2 valid scenarios\)$/,
      /^Hint: /,
    ]
    expect(lines).toHaveLength(expected.length)
    lines.forEach((line, i) => expect(line).toMatch(expected[i]!))
  })

  it('gives {valid, problems[]} with --json, exit 2', async () => {
    const r = await chaos(['validate', join(fixtures, 'broken', 'unknown-key.yaml'), '--json'], { cwd: root })
    expect(r.code).toBe(2)
    const out = JSON.parse(r.stdout) as { valid: boolean; problems: Problem[] }
    expect(out.valid).toBe(false)
    expect(out.problems).toEqual([
      {
        file: 'test/fixtures/broken/unknown-key.yaml',
        line: 12,
        col: 3,
        field: 'fault_config.latencyms',
        message: 'unknown field "latencyms"',
        hint: 'did you mean "latency_ms"?',
      },
    ])
  })
})

describe('chaos run --dry-run', () => {
  it('prints the five network experiments, the safety limits and the expected time', async () => {
    const r = await chaos(['run', 'network', '--dry-run'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Dry run: 5 experiments (network); nothing will be injected.')
    const order = CATALOGUE.network!.map((id, i) => r.stdout.indexOf(`${i + 1}. ${id}`))
    expect(order.every((at) => at >= 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    expect(r.stdout).toContain('error rate > 50% or availability < 50%')
    expect(r.stdout).toContain('one experiment at a time; 30m at most per experiment')
    expect(r.stdout).toMatch(/Expected time \d/)
  })

  it('selects by category, id, file and all, and --json parses', async () => {
    const ids = async (...words: string[]) =>
      (await json<Plan>(['run', ...words, '--dry-run'])).experiments.map((e) => e.id)
    expect(await ids('pms')).toEqual(CATALOGUE.pms)
    expect(await ids('pms_api_failure', 'network_latency')).toEqual(['pms_api_failure', 'network_latency'])
    expect(await ids('all')).toEqual(ALL_IDS)
    expect(await ids('network', 'network_timeout', 'network')).toEqual(CATALOGUE.network)
    // A built-in file by its path (shown absolute: the working directory is elsewhere).
    const listed = await json<{ scenarios: CatalogueEntry[] }>(['list', 'database'])
    const file = listed.scenarios[2]!.file
    expect(isAbsolute(file)).toBe(true)
    expect(await ids(file)).toEqual(['database_query_timeout'])
    expect(
      await ids(join(fixtures, 'user-scenarios', 'whatsapp-latency.yaml'), 'resource_exhaustion'),
    ).toEqual(['custom_latency_test', 'resource_exhaustion'])
  })

  it('applies overrides to the plan', async () => {
    const plan = await json<Plan>([
      'run',
      'network_latency',
      '--dry-run',
      '--duration',
      '20s',
      '--probability',
      '10%',
      '--blast-radius',
      'SINGLE_REQUEST',
      '--baseline',
      '2s',
      '--pause',
      '1s',
    ])
    expect(plan.experiments[0]).toMatchObject({
      duration_seconds: 20,
      probability: 0.1,
      blast_radius: 'SINGLE_REQUEST',
    })
    expect(plan.baseline_seconds).toBe(2)
    expect(plan.total_expected_seconds).toBe(22)
  })

  it('refuses a broken file with its problem, exit 2', async () => {
    const r = await chaos(['run', join(fixtures, 'broken', 'probability-1.5.yaml'), '--dry-run'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/probability-1\.5\.yaml:10:16 fault_config\.probability: must be at most 1/)
  })

  it('refuses unknown selections, bad overrides and a bad target with exit 2', async () => {
    const unknown = await chaos(['run', 'netwrk', '--dry-run'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('Error: unknown selection "netwrk" (did you mean network?)')
    expect(unknown.stderr).toContain('Hint: select a category (network, service, database, pms, resource)')
    const long = await chaos(['run', 'network', '--dry-run', '--duration', '2h'])
    expect(long.code).toBe(2)
    expect(long.stderr).toContain('--duration: 2h is longer than 30 minutes')
    const badTarget = await chaos(['run', 'network', '--target', 'not-a-url', '--token', 't'])
    expect(badTarget.code).toBe(2)
    expect(badTarget.stderr).toContain('--target: "not-a-url" is not an http(s) URL')
    const badLease = await chaos(['run', 'network', '--lease', 'soon'])
    expect(badLease.code).toBe(2)
    expect(badLease.stderr).toContain('Error: --lease: "soon" is not a positive duration')
    const none = await chaos(['run', '--dry-run'])
    expect(none.code).toBe(2)
  })
})

describe('usage and config errors', () => {
  it('exits 2 on an unknown flag, with a one-line error', async () => {
    const r = await chaos(['list', '--colour'])
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toMatch(/^Error: Nonexistent flag: --colour/)
  })

  it('exits 2 on a bad config file, positioned like scenario errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-cli-config-'))
    try {
      await writeFile(
        join(dir, 'chaos.config.yaml'),
        'target: http://localhost:8080\nrun:\n  pause: 3 minutes\n',
      )
      const r = await chaos(['list'], { cwd: dir })
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('chaos.config.yaml:3:10 run.pause: "3 minutes" is not a duration')
      expect(r.stderr).toContain('Error: 1 problem in config file chaos.config.yaml')
      const missing = await chaos(['run', 'network', '--dry-run'], {
        env: { CHAOS_CONFIG: join(dir, 'nope.yaml') },
      })
      expect(missing.code).toBe(2)
      expect(missing.stderr).toMatch(/config file .*nope\.yaml: not found/)
      // A good config's scenario_dirs add to the catalogue.
      await writeFile(
        join(dir, 'chaos.config.yaml'),
        `scenario_dirs: [${JSON.stringify(join(fixtures, 'user-scenarios'))}]\n`,
      )
      const listed = await json<{ count: number }>(['list'], { cwd: dir })
      expect(listed.count).toBe(29)
    } finally {
      await rm(dir, { recursive: true })
    }
  })
})
