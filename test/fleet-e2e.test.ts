/**
 * Issue 13, the fleet through the compiled CLI: three `chaos sandbox` processes (one shared token)
 * given as static `--target`s. What each blast radius reaches is read back from every instance's
 * own agent (`GET /chaos/experiments` and the `chaos_agent_faults_injected_total` counter of its
 * `/metrics`), not taken from the runner's report; the report's per-instance lines are then checked
 * against those read-backs. The cases share the three sandboxes and run one after another (an agent
 * runs one experiment at a time).
 */
import { afterAll, beforeAll, describe, expect } from 'vitest'
import {
  faultCounter,
  injectedAs,
  interruptClusterInjection,
  lineFor,
  readBack,
  textLines,
  traffic,
} from './support/fleet.js'
import { ExitCode } from '../src/exit-codes.js'
import type { RunRecord } from '../src/record.js'
import { fixture, latestReport } from './run-helpers.js'
import {
  assertBuilt,
  chaos,
  controlClient,
  fast,
  runBudgetMs,
  runChaos,
  startExternalSandbox,
  startupBudgetMs,
  stopStragglers,
  tempCwd,
  test,
  type ControlClient,
  type ExternalSandbox,
} from './support/index.js'
import { hasScript } from './support/pty.js'

const TOKEN = 'fleet-e2e-token-0123456789'
const SCENARIO = 'e2e_latency_truth'
/** A route of the workload: through the wrapped `pms_adapter`, where the scenario's fault sits. */
const ROUTE = '/api/availability?check_in=2030-01-10&check_out=2030-01-12'

interface Instance extends ExternalSandbox {
  name: 'A' | 'B' | 'C'
  control: ControlClient
}

let instances: Instance[] = []
let home: { dir: string; cleanup: () => Promise<void> }

beforeAll(async () => {
  assertBuilt()
  home = await tempCwd()
  const started = await Promise.all([0, 1, 2].map(() => startExternalSandbox(home.dir, TOKEN)))
  instances = started.map((s, i) => ({
    ...s,
    name: (['A', 'B', 'C'] as const)[i]!,
    control: controlClient(s.url, TOKEN),
  }))
}, 3 * startupBudgetMs())

afterAll(async () => {
  await stopStragglers()
  await Promise.all(instances.map((s) => s.kill()))
  await home?.cleanup()
})

/** `--target A --target B --target C --token …`. */
const targets = () => [...instances.flatMap((s) => ['--target', s.url]), '--token', TOKEN]

const RUN = fast({ baseline: '1s', duration: '3s' })

describe('a fleet of three sandboxes through the CLI (static --target)', () => {
  test(
    'SINGLE_SERVICE reaches exactly one instance (read back from each), and the report says which (text and JSON)',
    async ({ workdir: cwd }) => {
      const args = ['run', fixture(SCENARIO), ...targets(), ...RUN, '--blast-radius', 'SINGLE_SERVICE']
      const result = await runChaos(args, { cwd })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(ExitCode.OK)
      const id = await injectedAs(cwd)

      const back = await Promise.all(instances.map((s) => readBack(s, id)))
      const started = back.flatMap((b, i) => (b.view ? [i] : []))
      expect(started, 'the experiment was started on exactly one agent').toHaveLength(1)
      const [one] = started as [number]
      expect(back[one]!.view!.faults_injected).toBeGreaterThan(0)
      expect(back[one]!.counter, "the agent's /metrics counts the same faults").toBe(
        back[one]!.view!.faults_injected,
      )
      for (const [i, b] of back.entries()) {
        expect(b.active, `${instances[i]!.name}: nothing left active`).toEqual([])
        if (i !== one) expect(b.counter, `${instances[i]!.name}: no fault injected`).toBe(0)
      }

      // The report: one entry and one text line per instance; only the one the agents name reached.
      const report: RunRecord = await latestReport(cwd)
      const fleet = report.experiments[0]!.instances!
      expect(fleet.map((i) => i.url)).toEqual(instances.map((s) => s.url))
      expect(fleet.map((i) => i.reached)).toEqual(instances.map((_, i) => i === one))
      for (const [i, s] of instances.entries()) {
        expect(lineFor(await textLines(cwd), s.url)).toMatch(i === one ? /fault started/ : /no fault/)
      }
      // Needs B1 (issue 13's per-instance fields): the agent's own count, the start outcome.
      expect(fleet[one]!.faults_injected).toBe(back[one]!.counter)
      for (const [i, f] of fleet.entries()) if (i !== one) expect([0, null]).toContain(f.faults_injected)
      expect(fleet.map((i) => i.start)).toEqual(instances.map((_, i) => (i === one ? 'STARTED' : 'NOT_SENT')))
    },
    runBudgetMs(RUN),
  )

  test(
    'SERVICE_CLUSTER reaches all three (read back from each), rolled back on each, one report line each',
    async ({ workdir: cwd }) => {
      const args = ['run', fixture(SCENARIO), ...targets(), ...RUN, '--blast-radius', 'SERVICE_CLUSTER']
      const result = await runChaos(args, { cwd })
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(ExitCode.OK)
      const id = await injectedAs(cwd)

      const back = await Promise.all(instances.map((s) => readBack(s, id)))
      for (const [i, b] of back.entries()) {
        const name = instances[i]!.name
        expect(b.view, `${name}: the experiment was started there`).toBeDefined()
        expect(b.view!.state, `${name}: ended`).not.toBe('RUNNING')
        expect(b.view!.end_reason, `${name}: ended by the runner's rollback`).toBe('stopped')
        expect(b.active, `${name}: nothing left active`).toEqual([])
        // The workload is spread over the three: each one's share met the fault.
        expect(b.view!.faults_injected, `${name}: faults injected`).toBeGreaterThan(0)
        expect(b.counter, `${name}: /metrics agrees with the agent`).toBe(b.view!.faults_injected)
      }

      const report = await latestReport(cwd)
      const [e] = report.experiments
      expect(e!.rollback.verified, e!.rollback.error ?? '').toBe(true)
      const fleet = e!.instances!
      expect(fleet.map((i) => [i.url, i.reached])).toEqual(instances.map((s) => [s.url, true]))
      for (const [i, s] of instances.entries()) {
        const line = lineFor(await textLines(cwd), s.url)
        expect(line).toMatch(/fault started/)
        expect(line).toContain(`${fleet[i]!.requests} requests`)
      }
      // Needs B1: per-instance faults (the agent's own count), start and rollback state.
      expect(fleet.map((i) => i.faults_injected)).toEqual(back.map((b) => b.view!.faults_injected))
      expect(fleet.map((i) => i.start)).toEqual(['STARTED', 'STARTED', 'STARTED'])
      expect(fleet.map((i) => i.rollback_verified)).toEqual([true, true, true])
    },
    runBudgetMs(RUN),
  )

  test(
    'one instance refusing the start (409) rolls back the others: exit 3, the refusal named, A and B stopped (read back)',
    async ({ workdir: cwd }) => {
      const [a, b, c] = instances as [Instance, Instance, Instance]
      // A 2 s baseline: the window between preflight (C still free) and the start on every instance.
      const run = fast({ baseline: '2s', duration: '3s' })
      const args = ['run', fixture(SCENARIO), ...targets(), ...run, '--blast-radius', 'SERVICE_CLUSTER']
      const cli = chaos(args, { cwd })
      await cli.waitFor(/preflight passed: 3 instances/)
      // Another experiment takes C after the preflight: C answers the runner's start with 409.
      const blocker = `fleet-blocker-${Date.now()}`
      await c.control.start(blocker, 'whatsapp_client', {
        fault_type: 'LATENCY',
        probability: 1,
        latency_ms: 1,
      })
      try {
        const result = await cli.child
        const shown = `${result.stdout}\n${result.stderr}`
        expect(result.exitCode, shown).toBe(ExitCode.SAFETY)
        const id = await injectedAs(cwd)

        const report = await latestReport(cwd)
        const [e] = report.experiments
        expect(e!.state, shown).toBe('ABORTED')
        expect(e!.abort_reason, 'the refusal names C and its answer').toContain(c.url)
        expect(e!.abort_reason).toContain('409')
        expect(e!.rollback.verified, e!.rollback.error ?? '').toBe(true)

        // A and B had taken the start; the runner rolled them back. C kept only its own experiment.
        for (const s of [a, b]) {
          const before = await readBack(s, id)
          expect(before.view, `${s.name}: the start had reached it`).toBeDefined()
          expect(before.view!.state, `${s.name}: rolled back`).not.toBe('RUNNING')
          expect(before.view!.end_reason, `${s.name}: ended by the runner's rollback`).toBe('stopped')
          expect(before.active, `${s.name}: nothing active`).toEqual([])
          // Its fault counter stops: fresh calls through the wrapped service meet no fault.
          await traffic(s.url, ROUTE, 10)
          expect(await faultCounter(s.url, id), `${s.name}: counter unchanged`).toBe(before.counter)
        }
        const onC = await readBack(c, id)
        expect(onC.view, 'C never took the runner experiment').toBeUndefined()
        expect(onC.active).toEqual([blocker])

        const fleet = e!.instances!
        expect(fleet.map((i) => i.url)).toEqual([a.url, b.url, c.url])
        expect(fleet[2]!.reached, 'C: not reached').toBe(false)
        // Needs B1: the all-or-nothing refusal message and per-instance start/rollback state.
        expect(e!.abort_reason).toMatch(/refused the start.*the 2 started were rolled back/)
        expect(fleet.map((i) => i.start)).toEqual(['STARTED', 'STARTED', 'REFUSED'])
        expect(fleet.slice(0, 2).map((i) => i.rollback_verified)).toEqual([true, true])
      } finally {
        await c.control.stop(blocker)
      }
      expect((await c.control.info()).active_experiments).toEqual([])
    },
    runBudgetMs(RUN) + 10_000,
  )

  test.skipIf(!hasScript)(
    'Ctrl-C during a SERVICE_CLUSTER injection (real pty) rolls back all three: exit 130, nothing active on any',
    async ({ workdir: cwd }) => {
      // A long injection: the key press lands in it; the run never reaches its end.
      const run = fast({ baseline: '1s', duration: '30s' })
      const args = ['run', fixture(SCENARIO), ...targets(), ...run, '--blast-radius', 'SERVICE_CLUSTER']
      const { report } = await interruptClusterInjection(args, cwd, instances)
      const [e] = report.experiments
      const fleet = e!.instances!
      expect(fleet.map((i) => i.rollback_verified)).toEqual([true, true, true])
    },
    runBudgetMs(fast({ duration: '30s' })),
  )
})
