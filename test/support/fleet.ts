/**
 * Read-backs shared by the fleet tests (test/fleet-e2e.test.ts, test/fleet-discovery-e2e.test.ts):
 * what each instance's own agent says about an experiment, and the report's per-instance lines.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { ExitCode } from '../../src/exit-codes.js'
import type { RunRecord } from '../../src/record.js'
import { latestReport, readEvents, REPORTS } from '../run-helpers.js'
import type { ControlClient } from './control.js'
import { request } from './control.js'
import { pollUntil } from './poll.js'
import { inPty } from './pty.js'

/** An instance as the fleet tests read it back: its base URL and a control client for it. */
export interface ReadableInstance {
  url: string
  control: ControlClient
}

/** The id the runner gave the experiment on the agents (`<scenario>.<run id>`), from its events. */
export async function injectedAs(cwd: string): Promise<string> {
  const event = (await readEvents(cwd)).find((e) => typeof e.injected_as === 'string')
  expect(event, 'an event names the experiment id sent to the agents').toBeDefined()
  return event!.injected_as as string
}

/** `chaos_agent_faults_injected_total` of one experiment on one instance (0 when absent). */
export async function faultCounter(url: string, experiment: string): Promise<number> {
  const res = await fetch(`${url}/metrics`)
  expect(res.status).toBe(200)
  let total = 0
  for (const line of (await res.text()).split('\n')) {
    const m = /^chaos_agent_faults_injected_total\{([^}]*)\}\s+(\S+)/.exec(line)
    if (m && m[1]!.includes(`experiment="${experiment}"`)) total += Number(m[2])
  }
  return total
}

/** What one instance's agent says about experiment `id`: its view (undefined: never started there). */
export async function readBack(instance: ReadableInstance, id: string) {
  const view = (await instance.control.list()).find((e) => e.id === id)
  return {
    view,
    active: (await instance.control.info()).active_experiments.map((e) => e.id),
    counter: await faultCounter(instance.url, id),
  }
}

/** The text report's lines (`latest.txt`). */
export async function textLines(cwd: string): Promise<string[]> {
  return (await readFile(join(cwd, REPORTS, 'latest.txt'), 'utf8')).split('\n')
}

/** The text report's line for one instance (`  - <url>: …`), exactly one. */
export function lineFor(lines: string[], url: string): string {
  const found = lines.filter((l) => l.startsWith(`  - ${url}:`))
  expect(found, `one text line for ${url}:\n${lines.join('\n')}`).toHaveLength(1)
  return found[0]!
}

/** Sends `n` untagged requests to `route` straight to an instance, each answered (any status). */
export async function traffic(url: string, route: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await request(url, 'GET', route)
}

/**
 * Ctrl-C in a real pty during a cluster-wide injection (`args` must make the injection long): waits
 * until the experiment is active on every instance (read back, not assumed), presses Ctrl-C, and
 * checks what every fleet test expects of it: exit 130, nothing active on any instance, each one
 * rolled back by the runner, the report INTERRUPTED with its rollback verified. Returns the
 * experiment id and the report for the caller's own checks.
 */
export async function interruptClusterInjection(
  args: readonly string[],
  cwd: string,
  instances: ReadonlyArray<ReadableInstance & { name: string }>,
): Promise<{ id: string; report: RunRecord }> {
  const pty = inPty(args, cwd)
  await pty.waitFor(/\] injecting · /)
  const live = await pollUntil(
    async () => {
      const active = await Promise.all(
        instances.map(async (s) => (await s.control.info()).active_experiments),
      )
      return active.every((a) => a.length === 1) && active.map((a) => a[0]!.id)
    },
    { what: `the experiment active on all ${instances.length} instances` },
  )
  expect(new Set(live).size, 'one experiment id on every instance').toBe(1)
  pty.ctrlC()
  const result = await pty.child
  expect(result.exitCode, `${pty.output()}\n${String(result.stderr)}`).toBe(ExitCode.INTERRUPTED)
  for (const s of instances) {
    const back = await readBack(s, live[0]!)
    expect(back.active, `${s.name}: nothing active after Ctrl-C`).toEqual([])
    expect(back.view!.end_reason, `${s.name}: rolled back by the runner`).toBe('stopped')
  }
  const report = await latestReport(cwd)
  expect(report.outcome).toBe('INTERRUPTED')
  const [e] = report.experiments
  expect(e!.rollback.verified, e!.rollback.error ?? '').toBe(true)
  return { id: live[0]!, report }
}
