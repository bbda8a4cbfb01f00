import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_REPORTS_DIR, findConfigFile, loadConfig } from '../src/config.js'
import { InvalidInputError } from '../src/errors.js'
import { includeBuiltin } from '../src/workspace.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chaos-config-'))
})
afterEach(async () => rm(dir, { recursive: true }))

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as InvalidInputError,
  )

describe('loadConfig', () => {
  it('uses the defaults when there is no config file', async () => {
    const config = await loadConfig({ cwd: dir, env: {} })
    expect(config).toEqual({
      root: dir,
      targets: [],
      scenarioDirs: [],
      reportsDir: join(dir, DEFAULT_REPORTS_DIR),
      run: {},
    })
  })

  it('finds chaos.config.yaml from the working directory upwards and resolves paths against it', async () => {
    await writeFile(
      join(dir, 'chaos.config.yaml'),
      `target: http://localhost:8080
token: s3cret
scenario_dirs: [chaos/scenarios]
reports_dir: out/reports
prometheus: http://localhost:9090
run:
  rate: 50
  baseline: 5s
  interval: 500ms
  pause: 0
  recovery_timeout: 1m
  duration: 20
workload:
  requests:
    - path: /api/availability
workload_url: http://lb.internal:8080
`,
    )
    const nested = join(dir, 'a', 'b')
    await mkdir(nested, { recursive: true })
    expect(findConfigFile(nested)).toBe(join(dir, 'chaos.config.yaml'))
    const config = await loadConfig({ cwd: nested, env: {} })
    expect(config).toMatchObject({
      file: join(dir, 'chaos.config.yaml'),
      root: dir,
      targets: ['http://localhost:8080'],
      token: 's3cret',
      scenarioDirs: [join(dir, 'chaos/scenarios')],
      reportsDir: join(dir, 'out/reports'),
      prometheus: 'http://localhost:9090',
      run: {
        rate: 50,
        baselineMs: 5000,
        intervalMs: 500,
        pauseMs: 0,
        recoveryTimeoutMs: 60_000,
        durationMs: 20_000,
      },
      workload: { requests: [{ method: 'GET', path: '/api/availability', weight: 1 }] },
      workloadUrl: 'http://lb.internal:8080',
    })
  })

  it('reads JSON config and a list of targets (one per instance)', async () => {
    await writeFile(join(dir, 'chaos.config.json'), JSON.stringify({ target: ['http://a:1', 'http://b:2'] }))
    expect((await loadConfig({ cwd: dir, env: {} })).targets).toEqual(['http://a:1', 'http://b:2'])
  })

  it('lets CHAOS_TARGET and CHAOS_TOKEN override the file', async () => {
    await writeFile(join(dir, 'chaos.config.yml'), 'target: http://file:1\ntoken: from-file\n')
    const config = await loadConfig({
      cwd: dir,
      env: { CHAOS_TARGET: 'http://env:1, http://env:2', CHAOS_TOKEN: 'from-env' },
    })
    expect(config.targets).toEqual(['http://env:1', 'http://env:2'])
    expect(config.token).toBe('from-env')
    const err = await failure(loadConfig({ cwd: dir, env: { CHAOS_TARGET: 'localhost:8080' } }))
    expect(err).toBeInstanceOf(InvalidInputError)
    expect(err?.message).toBe('CHAOS_TARGET: "localhost:8080" is not an http(s) URL')
  })

  it('takes an explicit path and says when it does not exist', async () => {
    await writeFile(join(dir, 'other.yaml'), 'reports_dir: r\n')
    expect((await loadConfig({ cwd: dir, env: {}, path: 'other.yaml' })).reportsDir).toBe(join(dir, 'r'))
    const err = await failure(loadConfig({ cwd: dir, env: {}, path: 'missing.yaml' }))
    expect(err?.exitCode).toBe(2)
    expect(err?.message).toBe('config file missing.yaml: not found')
  })

  it('accepts an empty config file', async () => {
    await writeFile(join(dir, 'chaos.config.yaml'), '# nothing yet\n')
    expect((await loadConfig({ cwd: dir, env: {} })).targets).toEqual([])
  })

  it('reports every problem with file:line:col, exit 2', async () => {
    await writeFile(
      join(dir, 'chaos.config.yaml'),
      `targt: http://localhost:8080
prometheus: localhost:9090
run:
  baseline: 10 sec
  duration: 45m
  rate: -1
chaos_monkey: {}
`,
    )
    const err = await failure(loadConfig({ cwd: dir, env: {} }))
    expect(err).toBeInstanceOf(InvalidInputError)
    expect(err?.exitCode).toBe(2)
    expect(err?.message).toBe('6 problems in config file chaos.config.yaml')
    expect(err?.details).toEqual([
      'chaos.config.yaml:1:1 targt: unknown field "targt" (hint: did you mean "target"?)',
      'chaos.config.yaml:2:13 prometheus: must be an http(s) URL such as http://localhost:8080 (hint: the Prometheus base URL, e.g. http://localhost:9090)',
      'chaos.config.yaml:4:13 run.baseline: "10 sec" is not a duration (hint: a duration such as 500ms, 10s, 2m (a bare number is seconds))',
      'chaos.config.yaml:5:13 run.duration: must be at most 30 minutes (hint: experiments last 30 minutes at most (guide section 7))',
      'chaos.config.yaml:6:9 run.rate: must be more than 0 (hint: run: { rate, baseline, interval, pause, recovery_timeout, duration })',
      'chaos.config.yaml:7:1 chaos_monkey: unknown field "chaos_monkey" (hint: allowed here: target, token, scenario_dirs, catalogue, reports_dir, metrics_url, control_prefix, prometheus, discover, instance_url, dns_servers, max_parallel, metrics_source, metrics_selector, pushgateway, run, workload, workload_url, monkey, schedules, proxy)',
    ])
  })

  it('reports YAML syntax errors in the config', async () => {
    await writeFile(join(dir, 'chaos.config.yaml'), 'target: [http://a\n')
    const err = await failure(loadConfig({ cwd: dir, env: {} }))
    expect(err?.details[0]).toMatch(/^chaos\.config\.yaml:\d+:\d+ YAML syntax error: /)
  })
})

describe('catalogue: builtin | none', () => {
  it('reads the choice, absent by default (the built-ins load)', async () => {
    await writeFile(join(dir, 'chaos.config.yaml'), 'catalogue: none\n')
    expect((await loadConfig({ cwd: dir, env: {} })).catalogue).toBe('none')
    await writeFile(join(dir, 'chaos.config.yaml'), 'catalogue: builtin\n')
    expect((await loadConfig({ cwd: dir, env: {} })).catalogue).toBe('builtin')
    await writeFile(join(dir, 'chaos.config.yaml'), 'reports_dir: out\n')
    expect((await loadConfig({ cwd: dir, env: {} })).catalogue).toBeUndefined()
  })

  it('refuses anything else, with the two choices in the hint', async () => {
    await writeFile(join(dir, 'chaos.config.yaml'), 'catalogue: mine\n')
    const err = await failure(loadConfig({ cwd: dir, env: {} }))
    expect(err?.exitCode).toBe(2)
    expect(err?.details.join('\n')).toMatch(/chaos\.config\.yaml:1:12 catalogue: .*(builtin|none)/)
  })

  it('decides the built-ins unless --builtin / --no-builtin says otherwise', () => {
    expect(includeBuiltin(undefined, {})).toBe(true)
    expect(includeBuiltin(undefined, { catalogue: 'builtin' })).toBe(true)
    expect(includeBuiltin(undefined, { catalogue: 'none' })).toBe(false)
    expect(includeBuiltin(true, { catalogue: 'none' })).toBe(true)
    expect(includeBuiltin(false, { catalogue: 'builtin' })).toBe(false)
  })
})
