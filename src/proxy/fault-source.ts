/**
 * The TCP data plane's view of the agent: for each connection, the fault of the running experiment
 * or null. A connection is selected once per experiment (with the fault's probability, counted as
 * one call); the answer is memoised, so asking again per data chunk costs a map lookup.
 */
import type { ChaosAgent } from '../agent/agent.js'
import type { TcpFault, TcpFaultSource } from './tcp.js'

export type { TcpFault, TcpFaultSource }

/**
 * A {@link TcpFaultSource} for route `service` on `agent` (which must have it registered). TCP
 * carries no request headers, so a SINGLE_REQUEST experiment selects no connection.
 */
export function tcpFaultSource(agent: ChaosAgent, service: string): TcpFaultSource {
  /** Selections of the experiment they were drawn under; dropped when it ends. */
  let memo: { signal: AbortSignal; byConnection: Map<number, TcpFault | null> } | null = null
  return {
    forConnection(connectionId) {
      if (memo !== null && memo.signal.aborted) memo = null
      if (memo === null) {
        // Nothing affects the service (the common case): no memo, no counting.
        const affecting = agent.affecting(service)
        if (affecting === null) return null
        memo = { signal: affecting.signal, byConnection: new Map() }
      }
      const known = memo.byConnection.get(connectionId)
      if (known !== undefined) return known
      const selection = agent.select(service)
      // Only one experiment runs at a time: a selection under another one means ours ended meanwhile.
      const fault =
        selection === null || selection.signal !== memo.signal
          ? null
          : { config: selection.config, signal: selection.signal, injected: selection.injected }
      memo.byConnection.set(connectionId, fault)
      return fault
    },
  }
}
