/**
 * The agent's environment: every spelling of production (case, spacing, `prod`, from NODE_ENV or
 * the `environment` option) trips its production guard, and GET /chaos reports the normalised name
 * the runner's own production refusal reads.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createChaosAgent } from '../src/agent/index.js'
import { normalizeEnvironment } from '../src/protocol/schemas.js'
import { request, startHost, TOKEN, type Host } from './agent-helpers.js'

const PRODUCTION_SPELLINGS = [
  'production',
  'PRODUCTION',
  'Production',
  'prod',
  'PROD',
  ' production',
  'production\n',
]

let host: Host | undefined
afterEach(async () => {
  await host?.close()
  host = undefined
})

describe('normalizeEnvironment', () => {
  it('trims, lower-cases and reads prod as production; blank is no value', () => {
    for (const spelling of PRODUCTION_SPELLINGS) expect(normalizeEnvironment(spelling)).toBe('production')
    expect(normalizeEnvironment(' Staging ')).toBe('staging')
    expect(normalizeEnvironment('production-eu')).toBe('production-eu')
    expect(normalizeEnvironment('  ')).toBeUndefined()
    expect(normalizeEnvironment(undefined)).toBeUndefined()
  })
})

describe('production guard', () => {
  it.each(PRODUCTION_SPELLINGS)('refuses to enable with NODE_ENV=%j unless allowProduction', (spelling) => {
    expect(() =>
      createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: { NODE_ENV: spelling } }),
    ).toThrow(/refused to enable: NODE_ENV=.*allowProduction: true/s)
    const allowed = createChaosAgent({
      service: 'hotel',
      enabled: true,
      token: TOKEN,
      allowProduction: true,
      env: { NODE_ENV: spelling },
    })
    expect(allowed.info().environment).toBe('production')
  })

  it.each(PRODUCTION_SPELLINGS)(
    'refuses to enable with the environment option %j unless allowProduction',
    (spelling) => {
      expect(() =>
        createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, environment: spelling, env: {} }),
      ).toThrow(/refused to enable: environment: .*allowProduction: true/s)
      const allowed = createChaosAgent({
        service: 'hotel',
        enabled: true,
        token: TOKEN,
        allowProduction: true,
        environment: spelling,
        env: {},
      })
      expect(allowed.info().environment).toBe('production')
    },
  )

  it('names how the value was read when it is not spelled "production"', () => {
    expect(() =>
      createChaosAgent({ service: 'hotel', enabled: true, token: TOKEN, env: { NODE_ENV: 'prod' } }),
    ).toThrow('chaos agent refused to enable: NODE_ENV=prod (read as production).')
  })

  it('a staging label does not hide NODE_ENV=production', () => {
    expect(() =>
      createChaosAgent({
        service: 'hotel',
        enabled: true,
        token: TOKEN,
        environment: 'staging',
        env: { NODE_ENV: 'Production' },
      }),
    ).toThrow(/NODE_ENV=Production \(read as production\)/)
  })

  it('other environments enable, reported normalised over the wire', async () => {
    host = await startHost({ env: { NODE_ENV: ' Staging ' } })
    const info = await request<{ environment: string }>(host.url, 'GET', '/chaos')
    expect(info.status).toBe(200)
    expect(info.body.environment).toBe('staging')
    expect(createChaosAgent({ service: 'h', enabled: false, env: { NODE_ENV: '' } }).info().environment).toBe(
      'development',
    )
  })
})
