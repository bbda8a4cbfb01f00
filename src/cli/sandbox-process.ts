/**
 * The default target: when no target is configured, `chaos run` starts the built-in sandbox as a
 * child process (`chaos sandbox`) on a free loopback port with a random token, and stops it after.
 */
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { execa, type ResultPromise } from 'execa'
import { parseDurationMs } from '../duration.js'
import { ChaosError, InvalidInputError, RuntimeFailure } from '../errors.js'
import { ExitCode } from '../exit-codes.js'

export interface SandboxProcess {
  url: string
  token: string
  pid: number | undefined
  stop(): Promise<void>
}

const LISTENING = /^sandbox listening on (http:\/\/\S+)/m

/**
 * How long the sandbox may take to print its listening line. Readiness is the line itself: a child
 * that exits fails at once, so this deadline only catches a child that hangs. It is generous because
 * a node start-up on a loaded machine takes seconds, not milliseconds.
 */
export const DEFAULT_SANDBOX_START_TIMEOUT_MS = 60_000

/** Environment variable overriding {@link DEFAULT_SANDBOX_START_TIMEOUT_MS} (`90s`, `2m`, or seconds). */
export const SANDBOX_START_TIMEOUT_ENV = 'CHAOS_SANDBOX_START_TIMEOUT'

/** The start-up deadline from `CHAOS_SANDBOX_START_TIMEOUT`, else the default; exit 2 when malformed. */
export function sandboxStartTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[SANDBOX_START_TIMEOUT_ENV]
  if (text === undefined || text.trim() === '') return DEFAULT_SANDBOX_START_TIMEOUT_MS
  const ms = parseDurationMs(text)
  if (ms === undefined || ms <= 0) {
    throw new InvalidInputError(
      `${SANDBOX_START_TIMEOUT_ENV}: "${text}" is not a duration`,
      'use a positive duration such as 90s or 2m (a bare number is seconds)',
    )
  }
  return ms
}

/**
 * Starts `chaos sandbox` as a child process and resolves once it prints its listening line. Rejects
 * when the child exits first (with its last stderr line) or, if it hangs, after `timeoutMs`
 * (default {@link sandboxStartTimeoutMs}); a child that missed the deadline is stopped. When
 * `signal` aborts first (Ctrl-C during start-up) the child is stopped and the promise rejects with
 * exit code 130 (interrupted).
 *
 * The child runs in its own process group: a terminal's Ctrl-C (SIGINT to the whole foreground
 * group) reaches only the runner, which rolls back first and then stops the sandbox itself.
 */
export async function startSandboxProcess(
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<SandboxProcess> {
  const { signal } = options
  if (signal?.aborted) throw interrupted(signal)
  const timeoutMs = options.timeoutMs ?? sandboxStartTimeoutMs()
  const token = randomBytes(24).toString('base64url')
  const child: ResultPromise = execa(
    process.execPath,
    [packageBin(), 'sandbox', '--port', '0', '--host', '127.0.0.1'],
    {
      env: { CHAOS_TOKEN: token, NODE_ENV: 'development', CHAOS_SANDBOX_PARENT: 'stdin' },
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      reject: false,
      // Its own process group, so the terminal's SIGINT does not stop it before our rollback.
      detached: true,
      // The sandbox stops when its stdin pipe closes, i.e. when we exit, even by SIGKILL (execa's
      // own exit cleanup does not apply to a detached child; the pipe does).
      cleanup: true,
    },
  )
  // Always drained (a full pipe would block the child); the tail explains an early exit.
  let stderrTail = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000)
  })
  const stop = async () => {
    // Closing its stdin is the sandbox's "parent gone" signal, and releases the handle that would
    // otherwise keep it alive after a SIGTERM shutdown (until the SIGKILL below).
    child.stdin?.end()
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await child
    clearTimeout(timer)
  }
  let onAbort = () => {}
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = ''
    const timer = setTimeout(() => {
      reject(
        new RuntimeFailure(
          `the built-in sandbox did not print its listening line within ${timeoutMs / 1000} s`,
          `the machine may be overloaded: raise ${SANDBOX_START_TIMEOUT_ENV} (e.g. 2m) or pass --target`,
        ),
      )
      void stop()
    }, timeoutMs)
    timer.unref()
    let aborting = false
    onAbort = () => {
      aborting = true
      clearTimeout(timer)
      // Stopped before rejecting, so the command exits with no sandbox left behind.
      void stop().finally(() => reject(interrupted(signal!)))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const m = LISTENING.exec(buffered)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    void child.then((result) => {
      clearTimeout(timer)
      if (aborting) return
      const why = stderrTail.trim().split('\n').at(-1)
      reject(
        new RuntimeFailure(
          `the built-in sandbox exited before listening (exit ${String(result.exitCode ?? result.signal)})${why ? `: ${why}` : ''}`,
        ),
      )
    })
  }).finally(() => signal?.removeEventListener('abort', onAbort))
  return { url, token, pid: child.pid, stop }
}

/** The start-up was interrupted (SIGINT/SIGTERM): nothing was injected; exit 130. */
function interrupted(signal: AbortSignal): ChaosError {
  const name = typeof signal.reason === 'string' ? signal.reason : 'signal'
  return new ChaosError(
    `interrupted (${name}) while the built-in sandbox was starting; nothing was injected`,
    ExitCode.INTERRUPTED,
  )
}

/** bin/run.js of this package, whether this file runs from src/cli (tsx) or dist/src/cli (compiled). */
function packageBin(): string {
  const here = fileURLToPath(import.meta.url)
  const root = here.includes('/dist/src/') ? here.split('/dist/src/')[0]! : here.split('/src/cli/')[0]!
  return `${root}/bin/run.js`
}
