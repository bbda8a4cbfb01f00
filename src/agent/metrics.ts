/**
 * The agent's Prometheus metrics. Calls are counted on the hot path as plain numbers on each service
 * slot and folded into `chaos_agent_calls_total` only when the registry is scraped (collect()), so the
 * wrapper never touches prom-client.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { ServiceSlot } from './experiment.js'

export interface AgentMetrics {
  readonly active: Gauge<'experiment' | 'target_service' | 'fault_type'>
  readonly calls: Counter<'target_service'>
  readonly faults: Counter<'experiment' | 'target_service' | 'fault_type'>
}

export function createAgentMetrics(registry: Registry, slots: () => Iterable<ServiceSlot>): AgentMetrics {
  const calls: Counter<'target_service'> = new Counter({
    name: 'chaos_agent_calls_total',
    help: 'Calls through wrapped services, per target service (with or without a fault)',
    labelNames: ['target_service'],
    registers: [registry],
    collect() {
      for (const slot of slots()) {
        const delta = slot.calls - slot.reported
        if (delta > 0) {
          calls.inc({ target_service: slot.name }, delta)
          slot.reported += delta
        }
      }
    },
  })
  return {
    calls,
    active: new Gauge({
      name: 'chaos_agent_experiment_active',
      help: 'Whether an experiment is running on this instance (1 running, 0 ended)',
      labelNames: ['experiment', 'target_service', 'fault_type'],
      registers: [registry],
    }),
    faults: new Counter({
      name: 'chaos_agent_faults_injected_total',
      help: 'Faults injected by the agent, per experiment and wrapped service',
      labelNames: ['experiment', 'target_service', 'fault_type'],
      registers: [registry],
    }),
  }
}
