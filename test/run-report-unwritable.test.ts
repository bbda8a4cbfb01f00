/**
 * `executeRun` in-process against the real sandbox when its reports directory is replaced by a
 * file mid-run: the rollback still happens, the error names the failed write and carries the whole
 * record, and the run lock that can no longer be released is a warning, not the error shown.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../src/clock.js'
import { executeRun, ReportNotWrittenError, type RunInput } from '../src/engine/run-service.js'
import { ExitCode } from '../src/exit-codes.js'
import type { LogFields, LogLevel } from '../src/logger.js'
import { startSandbox, type Sandbox } from '../src/sandbox/index.js'
import { Scenario } from '../src/scenario/schema.js'
import { controlClient } from './support/index.js'

const TOKEN = 'unwritable-test-token-0123'

const scenario = Scenario.parse({
  id: 'network_latency',
  name: 'Network latency',
  category: 'network',
  target_service: 'pms_adapter',
  duration_seconds: 1,
  steady_state_hypothesis: 'slower but no errors',
  fault_config: { fault_type: 'LATENCY', probability: 0.5, latency_ms: 20, blast_radius: 'SINGLE_SERVICE' },
  checks: ['error_rate < 5% before', 'error_rate < 5% during'],
  workload: { requests: [{ path: '/api/availability?check_in={{today+3}}&check_out={{today+5}}' }] },
})

let sandbox: Sandbox
let root: string
beforeEach(async () => {
  sandbox = await startSandbox({ token: TOKEN, defaultMetrics: false, baseLatencyMs: 0 })
  root = await mkdtemp(join(tmpdir(), 'chaos-unwritable-'))
})
afterEach(async () => {
  await sandbox.close()
  await rm(root, { recursive: true, force: true })
})

function input(reportsDir: string): RunInput {
  return {
    scenarios: [scenario],
    selection: ['network_latency'],
    targets: [sandbox.url],
    token: TOKEN,
    sandbox: true,
    options: {
      baselineMs: 1000,
      pauseMs: 0,
      intervalMs: 500,
      recoveryTimeoutMs: 10_000,
      rate: 20,
      allowEntireSystem: false,
    },
    keepGoing: false,
    leaseSeconds: 30,
    reportsDir,
  }
}

describe('executeRun when the reports directory is replaced by a file mid-run', () => {
  it('rolls back, throws the write failure with the record, and only warns about the lock', async () => {
    const dir = join(root, 'reports')
    const warnings: Array<{ event: string; fields: LogFields }> = []
    const run = executeRun(input(dir), {
      clock: systemClock,
      signal: new AbortController().signal,
      pid: process.pid,
      isAlive: () => true,
      onEvent: (level: LogLevel, event, fields) => {
        if (level === 'warn') warnings.push({ event, fields })
      },
      // After the experiment (rolled back), before the reports: the folder becomes a file.
      onExperimentDone: async () => {
        await rename(dir, join(root, 'moved-away'))
        // An event still being journaled may recreate the folder in between: retry until a file stands there.
        for (let tries = 0; ; tries++) {
          try {
            await writeFile(dir, 'a file now\n', { flag: 'wx' })
            break
          } catch (err) {
            if (tries > 50) throw err
            await rm(dir, { recursive: true, force: true })
          }
        }
      },
    })
    const err = await run.then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ReportNotWrittenError)
    const failure = err as ReportNotWrittenError
    expect(failure.exitCode).toBe(ExitCode.RUNTIME)
    expect(failure.file).toBe(dir)
    expect(failure.message).toMatch(
      new RegExp(
        `^the run ended \\((PASSED|FAILED)\\) but its report was not written: ${dir}: it is a file, not a directory$`,
      ),
    )
    expect(failure.message).not.toContain('run.lock')
    // The whole record travels with the error, rollback verified.
    expect(failure.record.experiments[0]).toMatchObject({
      id: 'network_latency',
      state: 'COMPLETED',
      rollback: { verified: true },
    })
    expect(await controlClient(sandbox.url, TOKEN).info()).toMatchObject({ active_experiments: [] })
    // The lock could not be released (its folder is gone): a secondary warning naming it.
    expect(warnings).toContainEqual({
      event: 'chaos_lock_release_failed',
      fields: { lock: join(dir, 'run.lock'), error: expect.stringMatching(/^ENOTDIR/) as unknown },
    })
  })
})
