/**
 * Issue 10, defects 12 and 13 on the agent: metric label sets stay bounded when experiment ids are
 * reused and evicted, and a short token is refused.
 */
import { describe, expect, it } from 'vitest'
import { createChaosAgent, HISTORY_LIMIT } from '../src/agent/index.js'
import { experiment, TOKEN } from './agent-helpers.js'

const SERVICES = ['pms_adapter', 'whatsapp_client', 'database'] as const
const LABELLED = ['chaos_agent_experiment_active', 'chaos_agent_faults_injected_total']

/** Series per metric, and the series naming `id`, as /metrics would show them. */
async function series(agent: ReturnType<typeof createChaosAgent>, id?: string) {
  const families = await agent.registry.getMetricsAsJSON()
  const values = families.filter((f) => LABELLED.includes(f.name)).flatMap((f) => f.values)
  return {
    total: values.length,
    forId: id === undefined ? 0 : values.filter((v) => v.labels.experiment === id).length,
  }
}

describe('agent metric label sets (defect 12)', () => {
  it('reusing one id 30 times with changing services and fault types keeps one run of series, and eviction removes them', async () => {
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    const fns = SERVICES.map((s) => agent.wrap(s, () => Promise.resolve(s)))
    const faultTypes = [
      { fault_type: 'EXCEPTION', probability: 1, exception_class: 'PMSError' },
      { fault_type: 'CIRCUIT_BREAK', probability: 1 },
    ]
    for (let run = 0; run < 30; run++) {
      const service = SERVICES[run % SERVICES.length]!
      const fault = { ...faultTypes[run % faultTypes.length]!, blast_radius: 'ENTIRE_SYSTEM' }
      agent.startExperiment(experiment('reused', fault, service))
      // Every service meets a fault, so every run creates a faults series per service.
      await Promise.allSettled(fns.map((fn) => fn()))
      agent.stopExperiment('reused')
      // One active series, and one faults series per service hit by this run: never more.
      expect((await series(agent, 'reused')).forId).toBeLessThanOrEqual(1 + SERVICES.length)
    }
    expect((await series(agent, 'reused')).forId).toBeGreaterThan(0)

    // HISTORY_LIMIT other experiments push "reused" out of the history.
    for (let i = 0; i <= HISTORY_LIMIT; i++) {
      agent.startExperiment(experiment(`other_${i}`, faultTypes[0]!, 'pms_adapter'))
      await Promise.allSettled(fns.map((fn) => fn()))
      agent.stopExperiment(`other_${i}`)
    }
    expect(agent.getExperiment('reused')).toBeUndefined()
    const after = await series(agent, 'reused')
    expect(after.forId).toBe(0)
    // The documented bound: HISTORY_LIMIT + 1 experiments, each one active series + one per service.
    expect(after.total).toBeLessThanOrEqual((HISTORY_LIMIT + 1) * (1 + SERVICES.length))
    await agent.close()
  })

  it('a reused id with the same labels continues its counter instead of resetting it', async () => {
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: {} })
    const fn = agent.wrap('pms_adapter', () => Promise.resolve('ok'))
    const counted = async () => {
      const family = (await agent.registry.getMetricsAsJSON()).find(
        (f) => f.name === 'chaos_agent_faults_injected_total',
      )
      return family?.values.filter((v) => v.labels.experiment === 'same').map((v) => v.value) ?? []
    }
    for (let run = 1; run <= 3; run++) {
      agent.startExperiment(
        experiment('same', { fault_type: 'EXCEPTION', probability: 1, exception_class: 'PMSError' }),
      )
      await fn().catch(() => undefined)
      agent.stopExperiment('same')
      expect(await counted()).toEqual([run])
    }
    await agent.close()
  })
})

describe('agent token length (defect 13)', () => {
  it('refuses a token shorter than 16 characters, accepts 16', () => {
    expect(() =>
      createChaosAgent({ service: 'hotel', enabled: true, token: 'short-token', env: {} }),
    ).toThrow(/`token` is 11 characters; use at least 16/)
    const agent = createChaosAgent({ service: 'hotel', enabled: true, token: 'x'.repeat(16), env: {} })
    expect(agent.enabled).toBe(true)
    // A disabled agent needs no token at all.
    expect(createChaosAgent({ service: 'hotel', enabled: false, env: {} }).enabled).toBe(false)
  })
})
