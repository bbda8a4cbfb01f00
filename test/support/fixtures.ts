/**
 * Per-test fixtures (vitest `test.extend`): each is set up only when a test names it and torn down
 * after that test, also when it fails, so no test file keeps its own cleanup list.
 *
 *   import { test, expect } from './support/index.js'
 *   test('…', async ({ workdir, externalSandbox }) => { … })
 */
import { test as base } from 'vitest'
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js'
import { startExternalSandbox, tempCwd, type ExternalSandbox } from './cli.js'
import { controlClient, type ControlClient } from './control.js'

export interface Fixtures {
  /** A fresh temporary working directory, removed afterwards. */
  workdir: string
  /** `chaos sandbox` as a child process (token `e2e-token-0123456789`) in {@link workdir}, killed afterwards. */
  externalSandbox: ExternalSandbox & { control: ControlClient }
  /** Starts in-process sandboxes (token `test-token-0123456789`, no base latency by default), closed afterwards. */
  openSandbox: (options?: SandboxOptions) => Promise<Sandbox & { control: ControlClient }>
}

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern -- vitest reads the fixtures a fixture needs from this pattern
  workdir: async ({}, use) => {
    const { dir, cleanup } = await tempCwd()
    await use(dir)
    await cleanup()
  },
  externalSandbox: async ({ workdir }, use) => {
    const sandbox = await startExternalSandbox(workdir)
    await use({ ...sandbox, control: controlClient(sandbox.url, sandbox.token) })
    await sandbox.kill()
  },
  // eslint-disable-next-line no-empty-pattern -- as above
  openSandbox: async ({}, use) => {
    const opened: Sandbox[] = []
    await use(async (options = {}) => {
      const sandbox = await startSandbox({
        token: 'test-token-0123456789',
        baseLatencyMs: 0,
        defaultMetrics: false,
        ...options,
      })
      opened.push(sandbox)
      return Object.assign(sandbox, { control: controlClient(sandbox.url, sandbox.token ?? '') })
    })
    await Promise.all(opened.map((s) => s.close()))
  },
})

export const it = test
