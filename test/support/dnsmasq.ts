/**
 * A real DNS server (dnsmasq, Debian package) on a free loopback port, authoritative for one local
 * domain: A records (`--host-record`) and SRV records (`--srv-host`) given by the test. Ready when
 * it answers the first name with all its addresses.
 */
import { Resolver } from 'node:dns/promises'
import { execa, type ResultPromise } from 'execa'
import { startupBudgetMs } from './cli.js'
import { freePort } from './free-port.js'
import { pollUntil } from './poll.js'

/** dnsmasq's path: Debian installs it in /usr/sbin, which is not always on PATH. */
const DNSMASQ = '/usr/sbin/dnsmasq'

/** What the server answers: names in `domain` only (NXDOMAIN for the others in it). */
export interface DnsRecords {
  /** The local domain, without dots, e.g. `test`. */
  domain: string
  /** A records: one entry per address (a name may have several). */
  hosts: { name: string; address: string }[]
  /** SRV records: `name` (e.g. `_chaos._tcp.hotel.test`) → `target`:`port`. */
  srv?: { name: string; target: string; port: number }[]
}

/** A running dnsmasq: its `IP:PORT` (what `--dns-server` takes), and a stop that waits for it. */
export interface DnsServer {
  server: string
  child: ResultPromise
  stop(): Promise<void>
}

/** Starts dnsmasq with `records` and resolves once it answers the first host name in full. */
export async function startDnsmasq(records: DnsRecords): Promise<DnsServer> {
  const port = await freePort()
  const child = execa(
    DNSMASQ,
    [
      '--no-daemon',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      // Answer for the domain locally: NXDOMAIN for unknown names, no data for a missing AAAA.
      `--local=/${records.domain}/`,
      ...records.hosts.map((h) => `--host-record=${h.name},${h.address}`),
      ...(records.srv ?? []).map((s) => `--srv-host=${s.name},${s.target},${s.port}`),
    ],
    { reject: false, all: true, stdin: 'ignore', cleanup: true },
  )
  let output = ''
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  let exited = false
  void child.then(() => (exited = true))
  const server = `127.0.0.1:${port}`
  const first = records.hosts[0]
  if (first) {
    const expected = records.hosts.filter((h) => h.name === first.name).length
    const resolver = new Resolver({ timeout: 500, tries: 1 })
    resolver.setServers([server])
    await pollUntil(
      async () => {
        if (exited) throw new Error(`dnsmasq exited before it answered:\n${output}`)
        return resolver.resolve4(first.name).then(
          (a) => a.length === expected,
          () => undefined,
        )
      },
      { timeoutMs: startupBudgetMs(), everyMs: 100, what: `dnsmasq on ${server} to answer ${first.name}` },
    )
  }
  return {
    server,
    child,
    async stop() {
      child.kill('SIGTERM')
      await child
    },
  }
}
