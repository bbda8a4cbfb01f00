/**
 * A minimal valid scenario file's text (LATENCY on pms_adapter): loader, bad-input and proof
 * cases derive broken variants from it with string replacements.
 */
export function validScenarioText(id = 'probe_latency', name = 'Probe latency'): string {
  return `id: ${id}
name: ${name}
category: network
target_service: pms_adapter
duration_seconds: 60
steady_state_hypothesis: P95 latency < 2x baseline
fault_config:
  fault_type: LATENCY
  probability: 0.3
  latency_ms: 2000
checks:
  - latency_p95_ms < 2x baseline during
`
}
