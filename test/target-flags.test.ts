/**
 * `--metrics-url` / `--control-prefix` and their config keys `metrics_url` / `control_prefix`: parsing,
 * precedence, pairing metrics URLs with targets, and the crontab arguments that repeat them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseControlPrefix, parseMetricsUrl, runArgs } from '../src/cli/flag-values.js'
import { resolveTarget } from '../src/cli/target.js'
import { loadConfig } from '../src/config.js'
import { InvalidInputError } from '../src/errors.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chaos-target-flags-'))
})
afterEach(async () => rm(dir, { recursive: true }))

async function config(yaml: string) {
  await writeFile(join(dir, 'chaos.config.yaml'), yaml)
  return loadConfig({ cwd: dir, env: {} })
}

function thrown(fn: () => unknown): InvalidInputError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError)
    return err as InvalidInputError
  }
  throw new Error('expected an InvalidInputError')
}

describe('--control-prefix and --metrics-url values', () => {
  it('takes a path prefix, dropping a trailing slash', () => {
    expect(parseControlPrefix('/chaos', '--control-prefix')).toBe('/chaos')
    expect(parseControlPrefix(' /ops/chaos/ ', '--control-prefix')).toBe('/ops/chaos')
  })

  it.each(['chaos', '/', '', '/a b', '/chaos?x=1'])('refuses %j naming the flag', (text) => {
    const err = thrown(() => parseControlPrefix(text, '--control-prefix'))
    expect(err.message).toBe(`--control-prefix: "${text}" is not a URL path prefix`)
    expect(err.exitCode).toBe(2)
  })

  it('takes an http(s) URL with any path, refuses anything else', () => {
    expect(parseMetricsUrl('http://10.0.0.1:9464/internal/metrics', '--metrics-url')).toBe(
      'http://10.0.0.1:9464/internal/metrics',
    )
    expect(thrown(() => parseMetricsUrl('10.0.0.1:9464/metrics', '--metrics-url')).message).toBe(
      '--metrics-url: "10.0.0.1:9464/metrics" is not an http(s) URL',
    )
  })
})

describe('metrics_url and control_prefix in the config file', () => {
  it('reads one URL or one per instance, and the prefix without its trailing slash', async () => {
    const one = await config(
      'target: http://a:8080\ntoken: t\nmetrics_url: http://a:9464/metrics\ncontrol_prefix: /ops/chaos/\n',
    )
    expect(one.metricsUrls).toEqual(['http://a:9464/metrics'])
    expect(one.controlPrefix).toBe('/ops/chaos')
    const two = await config(
      'target: [http://a:8080, http://b:8080]\ntoken: t\nmetrics_url: [http://a:9464/m, http://b:9464/m]\n',
    )
    expect(two.metricsUrls).toEqual(['http://a:9464/m', 'http://b:9464/m'])
    expect(two.controlPrefix).toBeUndefined()
  })

  it('reports bad values as file:line:col problems (exit 2)', async () => {
    const err = await config('metrics_url: ftp://a/metrics\ncontrol_prefix: chaos\n').then(
      () => undefined,
      (e: unknown) => e as InvalidInputError,
    )
    expect(err).toBeInstanceOf(InvalidInputError)
    expect(err!.details.join('\n')).toMatch(/chaos\.config\.yaml:1:\d+ metrics_url: /)
    expect(err!.details.join('\n')).toMatch(
      /chaos\.config\.yaml:2:\d+ control_prefix: must be a URL path such as \/chaos/,
    )
  })
})

describe('resolveTarget', () => {
  it('flags win over the config, and metrics URLs pair with targets by position', async () => {
    const cfg = await config(
      'target: http://a:8080\ntoken: t\nmetrics_url: http://a:9464/metrics\ncontrol_prefix: /x\n',
    )
    expect(resolveTarget({}, cfg)).toEqual({
      targets: ['http://a:8080'],
      token: 't',
      metricsUrls: ['http://a:9464/metrics'],
      controlPrefix: '/x',
      maxParallel: 64,
    })
    expect(
      resolveTarget(
        {
          target: ['http://b:1', 'http://c:1'],
          'metrics-url': ['http://b:2/m', 'http://c:2/m'],
          'control-prefix': '/y',
        },
        cfg,
      ),
    ).toEqual({
      targets: ['http://b:1', 'http://c:1'],
      token: 't',
      metricsUrls: ['http://b:2/m', 'http://c:2/m'],
      controlPrefix: '/y',
      maxParallel: 64,
    })
  })

  it('leaves both out when neither flag nor config sets them', async () => {
    const cfg = await config('target: http://a:8080\ntoken: t\n')
    expect(resolveTarget({}, cfg)).toEqual({ targets: ['http://a:8080'], token: 't', maxParallel: 64 })
  })

  it('refuses a metrics URL count that does not match the targets, naming where it came from', async () => {
    const cfg = await config('target: [http://a:1, http://b:1]\ntoken: t\nmetrics_url: http://a:2/metrics\n')
    expect(thrown(() => resolveTarget({}, cfg)).message).toBe(
      'metrics_url: 1 URL(s) for 2 target instance(s)',
    )
    expect(
      thrown(() => resolveTarget({ 'metrics-url': ['http://x/m', 'http://y/m', 'http://z/m'] }, cfg)).message,
    ).toBe('--metrics-url: 3 URL(s) for 2 target instance(s)')
  })
})

it('the crontab repeats --metrics-url and --control-prefix', () => {
  expect(
    runArgs({ target: ['http://a:1'], 'metrics-url': ['http://a:2/m'], 'control-prefix': '/ops' }, (p) => p),
  ).toEqual(['--target', 'http://a:1', '--metrics-url', 'http://a:2/m', '--control-prefix', '/ops'])
})
