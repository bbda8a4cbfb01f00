/**
 * Operator services: `chaos status` (agent info per instance) and `chaos stop` (emergency stop,
 * verified by reading the agent back).
 */
import type { AgentInfo, ExperimentView } from '../protocol/schemas.js'
import { createControlClient } from './control-client.js'

/** How to reach the agents: the control prefix when it is not the default `/chaos`. */
export interface OperatorOptions {
  prefix?: string
}

export interface InstanceStatus {
  target: string
  reachable: boolean
  error: string | null
  agent: AgentInfo | null
}

/** Reads `GET /chaos` of every instance; an unreachable instance is reported, not thrown. */
export async function readStatus(
  targets: readonly string[],
  token: string,
  signal?: AbortSignal,
  options: OperatorOptions = {},
): Promise<InstanceStatus[]> {
  return Promise.all(
    targets.map(async (target): Promise<InstanceStatus> => {
      try {
        return {
          target,
          reachable: true,
          error: null,
          agent: await createControlClient({ target, token, prefix: options.prefix }).info(signal),
        }
      } catch (err) {
        return { target, reachable: false, error: (err as Error).message, agent: null }
      }
    }),
  )
}

export interface StopResult {
  target: string
  stopped: ExperimentView[]
  verified: boolean
  error: string | null
}

/**
 * Emergency stop: `DELETE /chaos/experiments` (or one experiment with `id`) on every instance,
 * then `GET /chaos` to verify nothing (or not that one) is still active.
 */
export async function emergencyStop(
  targets: readonly string[],
  token: string,
  id?: string,
  options: OperatorOptions = {},
): Promise<StopResult[]> {
  return Promise.all(
    targets.map(async (target): Promise<StopResult> => {
      const client = createControlClient({ target, token, prefix: options.prefix })
      try {
        const stopped = id ? [await client.stop(id)] : await client.stopAll()
        const info = await client.info()
        const verified = id
          ? !info.active_experiments.some((e) => e.id === id)
          : info.active_experiments.length === 0
        return { target, stopped, verified, error: null }
      } catch (err) {
        return { target, stopped: [], verified: false, error: (err as Error).message }
      }
    }),
  )
}
