/**
 * Production only on purpose, through the compiled CLI: every command that injects refuses a target
 * whose agent reports environment production (exit 3, nothing injected) unless `--allow-production`.
 * The target is the real sandbox in this process, labelled production (SandboxOptions.environment).
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect } from 'vitest'
import { fast, runChaos, test } from './support/index.js'
import { latestReport } from './run-helpers.js'

const TOKEN = 'production-e2e-token-0123'

describe('a target that reports environment production', () => {
  test('chaos run refuses it (exit 3, nothing injected); with --allow-production it runs', async ({
    workdir: cwd,
    openSandbox,
  }) => {
    // "Production" as an agent may spell it: the runner reads it as production.
    const sandbox = await openSandbox({ token: TOKEN, environment: 'Production', env: {} })
    const target = ['--target', sandbox.url, '--token', TOKEN]

    const refused = await runChaos(['run', 'network_latency', ...target, ...fast()], { cwd })
    expect(refused.exitCode, `${refused.stdout}\n${refused.stderr}`).toBe(3)
    expect(refused.stdout).toContain(
      `preflight: ${sandbox.url} reports environment "production"; nothing was injected (pass --allow-production`,
    )
    const record = await latestReport(cwd)
    expect(record.outcome).toBe('ABORTED')
    expect(record.target.environment).toEqual(['production'])
    expect(record.experiments[0]).toMatchObject({ state: 'ABORTED', injected_at: null })
    expect(await sandbox.control.list()).toEqual([])

    const allowed = await runChaos(['run', 'network_latency', ...target, ...fast(), '--allow-production'], {
      cwd,
    })
    expect([0, 1, 5], `${allowed.stdout}\n${allowed.stderr}`).toContain(allowed.exitCode)
    expect(allowed.stdout).toMatch(/^\d\d:\d\d:\d\d preflight passed: 1 instance, environment production$/m)
    const ran = await latestReport(cwd)
    expect(ran.experiments[0]).toMatchObject({ state: 'COMPLETED', rollback: { verified: true } })
    expect(ran.experiments[0]!.injected_at).not.toBeNull()
    expect(ran.target.environment).toEqual(['production'])
  })

  test('gameday and schedule refuse it too (exit 3) before injecting', async ({
    workdir: cwd,
    openSandbox,
  }) => {
    const sandbox = await openSandbox({ token: TOKEN, environment: 'prod', env: {} })
    const target = ['--target', sandbox.url, '--token', TOKEN]

    const gameday = await runChaos(['gameday', '--categories', 'network', ...target, ...fast()], { cwd })
    expect(gameday.exitCode, `${gameday.stdout}\n${gameday.stderr}`).toBe(3)
    expect(gameday.stdout).toContain(`${sandbox.url} reports environment "production"`)

    await writeFile(
      join(cwd, 'chaos.config.yaml'),
      'schedules:\n  - { scenario: network_latency, every: 1s }\n',
    )
    const schedule = await runChaos(['schedule', '--max-runs', '1', ...target, ...fast()], { cwd })
    expect(schedule.exitCode, `${schedule.stdout}\n${schedule.stderr}`).toBe(3)
    expect(schedule.stderr).toContain(
      `Error: ${sandbox.url} reports environment "production": chaos schedule runs only in non-production environments`,
    )
    expect(schedule.stderr).toMatch(/Hint: .*--allow-production/)
    expect(await sandbox.control.list()).toEqual([])
  })
})
