/** The `proxy:` section of chaos.config.yaml: read into settings, wrong fields named with a hint. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { loadConfig } from '../src/config.js'
import type { InvalidInputError } from '../src/errors.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chaos-proxy-config-'))
})
afterEach(async () => rm(dir, { recursive: true }))

test('proxy: routes, control, environment, allow_production, app_metrics', async () => {
  await writeFile(
    join(dir, 'chaos.config.yaml'),
    `proxy:
  routes:
    - { name: pms_adapter, listen: "127.0.0.1:18080", upstream: "http://pms.internal:80" }
    - name: session_store
      listen: 127.0.0.1:16379
      upstream: tcp://redis:6379
  control: 0.0.0.0:8474
  environment: staging
  allow_production: false
  app_metrics: http://127.0.0.1:8000/metrics
`,
  )
  const config = await loadConfig({ cwd: dir, env: {} })
  expect(config.proxy).toEqual({
    routes: [
      { name: 'pms_adapter', listen: '127.0.0.1:18080', upstream: 'http://pms.internal:80' },
      { name: 'session_store', listen: '127.0.0.1:16379', upstream: 'tcp://redis:6379' },
    ],
    control: '0.0.0.0:8474',
    environment: 'staging',
    allowProduction: false,
    appMetricsUrl: 'http://127.0.0.1:8000/metrics',
  })
})

test('a wrong field in proxy: is named, with the section shape as the hint', async () => {
  await writeFile(
    join(dir, 'chaos.config.yaml'),
    `proxy:
  routes:
    - { name: pms_adapter, listen: "127.0.0.1:18080", to: "http://pms.internal:80" }
  app_metrics: not-a-url
`,
  )
  const error = await loadConfig({ cwd: dir, env: {} }).then(
    () => undefined,
    (e: unknown) => e as InvalidInputError,
  )
  expect(error?.message).toMatch(/problems in config file chaos\.config\.yaml/)
  const details = error!.details.join('\n')
  expect(details).toContain('proxy.routes[0].upstream: missing required field')
  expect(details).toContain(
    'proxy.routes[0].to: unknown field "to" (hint: allowed here: name, listen, upstream)',
  )
  expect(details).toMatch(/proxy: \{ routes: \[\{ name: pms_adapter, listen: 127\.0\.0\.1:18080/)
  expect(details).toMatch(/proxy\.app_metrics: must be an http\(s\) URL/)
})
