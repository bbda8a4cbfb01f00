/**
 * `CHAOS_TARGET` through the compiled CLI: one URL, or a comma- and/or space-separated list, is the
 * target of every command that takes one (status, stop, agent check, run, gameday, monkey,
 * schedule), and `--target` wins over it. It was once read by oclif as a `multiple` flag's env
 * value and split into characters ("h" is not an http(s) URL).
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect } from 'vitest'
import { fast, runChaos, test } from './support/index.js'
import { latestReport } from './run-helpers.js'

const TOKEN = 'env-target-e2e-token-0123'

interface Status {
  instances: Array<{ target: string; reachable: boolean }>
}

describe('CHAOS_TARGET', () => {
  test('status, stop and agent check read one URL or a comma/space list; --target wins', async ({
    workdir: cwd,
    openSandbox,
  }) => {
    const [a, b] = [await openSandbox({ token: TOKEN }), await openSandbox({ token: TOKEN })]
    const env = (target: string) => ({ env: { CHAOS_TARGET: target, CHAOS_TOKEN: TOKEN }, cwd })
    const status = async (target: string, args: string[] = []) => {
      const result = await runChaos(['status', '--json', ...args], env(target))
      expect(result.exitCode, `${target}: ${result.stdout}\n${result.stderr}`).toBe(0)
      return (JSON.parse(result.stdout) as Status).instances.map((i) => [i.target, i.reachable])
    }

    expect(await status(a.url)).toEqual([[a.url, true]])
    for (const list of [`${a.url},${b.url}`, ` ${a.url} , ${b.url} `, `${a.url} ${b.url}`]) {
      expect(await status(list)).toEqual([
        [a.url, true],
        [b.url, true],
      ])
    }
    expect(await status(a.url, ['--target', b.url])).toEqual([[b.url, true]])

    await b.control.start('stuck', 'pms_adapter', { fault_type: 'LATENCY', probability: 1, latency_ms: 5 })
    const stop = await runChaos(['stop', '--all'], env(`${a.url} ${b.url}`))
    expect(stop.exitCode, `${stop.stdout}\n${stop.stderr}`).toBe(0)
    expect((await b.control.get('stuck')).state).toBe('COMPLETED')

    const check = await runChaos(['agent', 'check'], env(a.url))
    expect(check.exitCode, `${check.stdout}\n${check.stderr}`).toBe(0)

    const bad = await runChaos(['status'], env('localhost:8080'))
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toContain('Error: CHAOS_TARGET: "localhost:8080" is not an http(s) URL')
  })

  test('run, gameday, monkey and schedule use it as their target', async ({ workdir: cwd, openSandbox }) => {
    const [a, b] = [await openSandbox({ token: TOKEN }), await openSandbox({ token: TOKEN })]
    const env = { CHAOS_TARGET: `${a.url}, ${b.url}`, CHAOS_TOKEN: TOKEN }

    const run = await runChaos(['run', 'network_latency', ...fast()], { cwd, env })
    expect(run.stdout).not.toContain('built-in sandbox')
    expect((await latestReport(cwd)).target).toMatchObject({ urls: [a.url, b.url], sandbox: false })
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).not.toBe(2)

    const monkey = await runChaos(['monkey', '--dry-run', '--once', '--chance', '1'], { cwd, env })
    expect(monkey.exitCode, `${monkey.stdout}\n${monkey.stderr}`).toBe(0)
    expect(monkey.stdout).toContain(`target:             ${a.url}, ${b.url}`)

    // An experiment already running on the second instance: each command's preflight must find it
    // there (exit 3), which only happens if it went to CHAOS_TARGET's instances.
    await b.control.start('busy', 'whatsapp_client', { fault_type: 'LATENCY', probability: 1, latency_ms: 5 })
    const busy = `experiment busy already running on ${b.url}`

    const gameday = await runChaos(['gameday', '--categories', 'network', ...fast()], { cwd, env })
    expect(gameday.exitCode, `${gameday.stdout}\n${gameday.stderr}`).toBe(3)
    expect(gameday.stdout).toContain(busy)

    await writeFile(
      join(cwd, 'chaos.config.yaml'),
      'schedules:\n  - { scenario: network_latency, every: 1s }\n',
    )
    const schedule = await runChaos(['schedule', '--max-runs', '1', ...fast()], { cwd, env })
    expect(schedule.stdout, schedule.stderr).toContain(`target:      ${a.url}, ${b.url}`)
    expect(schedule.stdout).toContain(busy)
  })
})
