/**
 * `chaos schedule` end to end through the compiled CLI (bin/run.js; build first), one temporary
 * working directory with its own chaos.config.yaml per test: the crontab rendering, config errors
 * at file:line:col, and two schedules run one at a time against the built-in sandbox.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { RunRecord } from '../src/record.js'
import { REPORTS } from './run-helpers.js'
import { BIN, chaos, runBudgetMs, runChaos, tempCwd } from './support/index.js'

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()))
})
async function project(config: string): Promise<string> {
  const { dir, cleanup } = await tempCwd()
  cleanups.push(cleanup)
  await writeFile(join(dir, 'chaos.config.yaml'), config)
  return dir
}

describe.concurrent('chaos schedule (compiled CLI)', () => {
  it('--print-crontab prints chaos run lines for the schedules and a weekly gameday', async () => {
    const cwd = await project(`schedules:
  - { scenario: network_latency, every: 2h }
  - { category: pms, cron: "0 2 * * *" }
`)
    const result = await runChaos(
      ['schedule', '--print-crontab', '--timezone', 'Europe/Madrid', '--duration', '20s'],
      {
        cwd,
      },
    )
    expect(result.exitCode, String(result.stderr)).toBe(0)
    const lines = result.stdout.split('\n')
    const run = (sel: string) =>
      `cd ${cwd} && ${process.execPath} ${BIN} run ${sel} --duration 20s --quiet >> ${join(cwd, REPORTS, 'schedule.log')} 2>&1`
    expect(lines).toContain(`0 */2 * * * ${run('network_latency')}`)
    expect(lines).toContain('CRON_TZ=Europe/Madrid')
    expect(lines).toContain(`0 2 * * * ${run('pms')}`)
    expect(lines).toContain(
      `0 10 * * 5 cd ${cwd} && ${process.execPath} ${BIN} gameday --log-file ${join(cwd, REPORTS, 'gameday.log')}`,
    )
    expect(result.stdout).not.toContain('token')
  })

  it('a bad schedule is a config error at file:line:col (exit 2)', async () => {
    const cwd = await project(`schedules:
  - scenario: network_latency
    cron: "0 2 * *"
`)
    const result = await runChaos(['schedule'], { cwd })
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain(
      'chaos.config.yaml:3:11 schedules[0].cron: "0 2 * *" has 4 fields; a cron pattern has 5: minute hour day-of-month month day-of-week',
    )
    expect(result.stderr).toContain('Error: 1 problem in config file chaos.config.yaml')
  })

  it('an unknown scenario or no schedules at all fail before anything starts (exit 2)', async () => {
    const unknown = await runChaos(['schedule'], {
      cwd: await project('schedules: [{ scenario: network_latncy, every: 1h }]\n'),
    })
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toMatch(/network_latncy/)
    expect(unknown.stdout).toBe('')
    const none = await runChaos(['schedule'], { cwd: await project('run: { rate: 5 }\n') })
    expect(none.exitCode).toBe(2)
    expect(none.stderr).toMatch(/^Error: no schedules: in .*chaos\.config\.yaml/)
  })

  it('--print-crontab with no schedules prints nothing on stdout (a "| crontab -" would empty the crontab) and exits 2', async () => {
    const cwd = await project('run: { rate: 5 }\n')
    const text = await runChaos(['schedule', '--print-crontab'], { cwd })
    expect(text.exitCode).toBe(2)
    expect(text.stdout).toBe('')
    expect(text.stderr).toMatch(/^Error: no schedules: in .*chaos\.config\.yaml/)
    const json = await runChaos(['schedule', '--print-crontab', '--json'], { cwd })
    expect(json.exitCode).toBe(2)
    expect(json.stderr).toBe('')
    const error = JSON.parse(json.stdout) as { error: string; exit_code: number }
    expect(error.error).toMatch(/^no schedules:/)
    expect(error.exit_code).toBe(2)
  })

  // Two runs, each with the phases these flags configure (runBudgetMs), one after the other.
  const twoRuns = [
    'schedule',
    ...['--max-runs', '2', '--metrics-port', '0', '--duration', '2s', '--baseline', '1s'],
    ...['--recovery-timeout', '3s', '--pause', '0s', '--interval', '500ms'],
  ]
  it(
    'runs two schedules one at a time through the engine, with /metrics',
    async () => {
      const cwd = await project(`schedules:
  - { scenario: network_latency, every: 1s }
  - { scenario: pms_slow_response, every: 1s }
`)
      const schedule = chaos(twoRuns, { cwd, timeoutMs: runBudgetMs(twoRuns, 2) })
      const metricsUrl = (await schedule.waitFor(/^metrics: (http\S+)$/))[1]!
      await schedule.waitFor(/network_latency every 1s: running$/)
      const text = await (await fetch(metricsUrl)).text()
      expect(text).toContain('chaos_schedule_runs_started_total{schedule="network_latency every 1s"} 1')
      expect(text).toContain('chaos_schedule_active_experiment{experiment="network_latency"} 1')

      const result = await schedule.child
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0)
      // pms_slow_response came due while network_latency ran: it waited, then ran.
      expect(result.stdout).toMatch(
        /pms_slow_response every 1s: running \(\d+s late: waited for the previous run\)/,
      )
      expect(result.stdout).toContain('schedule session: 2 runs, stopped by MAX_RUNS')
      const names = (await readdir(join(cwd, REPORTS)))
        .filter((n) => /^\d{8}T\d{6}Z-.+\.json$/.test(n))
        .sort()
      const records = await Promise.all(
        names.map(async (n) => RunRecord.parse(JSON.parse(await readFile(join(cwd, REPORTS, n), 'utf8')))),
      )
      expect(records.map((r) => r.selection[0])).toEqual(['network_latency', 'pms_slow_response'])
      expect(Date.parse(records[1]!.started_at)).toBeGreaterThanOrEqual(Date.parse(records[0]!.finished_at))
      for (const r of records) expect(r.experiments[0]!.rollback.verified).toBe(true)
    },
    runBudgetMs(twoRuns, 2),
  )
})
