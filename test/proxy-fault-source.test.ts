/**
 * The agent's proxy hook (register, select, affecting, the refuse option) and tcpFaultSource on top
 * of it, in-process: selection by probability and by the signed tag (headers or W3C baggage), the
 * rollback signal, counting, and the per-connection memo of a TCP route.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { createChaosAgent, type ChaosAgent } from '../src/agent/agent.js'
import { ChaosControlError } from '../src/agent/errors.js'
import { tagHeaders } from '../src/protocol/tag.js'
import { tcpFaultSource } from '../src/proxy/fault-source.js'

const TOKEN = 'hook-token-0123456789'
let agent: ChaosAgent
afterEach(() => agent?.close())

function makeAgent(random: () => number = () => 0, refuse?: (s: string) => string[]): ChaosAgent {
  agent = createChaosAgent({
    service: 'chaos_proxy',
    enabled: true,
    token: TOKEN,
    env: {},
    instance: 'test',
    random,
    ...(refuse && { refuse }),
  })
  return agent
}

function start(id: string, faultConfig: Record<string, unknown>, target = 'pms_adapter') {
  return agent.startExperiment({ id, target_service: target, fault_config: faultConfig, lease_seconds: 60 })
}

describe('select', () => {
  test('register lists a service; nothing running selects nothing but counts the call', async () => {
    makeAgent()
    agent.register('pms_adapter')
    expect(agent.info().services).toEqual(['pms_adapter'])
    expect(agent.select('pms_adapter')).toBeNull()
    expect(agent.affecting('pms_adapter')).toBeNull()
    expect(await agent.registry.metrics()).toMatch(
      /chaos_agent_calls_total\{target_service="pms_adapter"\} 1/,
    )
  })

  test('a selection carries the config and the rollback signal; injected() counts once per call', () => {
    makeAgent()
    agent.register('pms_adapter')
    start('lat', { fault_type: 'LATENCY', probability: 1, latency_ms: 5 })
    const selection = agent.select('pms_adapter')!
    expect(selection.experimentId).toBe('lat')
    expect(selection.config).toMatchObject({ fault_type: 'LATENCY', latency_ms: 5 })
    expect(agent.affecting('pms_adapter')).toEqual({ experimentId: 'lat', signal: selection.signal })
    selection.injected()
    expect(agent.getExperiment('lat')).toMatchObject({ calls_seen: 1, faults_injected: 1 })
    expect(selection.signal.aborted).toBe(false)
    agent.stopExperiment('lat')
    expect(selection.signal.aborted).toBe(true)
    // Once ended, nothing more is counted.
    selection.injected()
    expect(agent.getExperiment('lat')!.faults_injected).toBe(1)
    expect(agent.affecting('pms_adapter')).toBeNull()
  })

  test('apply() runs the fault module: RATE_LIMIT lets N through uncounted, then rejects with 429', async () => {
    makeAgent()
    agent.register('pms_adapter')
    start('rl', {
      fault_type: 'RATE_LIMIT',
      probability: 1,
      rate_limit_requests: 1,
      rate_limit_window_seconds: 10,
    })
    expect(agent.select('pms_adapter')!.apply()).toBeNull()
    const refused = agent.select('pms_adapter')!.apply()
    await expect(refused).rejects.toMatchObject({ status: 429, retry_after_seconds: 10 })
    expect(agent.getExperiment('rl')).toMatchObject({ calls_seen: 2, faults_injected: 1 })
  })

  test('probability: a unit is selected when the draw is below it', () => {
    let draw = 0.7
    makeAgent(() => draw)
    agent.register('pms_adapter')
    start('p', { fault_type: 'CIRCUIT_BREAK', probability: 0.5 })
    expect(agent.select('pms_adapter')).toBeNull()
    draw = 0.3
    expect(agent.select('pms_adapter')).not.toBeNull()
    expect(agent.getExperiment('p')!.calls_seen).toBe(2)
  })

  test('SINGLE_REQUEST: the signed tag in headers or in W3C baggage; anything else is no tag', () => {
    makeAgent()
    agent.register('pms_adapter')
    start('single', { fault_type: 'CIRCUIT_BREAK', probability: 1, blast_radius: 'SINGLE_REQUEST' })
    const signed = tagHeaders(TOKEN, 'single')
    const forged = tagHeaders('another-token-0123456789', 'single')
    const baggage = (tag: Record<string, string>) =>
      Object.entries(tag)
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
        .join(', ')
    expect(agent.select('pms_adapter')).toBeNull()
    expect(agent.select('pms_adapter', {})).toBeNull()
    expect(agent.select('pms_adapter', signed)).not.toBeNull()
    expect(agent.select('pms_adapter', forged)).toBeNull()
    expect(agent.select('pms_adapter', { baggage: `k=v,${baggage(signed)};prop` })).not.toBeNull()
    expect(agent.select('pms_adapter', { baggage: baggage(forged) })).toBeNull()
    expect(agent.select('pms_adapter', { baggage: 'x-chaos-experiment=single' })).toBeNull()
    expect(agent.select('pms_adapter', { baggage: 'x-chaos-experiment=%E0%A4%A' })).toBeNull()
    // The headers win over baggage: a wrong header tag is not rescued by a good baggage one.
    expect(agent.select('pms_adapter', { ...forged, baggage: baggage(signed) })).toBeNull()
    expect(agent.getExperiment('single')!.calls_seen).toBe(2)
  })

  test('the refuse option: 400 with its lines, for the target or every service of ENTIRE_SYSTEM', () => {
    makeAgent(
      () => 0,
      (service) => (service === 'session_store' ? [`${service}: not here`] : []),
    )
    agent.register('pms_adapter')
    agent.register('session_store')
    expect(() => start('ok', { fault_type: 'CIRCUIT_BREAK', probability: 1 })).not.toThrow()
    agent.stopAll()
    const refusal = (() => {
      try {
        start(
          'all',
          { fault_type: 'CIRCUIT_BREAK', probability: 1, blast_radius: 'ENTIRE_SYSTEM' },
          'chaos_proxy',
        )
      } catch (err) {
        return err
      }
    })()
    expect(refusal).toBeInstanceOf(ChaosControlError)
    expect(refusal).toMatchObject({ status: 400, problems: ['session_store: not here'] })
    expect(agent.activeExperiments()).toEqual([])
  })
})

describe('tcpFaultSource', () => {
  test('selects each connection once per experiment, memoised per chunk, reset when the experiment ends', () => {
    let draw = 0.2
    makeAgent(() => draw)
    agent.register('session_store')
    const source = tcpFaultSource(agent, 'session_store')
    expect(source.forConnection(1)).toBeNull()

    start('tcp1', { fault_type: 'LATENCY', probability: 0.5, latency_ms: 10 }, 'session_store')
    const one = source.forConnection(1)
    expect(one).toMatchObject({ config: { fault_type: 'LATENCY' } })
    draw = 0.9
    // Same connection, later chunks: the same answer, no new draw, no new call counted.
    expect(source.forConnection(1)).toBe(one)
    expect(source.forConnection(1)).toBe(one)
    expect(source.forConnection(2)).toBeNull()
    expect(source.forConnection(2)).toBeNull()
    expect(agent.getExperiment('tcp1')!.calls_seen).toBe(2)
    one!.injected()
    expect(agent.getExperiment('tcp1')!.faults_injected).toBe(1)

    agent.stopExperiment('tcp1')
    expect(one!.signal.aborted).toBe(true)
    expect(source.forConnection(1)).toBeNull()

    // A new experiment draws again, for old connections too.
    draw = 0.1
    start('tcp2', { fault_type: 'CIRCUIT_BREAK', probability: 1 }, 'session_store')
    expect(source.forConnection(2)).toMatchObject({ config: { fault_type: 'CIRCUIT_BREAK' } })
    expect(source.forConnection(1)).toMatchObject({ config: { fault_type: 'CIRCUIT_BREAK' } })
  })

  test('SINGLE_REQUEST selects no connection (TCP carries no tag)', () => {
    makeAgent()
    agent.register('session_store')
    start(
      'single',
      { fault_type: 'LATENCY', probability: 1, latency_ms: 1, blast_radius: 'SINGLE_REQUEST' },
      'session_store',
    )
    expect(tcpFaultSource(agent, 'session_store').forConnection(1)).toBeNull()
  })
})
