/**
 * The compiled CLI (bin/run.js runs dist/; `npm test` builds first) spawned the way a user runs it:
 * a clean environment, a temporary working directory, stdout readable line by line while it runs,
 * and time budgets derived from the run's own flags instead of fixed constants.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { parseDurationMs } from '../../src/duration.js'
import { sandboxStartTimeoutMs, SANDBOX_START_TIMEOUT_ENV } from '../../src/cli/sandbox-process.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = join(ROOT, 'bin', 'run.js')

/**
 * A minimal environment: no NODE_ENV=test (vitest's) or CHAOS_* from the caller, no colour. The
 * runner's child sandbox refuses NODE_ENV=production, and the runner must not pick up a target.
 * Only the sandbox start-up deadline passes through, so a slow machine can raise it for the suite.
 */
export const ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? tmpdir(),
  NO_COLOR: '1',
  ...(process.env[SANDBOX_START_TIMEOUT_ENV] && {
    [SANDBOX_START_TIMEOUT_ENV]: process.env[SANDBOX_START_TIMEOUT_ENV],
  }),
}

/** A fresh working directory, so reports and the run lock never collide. */
export async function tempCwd(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-test-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** Fails early, with the fix, when the compiled CLI is missing (these tests run dist/, not src/). */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'commands', 'run.js'))) {
    throw new Error('dist/ is missing: build first with `npm run build` (npm test does)')
  }
}

type RunTiming = 'baseline' | 'duration' | 'interval' | 'recovery-timeout' | 'pause' | 'rate'

/** Short timings for every run; pass overrides such as `{ duration: '60s' }` or `{ baseline: '2s' }`. */
export function fast(overrides: Partial<Record<RunTiming, string>> = {}): string[] {
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
 * How long a server process may take to become ready: the deadline the runner gives its own sandbox
 * (`CHAOS_SANDBOX_START_TIMEOUT`, default 60 s), a node or Prometheus start-up on a loaded machine.
 */
export function startupBudgetMs(): number {
  return sandboxStartTimeoutMs()
}

/** What an experiment costs beyond its configured phases: preflight, rollback, reports (CPU-bound). */
const EXPERIMENT_OVERHEAD_MS = 15_000
/** The runner's defaults for flags a run leaves out (see src/cli/run-flags.ts). */
const RUN_DEFAULTS: Record<string, string> = {
  baseline: '10s',
  duration: '60s',
  'recovery-timeout': '2m',
  pause: '30s',
}

/**
 * The longest a CLI invocation with `args` may take: the sandbox start-up deadline (the runner's own,
 * {@link sandboxStartTimeoutMs}) plus, per experiment, the baseline, duration, recovery timeout and
 * pause its flags configure and a generous overhead. Derived, so a longer run gets a longer budget.
 */
export function runBudgetMs(args: readonly string[], experiments = 1): number {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`)
    const given = i >= 0 && args[i + 1] !== undefined ? parseDurationMs(args[i + 1]!) : undefined
    // A value the CLI will refuse (the bad-input tests) budgets like the default.
    return given !== undefined && Number.isFinite(given) ? given : parseDurationMs(RUN_DEFAULTS[name]!)!
  }
  const phases = ['baseline', 'duration', 'recovery-timeout', 'pause'].reduce((a, n) => a + flag(n), 0)
  return startupBudgetMs() + experiments * (phases + EXPERIMENT_OVERHEAD_MS)
}

function spawnCli(args: readonly string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}) {
  const child = execa(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...ENV, ...env },
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

const running = new Set<{ kill(signal?: NodeJS.Signals): boolean }>()

/**
 * Stops what a failed test left running: SIGTERM first (a runner then rolls back and stops the
 * sandbox it started; SIGKILL would orphan that sandbox), SIGKILL after `graceMs`.
 */
export async function stopStragglers(graceMs = 10_000): Promise<void> {
  for (const child of running) child.kill('SIGTERM')
  const deadline = performance.now() + graceMs
  while (running.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  for (const child of running) child.kill('SIGKILL')
}

/** A running CLI process whose stdout can be awaited line by line while it runs. */
export interface Cli {
  child: ReturnType<typeof spawnCli>
  /** Everything printed on stdout so far. */
  stdout(): string
  /**
   * Resolves with the first complete stdout line matching `pattern`; rejects when the process ends
   * without printing it (readiness, not a guess). `timeoutMs`, if given, is an extra hang guard.
   */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
}

/** Where and how long a CLI process runs; `env` is added to {@link ENV}. */
export interface CliOptions {
  cwd: string
  timeoutMs?: number
  env?: Record<string, string>
}

/**
 * Spawns `node bin/run.js ...args` in `cwd`. The process is stopped after `timeoutMs` (default: the
 * {@link runBudgetMs} of its own flags) so that nothing can hang the suite.
 */
export function chaos(args: readonly string[], options: CliOptions): Cli {
  const child = spawnCli(args, options.cwd, options.timeoutMs ?? runBudgetMs(args), options.env)
  let seen = ''
  const listeners = new Set<() => void>()
  child.stdout.on('data', (chunk: Buffer) => {
    seen += chunk.toString('utf8')
    for (const listener of listeners) listener()
  })
  return {
    child,
    stdout: () => seen,
    waitFor(pattern, timeoutMs) {
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
        const timer =
          timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                done()
                reject(
                  new Error(`no stdout line matching ${String(pattern)} within ${timeoutMs} ms:\n${seen}`),
                )
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

/** Runs the CLI to completion (stopped after `timeoutMs`, default its {@link runBudgetMs}). */
export async function runChaos(args: readonly string[], options: CliOptions) {
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

/** Starts `chaos sandbox` in `cwd` and resolves when it prints its listening line. */
export async function startExternalSandbox(
  cwd: string,
  token = 'e2e-token-0123456789',
): Promise<ExternalSandbox> {
  // Runs until killed; the process timeout only stops one a crashed test forgot.
  const cli = chaos(['sandbox', '--port', '0', '--token', token], { cwd, timeoutMs: 600_000 })
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
