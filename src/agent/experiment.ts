/** One experiment's state on this instance, and the per-service slot the hot path reads. */
import { setMaxListeners } from 'node:events'
import type { Counter } from 'prom-client'
import type { ExperimentState, ExperimentView, FaultConfig } from '../protocol/schemas.js'
import type { Fault } from './faults/index.js'

/** Why an experiment ended (reported as `end_reason`). */
export type EndReason = 'stopped' | 'emergency_stop' | 'agent_closed' | 'lease_expired' | 'max_duration'

/** An experiment as the agent reports it: the protocol's ExperimentView plus a few extra live fields. */
export interface AgentExperimentView extends ExperimentView {
  end_reason?: EndReason
  /** RESOURCE_EXHAUSTION with MEMORY pressure: bytes held now, and the ceiling. */
  pressure_held_bytes?: number
  pressure_ceiling_bytes?: number
  /** RESOURCE_EXHAUSTION with CPU pressure: event-loop block per selected call. */
  pressure_block_ms?: number
}

/**
 * A wrapped target service. The wrapper reads `active` (the experiment affecting this service, or null)
 * and bumps `calls`; nothing else happens on the hot path.
 */
export interface ServiceSlot {
  readonly name: string
  calls: number
  /** Part of `calls` already folded into chaos_agent_calls_total. */
  reported: number
  active: Experiment | null
}

export class Experiment {
  state: ExperimentState = 'RUNNING'
  endedAt: number | null = null
  endReason: EndReason | null = null
  callsSeen = 0
  faultsInjected = 0
  /** Injections not yet reported by an aggregated chaos_fault_injected line. */
  pendingLog = 0
  logTimer: unknown = null
  leaseTimer: unknown = null
  /** Aborted at rollback: fault waits in flight end and their calls go through. */
  readonly rollback = new AbortController()
  /** Pre-bound faults_injected counters per wrapped service. */
  readonly counters = new Map<string, Counter.Internal>()
  readonly singleRequest: boolean
  readonly probability: number
  readonly injecting: boolean
  fault: Fault | null = null
  /** HMAC-SHA256(token, id): what a tagged request's x-chaos-signature must be (src/protocol/tag.ts). */
  tagSignature: Buffer | null = null

  constructor(
    readonly id: string,
    readonly targetService: string,
    readonly config: FaultConfig,
    readonly startedAt: number,
    public leaseExpiresAt: number,
    /** started_at + maxLeaseSeconds: the lease can never be renewed beyond it. */
    readonly hardDeadline: number,
  ) {
    // Every call (or proxied request) waiting in a fault listens for the rollback: thousands at
    // once under load are expected, not a leak.
    setMaxListeners(0, this.rollback.signal)
    this.singleRequest = config.blast_radius === 'SINGLE_REQUEST'
    this.probability = config.probability
    this.injecting = config.enabled
  }

  view(): AgentExperimentView {
    return {
      id: this.id,
      target_service: this.targetService,
      fault_config: this.config,
      state: this.state,
      started_at: iso(this.startedAt),
      lease_expires_at: iso(this.leaseExpiresAt),
      ended_at: this.endedAt === null ? null : iso(this.endedAt),
      calls_seen: this.callsSeen,
      faults_injected: this.faultsInjected,
      ...(this.endReason !== null && { end_reason: this.endReason }),
      ...this.fault?.status?.(),
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
