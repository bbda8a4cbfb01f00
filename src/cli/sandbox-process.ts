/**
 * The default target: when no target is configured, `chaos run` starts the built-in sandbox as a
 * child process (`chaos sandbox`) on a free loopback port with a random token, and stops it after.
 */
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { execa, type ResultPromise } from 'execa'
import { RuntimeFailure } from '../errors.js'

export interface SandboxProcess {
  url: string
  token: string
  pid: number | undefined
  stop(): Promise<void>
}

const LISTENING = /^sandbox listening on (http:\/\/\S+)/m

/** Starts `chaos sandbox` as a child process and resolves once it is listening. */
export async function startSandboxProcess(options: { timeoutMs?: number } = {}): Promise<SandboxProcess> {
  const token = randomBytes(24).toString('base64url')
  const child: ResultPromise = execa(
    process.execPath,
    [packageBin(), 'sandbox', '--port', '0', '--host', '127.0.0.1'],
    {
      env: { CHAOS_TOKEN: token, NODE_ENV: 'development', CHAOS_SANDBOX_PARENT: 'stdin' },
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'ignore',
      reject: false,
      // The sandbox stops when its stdin pipe closes, i.e. when we exit, even by SIGKILL.
      cleanup: true,
    },
  )
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = ''
    const timer = setTimeout(
      () => reject(new RuntimeFailure('the built-in sandbox did not start within 15 s')),
      options.timeoutMs ?? 15_000,
    )
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
      reject(
        new RuntimeFailure(`the built-in sandbox exited before listening (exit ${String(result.exitCode)})`),
      )
    })
  })
  return {
    url,
    token,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await child
      clearTimeout(timer)
    },
  }
}

/** bin/run.js of this package, whether this file runs from src/cli (tsx) or dist/src/cli (compiled). */
function packageBin(): string {
  const here = fileURLToPath(import.meta.url)
  const root = here.includes('/dist/src/') ? here.split('/dist/src/')[0]! : here.split('/src/cli/')[0]!
  return `${root}/bin/run.js`
}
