/**
 * The runner's control client against the real sandbox over HTTP: a target's reasons (the
 * `problems` of a 400) reach the error message, and so every report and live line built from it.
 */
import { createControlClient, ControlError } from '../src/engine/control-client.js'
import { FaultConfig } from '../src/protocol/schemas.js'
import { expect } from 'vitest'
import { it } from './support/index.js'

it("defect 5: the target's reasons are shown: a 400 carries the target's problems in the error message", async ({
  openSandbox,
}) => {
  const sandbox = await openSandbox()
  const client = createControlClient({ target: sandbox.url, token: sandbox.token ?? '' })
  // A lease over the protocol's 30-minute cap: the CLI refuses it at parse time, the agent with a 400.
  const err = await client
    .start({
      id: 'too-long-lease',
      target_service: 'pms_adapter',
      fault_config: FaultConfig.parse({
        fault_type: 'EXCEPTION',
        probability: 0.5,
        exception_class: 'PMSError',
        blast_radius: 'SINGLE_SERVICE',
      }),
      lease_seconds: 31 * 60,
    })
    .then(
      () => null,
      (e: unknown) => e,
    )
  expect(err).toBeInstanceOf(ControlError)
  const error = err as ControlError
  expect(error.status).toBe(400)
  expect(error.problems).toEqual(['lease_seconds: Too big: expected number to be <=1800'])
  expect(error.message).toBe(
    'POST /experiments → 400: invalid experiment (lease_seconds: Too big: expected number to be <=1800)',
  )
  expect((await sandbox.control.info()).active_experiments).toEqual([])
})
