/**
 * The CLI in a real pseudo-terminal: util-linux `script` gives it a pty, so stdout is a TTY (the
 * spinner, colours and the terminal's width apply) and "\x03" written to it is a Ctrl-C. The size
 * is set with `stty` inside the pty; `cols: 0` leaves it unset, which is what `script` started from
 * a pipe gives (a pty that reports 0 columns, as some CI runners do).
 */
import { execFileSync } from 'node:child_process'
import { execa } from 'execa'
import { BIN, ENV, runBudgetMs } from './cli.js'

/** Whether util-linux `script` is installed (pty tests skip without it). */
export const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** Where and how the pty runs: its width (0: unsized), extra environment, and a hang guard. */
export interface PtyOptions {
  cols?: number
  env?: Record<string, string>
  timeoutMs?: number
}

/** The runner in a pty: its terminal output (ANSI stripped, and raw), Ctrl-C, and its exit. */
export function inPty(args: readonly string[], cwd: string, options: PtyOptions = {}) {
  const cols = options.cols ?? 160
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const size = cols > 0 ? `stty cols ${cols} rows 50; ` : ''
  const child = execa('script', ['-qfec', `${size}exec ${command}`, '/dev/null'], {
    cwd,
    env: { ...ENV, ...options.env },
    extendEnv: false,
    reject: false,
    stdin: 'pipe',
    timeout: options.timeoutMs ?? runBudgetMs(args),
    killSignal: 'SIGTERM',
  })
  let seen = ''
  let raw = ''
  const waiters = new Set<() => void>()
  child.stdout.on('data', (chunk: Buffer) => {
    raw += chunk.toString('utf8')
    // eslint-disable-next-line no-control-regex -- terminal escape sequences
    seen += chunk.toString('utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    for (const w of waiters) w()
  })
  return {
    child,
    output: () => seen,
    /** Everything the terminal received, escape sequences included. */
    raw: () => raw,
    /** Resolves when the terminal shows `pattern`; rejects when the runner ends first. */
    waitFor(pattern: RegExp): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(seen)) {
            waiters.delete(check)
            resolve()
          }
        }
        waiters.add(check)
        void child.then(() => {
          if (waiters.delete(check)) reject(new Error(`ended before showing ${String(pattern)}:\n${seen}`))
        })
        check()
      })
    },
    /** Types Ctrl-C; returns the time of the key press. */
    ctrlC(): number {
      child.stdin.write('\x03')
      return performance.now()
    },
  }
}
