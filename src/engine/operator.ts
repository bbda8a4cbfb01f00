/**
 * Operator services: `chaos status` (agent info per instance) and `chaos stop` (emergency stop,
 * verified by reading the agent back).
 */
import type { AgentInfo, ExperimentView } from '../protocol/schemas.js'
import {
  CONTROL_TIMEOUT_MS,
  ControlError,
  createControlClient,
  UnreachableError,
  type ControlClient,
} from './control-client.js'
import { fanOut } from './fan-out.js'

/** How to reach the agents. */
export interface OperatorOptions {
  /** The control prefix when it is not the default `/chaos`. */
  prefix?: string
  /** Most instances called at once (`--max-parallel`, default 64). */
  maxParallel?: number
  /**
   * Timeout of each control call (default 5 s): a dead or frozen instance costs at most this per
   * call and never holds the others.
   */
  timeoutMs?: number
}

/**
 * `fn` over every target through the engine's bounded fan-out, results in the targets' order.
 * Each `fn` reports its own failure as a result, so every call settles fulfilled.
 */
async function eachTarget<T>(
  targets: readonly string[],
  options: OperatorOptions,
  fn: (target: string) => Promise<T>,
): Promise<T[]> {
  const settled = await fanOut(targets, fn, { maxParallel: options.maxParallel })
  return settled.map((s) => {
    if (s.status === 'rejected') throw s.reason
    return s.value
  })
}

function clientOf(target: string, token: string, options: OperatorOptions): ControlClient {
  return createControlClient({
    target,
    token,
    prefix: options.prefix,
    timeoutMs: options.timeoutMs ?? CONTROL_TIMEOUT_MS,
  })
}

/**
 * Why an instance could not be read or stopped: `UNREACHABLE` (no answer at all), `TOKEN_REFUSED`
 * (401/403: the agent answered and refused the token), `NO_ENDPOINT` (404: no control endpoint
 * under the prefix, or the agent is not enabled), `ERROR` (anything else, e.g. a protocol mismatch).
 */
export type InstanceProblem = 'UNREACHABLE' | 'TOKEN_REFUSED' | 'NO_ENDPOINT' | 'ERROR'

export interface InstanceStatus {
  target: string
  /** True when the instance answered at all (even to refuse the token). */
  reachable: boolean
  /** Null when the agent was read. */
  problem: InstanceProblem | null
  /** What went wrong, for people (names the target); null when the agent was read. */
  error: string | null
  agent: AgentInfo | null
}

/**
 * What a failed control call on `target` means, as a sentence that names the target and the
 * fix: a refused token is not an unreachable target.
 */
export function describeControlFailure(
  target: string,
  err: unknown,
  prefix = '/chaos',
): { problem: InstanceProblem; message: string } {
  if (err instanceof UnreachableError) {
    const message = err.message.startsWith(target) ? err.message : `${target}: ${err.message}`
    return { problem: 'UNREACHABLE', message }
  }
  if (err instanceof ControlError && (err.status === 401 || err.status === 403))
    return {
      problem: 'TOKEN_REFUSED',
      message: `${target}: the agent refused the token (HTTP ${err.status}): set CHAOS_TOKEN to the agent's token`,
    }
  if (err instanceof ControlError && err.status === 404)
    return {
      problem: 'NO_ENDPOINT',
      message: `${target}: no chaos control endpoint at ${prefix} (HTTP 404): is the agent enabled, and is --control-prefix right?`,
    }
  return { problem: 'ERROR', message: `${target}: ${(err as Error).message}` }
}

/**
 * Reads `GET /chaos` of every instance (concurrently, bounded as {@link emergencyStop} is); an instance that cannot be read is reported, not thrown. */
export async function readStatus(
  targets: readonly string[],
  token: string,
  signal?: AbortSignal,
  options: OperatorOptions = {},
): Promise<InstanceStatus[]> {
  return eachTarget(targets, options, async (target): Promise<InstanceStatus> => {
    try {
      return {
        target,
        reachable: true,
        problem: null,
        error: null,
        agent: await clientOf(target, token, options).info(signal),
      }
    } catch (err) {
      const { problem, message } = describeControlFailure(target, err, options.prefix)
      return { target, reachable: problem !== 'UNREACHABLE', problem, error: message, agent: null }
    }
  })
}

/**
 * One line that sums up the instances that could not be read, e.g. "the agent refused the token
 * on 1 of 2 instances" or "2 of 3 instances could not be read: 1 unreachable, 1 refused the
 * token"; null when every instance was read.
 */
export function statusFailureSummary(instances: readonly InstanceStatus[]): string | null {
  const failed = instances.filter((s) => s.problem !== null)
  if (failed.length === 0) return null
  const of = `${failed.length} of ${instances.length} instance${instances.length === 1 ? '' : 's'}`
  const count = (p: InstanceProblem) => failed.filter((s) => s.problem === p).length
  const words: Record<InstanceProblem, string> = {
    UNREACHABLE: 'unreachable',
    TOKEN_REFUSED: 'refused the token',
    NO_ENDPOINT: 'no control endpoint',
    ERROR: 'failed',
  }
  const kinds = (Object.keys(words) as InstanceProblem[]).filter((p) => count(p) > 0)
  if (kinds.length === 1) {
    const only = kinds[0]!
    return only === 'TOKEN_REFUSED' ? `the agent refused the token on ${of}` : `${of}: ${words[only]}`
  }
  return `${of} could not be read: ${kinds.map((p) => `${count(p)} ${words[p]}`).join(', ')}`
}

export interface StopResult {
  target: string
  /** The experiments this stop ended on this instance. */
  stopped: ExperimentView[]
  /** True when a read-back shows nothing (or none of the matched experiments) still active. */
  verified: boolean
  /** The ids still active after the stop (read back), matched or not; [] when it could not be read. */
  still_active: string[]
  problem: InstanceProblem | null
  error: string | null
}

/** What `chaos stop` was asked to stop: everything, or the experiments an id or scenario id names. */
export type StopSelector = { all: true } | { match: string }

/**
 * Whether an experiment id is named by `what`: the id itself, or the scenario id the runner puts
 * first in the ids it builds (`<scenario id>.<run id>`, docs/control-protocol.md), case-insensitive
 * as ids are lower case.
 */
export function experimentMatches(experimentId: string, what: string): boolean {
  const wanted = what.toLowerCase()
  return experimentId === wanted || experimentId.startsWith(`${wanted}.`)
}

/**
 * Emergency stop on every instance, concurrently (at most `options.maxParallel` at once, each call
 * bounded by `options.timeoutMs`): `DELETE /chaos/experiments` for `{ all: true }`; otherwise
 * each active experiment `match` names ({@link experimentMatches}) is rolled back with
 * `DELETE /chaos/experiments/:id`. Then `GET /chaos` verifies nothing (or none of those) is
 * still active. An experiment that ended between the read and the stop (404/410) is not a failure.
 */
export async function emergencyStop(
  targets: readonly string[],
  token: string,
  selector: StopSelector,
  options: OperatorOptions = {},
): Promise<StopResult[]> {
  return eachTarget(targets, options, async (target): Promise<StopResult> => {
    const client = clientOf(target, token, options)
    try {
      if ('all' in selector) {
        const stopped = await client.stopAll()
        const info = await client.info()
        return {
          target,
          stopped,
          verified: info.active_experiments.length === 0,
          still_active: info.active_experiments.map((e) => e.id),
          problem: null,
          error: null,
        }
      }
      const before = await client.info()
      const ids = before.active_experiments
        .map((e) => e.id)
        .filter((id) => experimentMatches(id, selector.match))
      const stopped: ExperimentView[] = []
      for (const id of ids) {
        const view = await stopOne(client, id)
        if (view) stopped.push(view)
      }
      const after = await client.info()
      const verified = !after.active_experiments.some((e) => experimentMatches(e.id, selector.match))
      const still_active = after.active_experiments.map((e) => e.id)
      return { target, stopped, verified, still_active, problem: null, error: null }
    } catch (err) {
      const { problem, message } = describeControlFailure(target, err, options.prefix)
      return { target, stopped: [], verified: false, still_active: [], problem, error: message }
    }
  })
}

/** DELETE one experiment; null when it had already ended or gone (404/410) since it was listed. */
async function stopOne(client: ControlClient, id: string): Promise<ExperimentView | null> {
  try {
    return await client.stop(id)
  } catch (err) {
    if (err instanceof ControlError && (err.status === 404 || err.status === 410)) return null
    throw err
  }
}
