/**
 * The brake in-process (issue 10, items 4 and 5): the real engine against the fake target on a
 * virtual clock. A frozen target (SIGSTOP) cannot hold the rollback beyond its budget, and each
 * retry is journaled with a readable reason; a start refused with 409 is a refusal (exit 3) that
 * never reaches the rollback, let alone its stop-all fallback.
 */
import { describe, expect, it } from 'vitest'
import { CONTROL_TIMEOUT_MS } from '../src/engine/control-client.js'
import type { ExperimentOptions } from '../src/engine/experiment.js'
import { ROLLBACK_BUDGET_MAX_MS, rollbackBudgetMs } from '../src/engine/phases/rollback.js'
import { verdict } from '../src/engine/suite.js'
import { ExitCode } from '../src/exit-codes.js'
import type { LogFields, Logger, LogLevel } from '../src/logger.js'
import { runOnFakeTarget } from './support/engine.js'
import type { FakeTargetKnobs } from './support/fake-target.js'
import type { VirtualClock } from './support/virtual-clock.js'

interface Entry {
  at: number
  level: LogLevel
  event: string
  fields: LogFields
}

async function run(knobs: Partial<FakeTargetKnobs>, options: Partial<ExperimentOptions> = {}) {
  const entries: Entry[] = []
  const events = (vc: VirtualClock): Logger => {
    const sink = (level: LogLevel, event: string, fields: LogFields = {}) =>
      entries.push({ at: vc.now(), level, event, fields })
    return {
      log: sink,
      debug: (e, f) => sink('debug', e, f),
      info: (e, f) => sink('info', e, f),
      warn: (e, f) => sink('warn', e, f),
      error: (e, f) => sink('error', e, f),
    }
  }
  let rollbackAt: number | null = null
  const { record, target, vc } = await runOnFakeTarget({
    knobs,
    options: { leaseSeconds: 15, ...options },
    events,
    onProgress: (p, _abort, _target, clock) => {
      if (p.phase === 'rollback') rollbackAt ??= clock.now()
    },
  })
  const at = (event: string) => entries.find((e) => e.event === event)?.at
  return { record, target, entries, rollbackAt, at, vc }
}

describe('a frozen target (SIGSTOP) cannot hold the rollback (issue 10, item 4)', () => {
  it('the budget is the lease, at most 15 s', () => {
    expect(rollbackBudgetMs(15)).toBe(15_000)
    expect(rollbackBudgetMs(6)).toBe(6_000)
    expect(rollbackBudgetMs(600)).toBe(ROLLBACK_BUDGET_MAX_MS)
  })

  it('frozen mid-injection: FAILED "did not answer within 5 s", each retry journaled, rollback gives up at the budget and names the lease', async () => {
    const { record, entries, rollbackAt, at } = await run({ frozenAfterMs: 3_000 })
    expect(record.state).toBe('FAILED')
    expect(record.abort_reason ?? record.error).toContain('did not answer within 5 s')
    expect(JSON.stringify(record)).not.toMatch(/unreachable: 23/)

    expect(rollbackAt).not.toBeNull()
    const exited = at('chaos_experiment_context_exited')!
    expect(exited - rollbackAt!, 'the whole rollback phase').toBeLessThanOrEqual(rollbackBudgetMs(15))
    expect(record.rollback.verified).toBe(false)
    expect(record.rollback.error).toContain('rollback gave up after its budget of 15 s')
    expect(record.rollback.error).toContain("the agent's lease (15 s) removes the fault")
    expect(record.rollback.error).toContain('did not answer within 5 s')

    const retries = entries.filter((e) => e.event === 'chaos_rollback_retry')
    expect(retries.length).toBeGreaterThan(0)
    expect(retries.map((r) => r.fields.attempt)).toEqual(retries.map((_, i) => i + 1))
    for (const r of retries) {
      expect(r.level).toBe('warn')
      expect(r.fields).toMatchObject({ method: 'DELETE', target: 'http://fake-target.test' })
      expect(r.fields.error).toBe(
        `http://fake-target.test did not answer within ${CONTROL_TIMEOUT_MS / 1000} s`,
      )
    }
    // Every attempt that failed is journaled; the last one was cut short by the budget (its reason).
    expect(retries.length).toBe(record.rollback.attempts - 1)
    expect(entries.some((e) => e.event === 'chaos_rollback_failed')).toBe(true)
    // No recovery phase after an unverified rollback, and the run ends soon after the budget.
    expect(record.metrics.recovery).toBeNull()
  })

  it('a shorter lease shortens the budget (6 s)', async () => {
    const { record, rollbackAt, at } = await run({ frozenAfterMs: 3_000 }, { leaseSeconds: 6 })
    expect(at('chaos_experiment_context_exited')! - rollbackAt!).toBeLessThanOrEqual(6_000)
    expect(record.rollback.error).toContain('budget of 6 s')
    expect(record.rollback.error).toContain('lease (6 s)')
  })

  it('a healthy target is rolled back at once, well inside the budget, with no retry', async () => {
    const { record, entries } = await run({})
    expect(record.rollback.verified).toBe(true)
    expect(record.rollback.attempts).toBe(1)
    expect(entries.some((e) => e.event === 'chaos_rollback_retry')).toBe(false)
  })
})

describe('a start refused with 409 (issue 10, item 5)', () => {
  it('is ABORTED (exit 3), names the target, and neither DELETE nor stop-all is sent', async () => {
    const { record, target } = await run({ startConflict: true })
    expect(record.state).toBe('ABORTED')
    expect(record.abort_reason).toContain('another experiment is running on http://fake-target.test (409)')
    expect(target.callsOf('start')).toHaveLength(1)
    expect(target.callsOf('stop')).toEqual([])
    expect(target.callsOf('stopAll')).toEqual([])
    expect(record.rollback.attempted).toBe(false)
    expect(record.injected_at).toBeNull()
    expect(verdict([record], false)).toEqual({ outcome: 'ABORTED', exitCode: ExitCode.SAFETY })
  })
})
