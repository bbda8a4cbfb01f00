/**
 * Helpers for the `chaos run` end-to-end tests: the compiled CLI (bin/run.js) spawned with execa in
 * a temporary working directory, the built-in sandbox as an external target, reading the reports a
 * run leaves in `<cwd>/.playbook/chaos_reports`, and the sandbox's control and metrics endpoints.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { expect } from 'vitest'
import { RunRecord, type PhaseMetrics } from '../src/record.js'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BIN = join(ROOT, 'bin', 'run.js')
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'run')

/** A fixture scenario by file name (without .yaml), as an absolute path. */
export function fixture(name: string): string {
  return join(FIXTURES, `${name}.yaml`)
}

/** Short timings for every run; pass overrides such as `{ duration: '60s' }` or `{ baseline: '2s' }`. */
export function fast(
  overrides: Partial<
    Record<'baseline' | 'duration' | 'interval' | 'recovery-timeout' | 'pause' | 'rate', string>
  > = {},
): string[] {
  const flags = {
    baseline: '1s',
    duration: '3s',
    interval: '500ms',
    'recovery-timeout': '5s',
    pause: '0s',
    rate: '20',
    ...overrides,
  }
  return Object.entries(flags).flatMap(([name, value]) => [`--${name}`, value])
}

/**
 * A minimal environment: no NODE_ENV=test (vitest's) or CHAOS_* from the caller, no colour. The
 * runner's child sandbox refuses NODE_ENV=production, and the runner must not pick up a target.
 */
export const ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? tmpdir(),
  NO_COLOR: '1',
}

/** A fresh working directory per test, so reports and the run lock never collide. */
export async function tempCwd(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-run-e2e-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

function spawnCli(args: string[], cwd: string, timeoutMs: number) {
  const child = execa(process.execPath, [BIN, ...args], {
    cwd,
    env: ENV,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    // A runner stopped by SIGTERM rolls back and stops the sandbox it started; SIGKILL follows if it hangs.
    timeout: timeoutMs,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: 10_000,
  })
  running.add(child)
  void child.finally(() => running.delete(child))
  return child
}

const running = new Set<{ kill(signal?: NodeJS.Signals): boolean; exitCode: number | null }>()

/**
 * Stops what a failed test left running: SIGTERM first (a runner then rolls back and stops the
 * sandbox it started; SIGKILL would orphan that sandbox), SIGKILL after `graceMs`.
 */
export async function stopStragglers(graceMs = 10_000): Promise<void> {
  const left = [...running]
  for (const child of left) child.kill('SIGTERM')
  const deadline = Date.now() + graceMs
  while (running.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  for (const child of running) child.kill('SIGKILL')
}

/** Fails early, with the fix, when the compiled CLI is missing (these tests run dist/, not src/). */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'commands', 'run.js'))) {
    throw new Error('dist/ is missing: build first with `npx tsc -p tsconfig.build.json` (npm test does)')
  }
}

/** A running CLI process whose stdout can be awaited line by line while it runs. */
export interface Cli {
  child: ReturnType<typeof spawnCli>
  /** Everything printed on stdout so far. */
  stdout(): string
  /** Resolves with the first stdout line matching `pattern`; rejects if the process ends first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
}

/** Spawns `node bin/run.js ...args` in `cwd`. `timeoutMs` stops it (see spawnCli) so nothing can hang. */
export function chaos(args: string[], options: { cwd: string; timeoutMs?: number }): Cli {
  const child = spawnCli(args, options.cwd, options.timeoutMs ?? 60_000)
  let seen = ''
  const listeners = new Set<() => void>()
  child.stdout.on('data', (chunk: Buffer) => {
    seen += chunk.toString('utf8')
    for (const listener of listeners) listener()
  })
  return {
    child,
    stdout: () => seen,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        // Complete lines only: a chunk may end mid-line (e.g. mid-URL).
        const check = (ended = false) => {
          for (const line of (ended ? seen + '\n' : seen).split('\n').slice(0, -1)) {
            const m = pattern.exec(line)
            if (m) {
              done()
              resolve(m)
              return
            }
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`no stdout line matching ${String(pattern)} within ${timeoutMs} ms:\n${seen}`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          listeners.delete(check)
        }
        listeners.add(check)
        void child.then((result) => {
          check(true)
          if (listeners.has(check)) {
            done()
            reject(
              new Error(
                `process exited (${String(result.exitCode ?? result.signal)}) before printing ${String(pattern)}:\n${seen}\n${String(result.stderr)}`,
              ),
            )
          }
        })
        check()
      })
    },
  }
}

/**
 * Runs at most `n` functions at once. Each e2e case starts two node processes (runner and sandbox)
 * whose start-up is CPU-bound; a 2-core machine starting ten at once slows every one of them down.
 */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: Array<() => void> = []
  return async (fn) => {
    while (active >= n) await new Promise<void>((resolve) => waiting.push(resolve))
    active++
    try {
      return await fn()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}

/** Runs the CLI to completion. */
export async function runChaos(args: string[], options: { cwd: string; timeoutMs?: number }) {
  return await chaos(args, options).child
}

/** `chaos sandbox` started by the test itself: an external target with a known token. */
export interface ExternalSandbox {
  url: string
  token: string
  cli: Cli
  /** SIGKILL, then wait for the process to be gone. */
  kill(): Promise<void>
}

export async function startExternalSandbox(cwd: string, token = 'e2e-token'): Promise<ExternalSandbox> {
  const cli = chaos(['sandbox', '--port', '0', '--token', token], { cwd, timeoutMs: 120_000 })
  const url = (await cli.waitFor(/^sandbox listening on (http:\/\/\S+)$/))[1]!
  return {
    url,
    token,
    cli,
    async kill() {
      cli.child.kill('SIGKILL')
      await cli.child
    },
  }
}

export const REPORTS = join('.playbook', 'chaos_reports')

/** `latest.json` of the working directory, validated against the report schema. */
export async function latestReport(cwd: string): Promise<RunRecord> {
  const text = await readFile(join(cwd, REPORTS, 'latest.json'), 'utf8')
  const parsed = RunRecord.safeParse(JSON.parse(text))
  expect(parsed.success, parsed.error?.message).toBe(true)
  return parsed.data!
}

export interface EventLine {
  event: string
  [field: string]: unknown
}

/** The lines of `events.jsonl` (empty when the file does not exist). */
export async function readEvents(cwd: string): Promise<EventLine[]> {
  let text: string
  try {
    text = await readFile(join(cwd, REPORTS, 'events.jsonl'), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as EventLine)
}

/** Every phase's request accounting adds up. */
export function expectCountsAddUp(phase: string, metrics: PhaseMetrics | null): void {
  expect(metrics, `${phase} metrics`).not.toBeNull()
  const m = metrics!
  expect(m.successful_requests + m.failed_requests, `${phase}: successful + failed = total`).toBe(
    m.total_requests,
  )
  expect(m.total_requests, `${phase}: requests were measured`).toBeGreaterThan(0)
  const byClass = Object.values(m.failures_by_class).reduce((a, b) => a + b, 0)
  expect(byClass, `${phase}: failures by class add up to failed`).toBe(m.failed_requests)
  if (m.total_requests > 0) {
    expect(m.error_rate).toBeCloseTo(m.failed_requests / m.total_requests, 5)
    expect(m.availability).toBeCloseTo(m.successful_requests / m.total_requests, 5)
  }
}

interface ExperimentJson {
  id: string
  state: string
  lease_expires_at: string
  ended_at?: string | null
  end_reason?: string
}

interface AgentInfoJson {
  active_experiments: ExperimentJson[]
}

/** `GET /chaos` with the Bearer token. */
export async function agentInfo(url: string, token: string): Promise<AgentInfoJson> {
  const res = await fetch(`${url}/chaos`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
  return (await res.json()) as AgentInfoJson
}

/** `GET /chaos/experiments/:id` with the Bearer token. */
export async function agentExperiment(url: string, token: string, id: string): Promise<ExperimentJson> {
  const res = await fetch(`${url}/chaos/experiments/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { experiment: ExperimentJson }).experiment
}

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; everyMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline)
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`)
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 100))
  }
}

/**
 * `http_requests_total` of the sandbox summed by route label (over every status). Parsed with a
 * plain regular expression on purpose, independent of the runner's own exposition parser.
 */
export async function requestsByRoute(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`)
  expect(res.status).toBe(200)
  const text = await res.text()
  const byRoute = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^http_requests_total\{([^}]*)\}\s+(\S+)/.exec(line)
    if (!m) continue
    const route = /(?:^|,)route="([^"]*)"/.exec(m[1]!)?.[1]
    if (route === undefined) continue
    byRoute.set(route, (byRoute.get(route) ?? 0) + Number(m[2]))
  }
  return byRoute
}

/** Sum of the API routes' counters (the runner's workload), leaving out /metrics and /health. */
export function apiRequests(byRoute: Map<string, number>): number {
  let total = 0
  for (const [route, n] of byRoute) if (route.startsWith('/api/')) total += n
  return total
}
