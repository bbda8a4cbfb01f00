/** The discovery grammar (src/discovery/spec.ts) and its resolution from flags and config (src/cli/target.ts). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveTarget } from '../src/cli/target.js'
import { loadConfig, type ChaosConfig } from '../src/config.js'
import {
  parseDiscoverSpec,
  parseDiscoverSpecs,
  parseDnsServer,
  parseHostPort,
  parseInstanceUrl,
  parseMaxParallel,
  renderInstanceUrl,
} from '../src/discovery/spec.js'
import { InvalidInputError } from '../src/errors.js'

function thrown(fn: () => unknown): InvalidInputError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError)
    return err as InvalidInputError
  }
  throw new Error('expected an InvalidInputError')
}

describe('--discover specs', () => {
  it('parses every kind', () => {
    expect(parseDiscoverSpec('prometheus:up{job="hotel",env="a"}', '--discover')).toEqual({
      kind: 'prometheus',
      text: 'prometheus:up{job="hotel",env="a"}',
      query: 'up{job="hotel",env="a"}',
    })
    expect(parseDiscoverSpec('prometheus-targets:hotel', '--discover')).toMatchObject({ job: 'hotel' })
    expect(parseDiscoverSpec('dns:hotel.default.svc:8080', '--discover')).toMatchObject({
      kind: 'dns',
      name: 'hotel.default.svc',
      port: 8080,
    })
    expect(parseDiscoverSpec('dns:hotel', '--discover')).toMatchObject({ name: 'hotel', port: null })
    expect(parseDiscoverSpec('dns+srv:_chaos._tcp.hotel.svc', '--discover')).toMatchObject({
      kind: 'dns+srv',
      name: '_chaos._tcp.hotel.svc',
    })
  })

  it('refuses a bad spec in one line naming the flag and the fix', () => {
    const e = thrown(() => parseDiscoverSpec('consul:hotel', '--discover'))
    expect(e.message).toBe('--discover: "consul:hotel" is not a discovery spec')
    expect(e.hint).toMatch(/prometheus:, prometheus-targets:, dns:, dns\+srv:/)
    expect(thrown(() => parseDiscoverSpec('prometheus:', '--discover')).message).toMatch(/has no query/)
    expect(thrown(() => parseDiscoverSpec('dns:hotel:99999', '--discover')).message).toMatch(/port 99999/)
    expect(thrown(() => parseDiscoverSpec('dns:127.0.0.1', '--discover')).message).toMatch(
      /not name a DNS name/,
    )
  })

  it('reports every bad spec of a list at once', () => {
    const e = thrown(() =>
      parseDiscoverSpecs(['dns:ok.svc:80', 'nope', 'dns+srv:', 'prometheus:'], 'discover'),
    )
    expect(e.message).toBe('discover: 3 discovery specs are invalid')
    expect(e.details).toHaveLength(3)
    expect(e.details[0]).toMatch(/^discover: "nope" is not a discovery spec/)
  })
})

describe('--instance-url template', () => {
  it('renders host, port and address, IPv6 in brackets', () => {
    expect(renderInstanceUrl('http://{address}', { host: '10.0.0.7', port: 9464 })).toBe(
      'http://10.0.0.7:9464',
    )
    expect(renderInstanceUrl('http://{host}:8080/svc/', { host: '10.0.0.7', port: 9464 })).toBe(
      'http://10.0.0.7:8080/svc',
    )
    expect(renderInstanceUrl('https://{host}:{port}', { host: 'fd00::1', port: 443 })).toBe(
      'https://[fd00::1]:443',
    )
    expect(renderInstanceUrl('http://{address}', { host: '::1', port: 80 })).toBe('http://[::1]:80')
    expect(renderInstanceUrl('http://{address}', { host: 'a.svc', port: null })).toBe('http://a.svc')
    expect(() => renderInstanceUrl('http://{host}:{port}', { host: 'a.svc', port: null })).toThrow(
      /uses \{port\}/,
    )
  })

  it('refuses an unknown placeholder, a non-http template and one with no host', () => {
    expect(thrown(() => parseInstanceUrl('http://{hots}:8080', '--instance-url')).message).toBe(
      '--instance-url: "http://{hots}:8080": {hots} is not a placeholder',
    )
    expect(thrown(() => parseInstanceUrl('{address}', '--instance-url')).message).toMatch(
      /not an http\(s\) URL/,
    )
    expect(thrown(() => parseInstanceUrl('http://10.0.0.1:{port}', '--instance-url')).message).toMatch(
      /names no host/,
    )
    expect(parseInstanceUrl(' http://{host}:8080/ ', '--instance-url')).toBe('http://{host}:8080')
  })

  it('reads instance labels as Prometheus writes them', () => {
    expect(parseHostPort('10.1.2.3:9100')).toEqual({ host: '10.1.2.3', port: 9100 })
    expect(parseHostPort('[fd00::2]:9100')).toEqual({ host: 'fd00::2', port: 9100 })
    expect(parseHostPort('fd00::2')).toEqual({ host: 'fd00::2', port: null })
    expect(parseHostPort('pod-a.hotel')).toEqual({ host: 'pod-a.hotel', port: null })
    expect(parseHostPort('http://x:1')).toBeNull()
  })
})

describe('--dns-server and --max-parallel', () => {
  it('takes IP[:port] only', () => {
    expect(parseDnsServer('127.0.0.1:5353', '--dns-server')).toBe('127.0.0.1:5353')
    expect(parseDnsServer('[::1]:53', '--dns-server')).toBe('[::1]:53')
    expect(parseDnsServer('10.96.0.10', '--dns-server')).toBe('10.96.0.10')
    expect(thrown(() => parseDnsServer('kube-dns', '--dns-server')).message).toBe(
      '--dns-server: "kube-dns" is not a DNS server address',
    )
    expect(parseMaxParallel('8', '--max-parallel')).toBe(8)
    expect(thrown(() => parseMaxParallel('0', '--max-parallel')).message).toMatch(/^--max-parallel: "0"/)
  })
})

describe('discovery in the target and the config', () => {
  const base: ChaosConfig = { root: '/', targets: [], scenarioDirs: [], reportsDir: '/r', run: {} }

  it('makes a target of discovery alone, with the defaults', () => {
    const t = resolveTarget({ discover: [parseDiscoverSpec('dns:h.svc:80', '--discover')], token: 't' }, base)
    expect(t).toMatchObject({
      targets: [],
      maxParallel: 64,
      discovery: { instanceUrl: 'http://{address}', specs: [{ kind: 'dns' }] },
    })
    expect(resolveTarget({ token: 't' }, base)).toBeUndefined()
  })

  it('refuses every spec that cannot work as configured, at once', () => {
    const specs = ['prometheus:up', 'dns:h.svc'].map((s) => parseDiscoverSpec(s, '--discover'))
    const e = thrown(() =>
      resolveTarget({ discover: specs, token: 't', 'instance-url': 'http://{host}:{port}' }, base),
    )
    expect(e.message).toBe('2 discovery specs cannot work as configured')
    expect(e.details.join('\n')).toMatch(/prometheus:up: needs a Prometheus[\s\S]*dns:h\.svc: has no port/)
    const one = thrown(() => resolveTarget({ discover: specs.slice(0, 1), token: 't' }, base))
    expect(one.message).toBe('--discover prometheus:up: needs a Prometheus to ask')
    expect(thrown(() => resolveTarget({ discover: specs.slice(1) }, base)).message).toBe(
      'discovery is configured but no token',
    )
  })

  it('reads discover, instance_url, dns_servers and max_parallel from the config file, every problem listed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-discovery-'))
    try {
      const file = join(dir, 'chaos.config.yaml')
      await writeFile(
        file,
        [
          'discover: [\'prometheus-targets:hotel\', "dns+srv:_chaos._tcp.hotel.svc"]',
          'instance_url: http://{host}:8080/',
          'dns_servers: [127.0.0.1:5353]',
          'max_parallel: 8',
          'prometheus: http://127.0.0.1:9090',
        ].join('\n'),
      )
      const config = await loadConfig({ cwd: dir, env: {} })
      expect(config.discover?.map((s) => s.kind)).toEqual(['prometheus-targets', 'dns+srv'])
      expect(config).toMatchObject({
        instanceUrl: 'http://{host}:8080',
        dnsServers: ['127.0.0.1:5353'],
        maxParallel: 8,
      })
      expect(resolveTarget({ token: 't' }, config)).toMatchObject({
        maxParallel: 8,
        discovery: { prometheusUrl: 'http://127.0.0.1:9090', dnsServers: ['127.0.0.1:5353'] },
      })

      await writeFile(
        file,
        [
          'discover: [consul:x, dns:ok.svc]',
          'instance_url: http://{nope}',
          'dns_servers: [dns.google]',
          'max_parallel: 0',
        ].join('\n'),
      )
      const e = await loadConfig({ cwd: dir, env: {} }).then(
        () => null,
        (err: unknown) => err as InvalidInputError,
      )
      expect(e?.message).toMatch(/^4 problems in config file/)
      const lines = e!.details.join('\n')
      expect(lines).toMatch(/discover\[0\]: "consul:x" is not a discovery spec/)
      expect(lines).toMatch(/instance_url: "http:\/\/\{nope\}": \{nope\} is not a placeholder/)
      expect(lines).toMatch(/dns_servers\[0\]: "dns.google" is not a DNS server address/)
      expect(lines).toMatch(/max_parallel: must be at least 1/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
