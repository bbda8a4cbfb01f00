/**
 * The one flag vocabulary (src/cli/flags.ts, src/cli/flag-values.ts): each value grammar on its
 * own, then through the compiled CLI (`node bin/run.js`, built by `npm test` first): `-h` and
 * `chaos help`, "did you mean" for unknown commands, the same `--categories` grammar on gameday
 * and monkey, renamed flags still accepted, and one-line errors with exit 2.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { unwrapFlagError } from '../src/cli/base-command.js'
import {
  parseBlastRadius,
  parseCategories,
  parseDuration,
  parseExperimentDuration,
  parseIdList,
  parseLease,
  parsePollInterval,
  parseProbability,
  parseRate,
  parseTargetUrl,
  parseTimeZone,
  runArgs,
} from '../src/cli/flag-values.js'
import { runOverrides } from '../src/cli/flags.js'
import { suggestCommand } from '../src/cli/not-found.js'
import { ChaosError } from '../src/errors.js'
import type { Plan } from '../src/plan.js'
import { assertBuilt, ROOT, runChaos, tempCwd } from './support/index.js'

function thrown(fn: () => unknown): ChaosError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ChaosError) return err
    throw err
  }
  throw new Error('did not throw')
}

describe('value grammar', () => {
  it('durations: units, bare seconds, zero only where allowed, limits', () => {
    expect(parseDuration('500ms', '--baseline')).toBe(500)
    expect(parseDuration('2m', '--baseline')).toBe(120_000)
    expect(parseDuration('90', '--baseline')).toBe(90_000)
    expect(parseDuration('0s', '--pause', { allowZero: true })).toBe(0)
    expect(thrown(() => parseDuration('0s', '--baseline')).message).toBe(
      '--baseline: "0s" is not a positive duration',
    )
    expect(thrown(() => parseDuration('-1s', '--pause', { allowZero: true })).message).toBe(
      '--pause: "-1s" is not a duration',
    )
    expect(parseExperimentDuration('30m', '--duration')).toBe(1_800_000)
    expect(thrown(() => parseExperimentDuration('31m', '--duration')).message).toBe(
      '--duration: 31m is longer than 30 minutes',
    )
    expect(parseLease('30m', '--lease')).toBe(1_800_000)
    expect(thrown(() => parseLease('31m', '--lease')).message).toBe('--lease: 31m is longer than 30 minutes')
    expect(parsePollInterval('500ms', '--interval')).toBe(500)
    const poll = thrown(() => parsePollInterval('300', '--interval'))
    expect(poll.message).toBe('--interval: 300 is longer than 1 minute')
    expect(poll.hint).toContain('--every')
  })

  it('probabilities: fractions and percentages from 0 to 1', () => {
    expect(parseProbability('0.3', '--probability')).toBe(0.3)
    expect(parseProbability('5%', '--chance')).toBe(0.05)
    expect(parseProbability('0', '--chance')).toBe(0)
    for (const bad of ['1.5', '150%', '%', '', 'often'])
      expect(thrown(() => parseProbability(bad, '--chance')).message).toBe(
        `--chance: "${bad}" is not a probability`,
      )
  })

  it('blast radius: any case, dashes or underscores, did-you-mean on a typo', () => {
    expect(parseBlastRadius('single-request', '--blast-radius')).toBe('SINGLE_REQUEST')
    expect(parseBlastRadius('ENTIRE_SYSTEM', '--max-blast-radius')).toBe('ENTIRE_SYSTEM')
    const typo = thrown(() => parseBlastRadius('SINGLE_SERVIC', '--blast-radius'))
    expect(typo.message).toBe('--blast-radius: "SINGLE_SERVIC" is not a blast radius')
    expect(typo.hint).toMatch(/^did you mean SINGLE_SERVICE\?/)
  })

  it('categories: commas and/or spaces, any case, guide order then your own, no duplicates', () => {
    expect(parseCategories('pms,Network, pms', '--categories')).toEqual(['network', 'pms'])
    // Categories are open: a well-formed name of your own passes here, the catalogue decides later.
    expect(parseCategories('payments pms', '--categories')).toEqual(['pms', 'payments'])
    expect(parseCategories('resource database', '--categories')).toEqual(['database', 'resource'])
    expect(parseCategories('network pms', '--categories')).toEqual(
      parseCategories('network,pms', '--categories'),
    )
    const typo = thrown(() => parseCategories('netwrok!', '--categories'))
    expect(typo.exitCode).toBe(2)
    expect(typo.message).toBe('--categories: "netwrok!" is not a category')
    expect(typo.hint).toMatch(/did you mean network\?/)
    expect(thrown(() => parseCategories(' , ', '--categories')).message).toBe(
      '--categories: no category given',
    )
  })

  it('ids, rates, targets and time zones', () => {
    expect(parseIdList('network_latency, pms_api_failure network_latency', '--ids')).toEqual([
      'network_latency',
      'pms_api_failure',
    ])
    expect(thrown(() => parseIdList(',', '--ids')).message).toBe('--ids: no scenario id given')
    expect(parseRate('7.5', '--rate')).toBe(7.5)
    for (const bad of ['0', 'fast', '100001'])
      expect(thrown(() => parseRate(bad, '--rate')).message).toBe(`--rate: "${bad}" is not a request rate`)
    expect(parseTargetUrl('http://127.0.0.1:8080', '--target')).toBe('http://127.0.0.1:8080')
    expect(thrown(() => parseTargetUrl('127.0.0.1:8080', '--target')).message).toBe(
      '--target: "127.0.0.1:8080" is not an http(s) URL',
    )
    expect(parseTimeZone('Europe/Madrid', '--timezone')).toBe('Europe/Madrid')
    expect(thrown(() => parseTimeZone('Mars/Olympus', '--timezone')).message).toBe(
      '--timezone: "Mars/Olympus" is not a known time zone',
    )
  })

  it('oclif\'s "Parsing --flag" wrapper is reduced to the flag\'s own one-line message', () => {
    const wrapped =
      'Parsing --duration \n\t--duration: "soon" is not a positive duration\nSee more help with --help'
    expect(unwrapFlagError(wrapped)).toBe('--duration: "soon" is not a positive duration')
    expect(unwrapFlagError('unknown selection "x"')).toBe('unknown selection "x"')
  })
})

describe('run flags as chaos run arguments (the crontab)', () => {
  it('maps the parsed flags to run options, and back to arguments that parse to the same values', () => {
    const flags = {
      duration: 90_000,
      interval: 500,
      pause: 0,
      probability: 0.3,
      'blast-radius': 'SINGLE_REQUEST' as const,
      rate: 7,
      'allow-entire-system': true,
      target: ['http://10.0.0.5:8080'],
      'workload-url': 'http://lb.internal:80',
      scenarios: ['mine'],
      builtin: false,
    }
    expect(runOverrides(flags)).toMatchObject({
      durationMs: 90_000,
      intervalMs: 500,
      pauseMs: 0,
      probability: 0.3,
      blastRadius: 'SINGLE_REQUEST',
      rate: 7,
      allowEntireSystem: true,
    })
    const args = runArgs(flags, (p) => `/abs/${p}`)
    expect(args).toEqual([
      '--target',
      'http://10.0.0.5:8080',
      '--workload-url',
      'http://lb.internal:80',
      '--scenarios',
      '/abs/mine',
      '--no-builtin',
      '--duration',
      '90s',
      '--interval',
      '500ms',
      '--pause',
      '0h',
      '--probability',
      '0.3',
      '--blast-radius',
      'SINGLE_REQUEST',
      '--rate',
      '7',
      '--allow-entire-system',
    ])
    const value = (name: string) => args[args.indexOf(name) + 1]!
    expect(parseExperimentDuration(value('--duration'), '--duration')).toBe(flags.duration)
    expect(parsePollInterval(value('--interval'), '--interval')).toBe(flags.interval)
    expect(parseDuration(value('--pause'), '--pause', { allowZero: true })).toBe(flags.pause)
  })
})

describe('did you mean', () => {
  const ids = ['list', 'run', 'report:list', 'report:show', 'status', 'stop', 'schedule']
  it('suggests the closest command for a typo or a unique prefix, nothing for noise', () => {
    expect(suggestCommand('lst', ids)).toBe('list')
    expect(suggestCommand('rn', ids)).toBe('run')
    expect(suggestCommand('report:lst', ids)).toBe('report:list')
    expect(suggestCommand('sched', ids)).toBe('schedule')
    expect(suggestCommand('xyzzy', ids)).toBeUndefined()
  })
})

describe('through the CLI', () => {
  let cwd: string
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    assertBuilt()
    ;({ dir: cwd, cleanup } = await tempCwd())
  })
  afterAll(async () => cleanup())
  const chaos = (args: string[]) => runChaos(args, { cwd })

  it('-h and chaos help print the usage, exit 0', async () => {
    const [short, help, long, topic] = await Promise.all([
      chaos(['run', '-h']),
      chaos(['help', 'run']),
      chaos(['run', '--help']),
      chaos(['help', 'report', 'show']),
    ])
    for (const r of [short, help, long]) {
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stdout).toContain('USAGE')
      expect(r.stdout).toContain('$ chaos run SELECTION...')
      expect(r.stdout).toContain('--dry-run')
    }
    expect(short.stdout).toBe(long.stdout)
    expect(help.stdout).toBe(long.stdout)
    expect(topic.exitCode).toBe(0)
    expect(topic.stdout).toContain('$ chaos report show RUN')
  })

  it('an unknown command: did you mean, exit 2, no prompt', async () => {
    const [typo, nested, noise, help] = await Promise.all([
      chaos(['lst']),
      chaos(['report', 'lst']),
      chaos(['xyzzy']),
      chaos(['help', 'lst']),
    ])
    expect(typo.exitCode).toBe(2)
    expect(typo.stderr.split('\n')).toEqual([
      'Error: "lst" is not a chaos command',
      'Hint: did you mean chaos list? run chaos help for every command',
    ])
    expect(nested.exitCode).toBe(2)
    expect(nested.stderr).toContain('did you mean chaos report list?')
    expect(noise.exitCode).toBe(2)
    expect(noise.stderr).not.toContain('did you mean')
    expect(help.exitCode).toBe(2)
    expect(help.stderr).toBe(typo.stderr)
  })

  it('a bad value: one line naming the flag, a hint, exit 2', async () => {
    const [duration, poll, chance, ids] = await Promise.all([
      chaos(['run', 'network', '--dry-run', '--duration', 'soon']),
      chaos(['monkey', '--interval', '300', '--dry-run', '--once']),
      chaos(['monkey', '--chance', '150%', '--dry-run', '--once']),
      // The monkey's former --scenarios IDS: now a directory, and the error says where ids went.
      chaos(['monkey', '--scenarios', 'network_latency', '--dry-run', '--once']),
    ])
    expect(duration.exitCode).toBe(2)
    expect(duration.stderr.split('\n')).toEqual([
      'Error: --duration: "soon" is not a positive duration',
      'Hint: use a number with a unit: 500ms, 10s, 2m, 1h (a bare number is seconds)',
    ])
    expect(poll.exitCode).toBe(2)
    expect(poll.stderr).toContain('Error: --interval: 300 is longer than 1 minute')
    expect(poll.stderr).toContain('--every')
    expect(chance.exitCode).toBe(2)
    expect(chance.stderr.split('\n')[0]).toBe('Error: --chance: "150%" is not a probability')
    expect(ids.exitCode).toBe(2)
    expect(ids.stderr).toContain('Hint: scenario ids to pick from are --ids now: --ids network_latency')
  })

  it("defect 5: --lease over the control protocol's 30-minute cap: refused at parse time, exit 2, one line naming the flag", async () => {
    const [run, gameday] = await Promise.all([
      chaos(['run', 'network', '--dry-run', '--lease', '31m']),
      chaos(['gameday', '--dry-run', '--lease', '31m']),
    ])
    for (const r of [run, gameday]) {
      expect(r.exitCode).toBe(2)
      const [error, hint, ...rest] = String(r.stderr).trimEnd().split('\n')
      expect(error).toBe('Error: --lease: 31m is longer than 30 minutes')
      expect(hint).toBe(
        'Hint: control protocol v1 caps a lease at 30 minutes; the runner renews it every lease/3',
      )
      expect(rest).toEqual([])
      expect(r.stdout).toBe('')
    }
  })

  it('gameday and monkey take the same --categories "network pms"', async () => {
    const [gameday, monkey] = await Promise.all([
      chaos(['gameday', '--categories', 'network pms', '--dry-run', '--json']),
      // --fault-probability: the monkey's former spelling of --probability, still accepted.
      chaos([
        'monkey',
        '--categories',
        'network pms',
        '--dry-run',
        '--once',
        '--chance',
        '1',
        '--seed',
        '1',
        '--fault-probability',
        '30%',
      ]),
    ])
    expect(gameday.exitCode, gameday.stderr).toBe(0)
    const plan = JSON.parse(gameday.stdout) as Plan
    expect(plan.selection).toEqual(['network', 'pms'])
    expect(new Set(plan.experiments.map((e) => e.category))).toEqual(new Set(['network', 'pms']))
    expect(monkey.exitCode, monkey.stderr).toBe(0)
    const eligible = monkey.stdout
      .split('\n')
      .filter((line) => /^ {4}\w+ \(/.test(line))
      .map((line) => line.trim().split(' ')[0]!)
    expect(eligible.length).toBeGreaterThan(0)
    for (const id of eligible) expect(id).toMatch(/^(network|pms)_/)
    for (const id of plan.experiments.map((e) => e.id).filter((id) => eligible.includes(id)))
      expect(monkey.stdout).toContain(`${id} (`)
    expect(monkey.stdout).toMatch(/p=0\.3,/)
    expect(monkey.stderr).toContain('"--fault-probability" flag has been deprecated')
  })

  it('--no-builtin, --log-file and -q work on run as on gameday', async () => {
    const log = join(cwd, 'run.log')
    const r = await chaos([
      'run',
      'all',
      '--no-builtin',
      '--scenarios',
      join(ROOT, 'test', 'fixtures', 'user-scenarios'),
      '--dry-run',
      '-q',
      '--log-file',
      log,
    ])
    expect(r.exitCode, r.stderr).toBe(0)
    // -q keeps only the expected-time line; the log has exactly what was printed.
    expect(r.stdout.split('\n')).toHaveLength(1)
    expect((await readFile(log, 'utf8')).trimEnd()).toBe(r.stdout)
    const ids = (
      await chaos([
        'list',
        '--no-builtin',
        '--scenarios',
        join(ROOT, 'test', 'fixtures', 'user-scenarios'),
        '--json',
      ])
    ).stdout
    expect((JSON.parse(ids) as { count: number }).count).toBe(2)
  })

  it('chaos schedule --dry-run lists each schedule with its next runs and contacts nothing', async () => {
    const own = await tempCwd()
    // Nothing listens on port 9: a dry run that contacted the target would fail.
    await writeFile(
      join(own.dir, 'chaos.config.yaml'),
      'target: http://127.0.0.1:9\ntoken: t\nschedules:\n  - { scenario: network_latency, every: 2h }\n  - { category: pms, cron: "0 2 * * *" }\n',
    )
    const r = await runChaos(['schedule', '--dry-run', '--timezone', 'UTC', '--json'], { cwd: own.dir })
    await own.cleanup()
    expect(r.exitCode, r.stderr).toBe(0)
    const plan = JSON.parse(r.stdout) as {
      timezone: string
      schedules: Array<{ schedule: string; experiments: string[]; next_runs: string[] }>
    }
    expect(plan.timezone).toBe('UTC')
    expect(plan.schedules.map((s) => s.schedule)).toEqual([
      'network_latency every 2h',
      'pms cron "0 2 * * *"',
    ])
    expect(plan.schedules[0]!.experiments).toEqual(['network_latency'])
    expect(plan.schedules[1]!.experiments.every((id) => id.startsWith('pms_'))).toBe(true)
    for (const at of plan.schedules[1]!.next_runs) expect(at).toMatch(/T02:00:00\.000Z$/)
  })
})
