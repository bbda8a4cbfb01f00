/**
 * A throwaway PostgreSQL 15 cluster (Debian package `postgresql`, installed by .ci/run) on a loopback
 * port, made with `initdb` and run with `pg_ctl` from /usr/lib/postgresql/15/bin, in a temporary
 * directory removed at stop; trust authentication for user `postgres`. It never uses the cluster
 * the Debian package may have started. PostgreSQL refuses to run as root, so as root the server
 * commands run as the `postgres` user (runuser) and the directory is handed to it.
 */
import { existsSync } from 'node:fs'
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { freePort } from './free-port.js'

/** Where Debian installs the PostgreSQL 15 server programs. */
export const PG_BIN = '/usr/lib/postgresql/15/bin'

/** A running PostgreSQL cluster. */
export interface PostgresServer {
  readonly host: string
  readonly port: number
  /** Stops the server (immediate mode) and removes its directory. */
  stop(): Promise<void>
}

/** Throws, saying what to install, unless the PostgreSQL 15 server programs and psql are installed. */
export function requirePostgres(): void {
  const missing = ['initdb', 'pg_ctl', 'psql'].filter((bin) => !existsSync(join(PG_BIN, bin)))
  if (missing.length > 0) {
    throw new Error(
      `PostgreSQL 15 not installed (${missing.map((bin) => join(PG_BIN, bin)).join(', ')} missing): install the ` +
        'Debian package postgresql (apt-get install --no-install-recommends postgresql, as .ci/run does)',
    )
  }
}

const asRoot = process.getuid?.() === 0

/** Runs a server program, as the `postgres` user when we are root. */
function asPostgres(bin: string, args: readonly string[]) {
  const path = join(PG_BIN, bin)
  return asRoot
    ? execa('runuser', ['-u', 'postgres', '--', path, ...args], { reject: false, all: true, stdin: 'ignore' })
    : execa(path, args, { reject: false, all: true, stdin: 'ignore' })
}

/**
 * Runs `psql` against `port` as user `postgres` with the given arguments (no psqlrc, unaligned,
 * tuples only); never rejects (the caller reads exitCode and output).
 */
export function psql(port: number, args: readonly string[]) {
  return execa(join(PG_BIN, 'psql'), psqlArgs(port, args), {
    reject: false,
    all: true,
    stdin: 'ignore',
    timeout: 60_000,
    env: { PGCONNECT_TIMEOUT: '10' },
  })
}

/** The arguments of {@link psql}, for callers that drive an interactive session themselves. */
export function psqlArgs(port: number, args: readonly string[]): string[] {
  return [
    '-X',
    '-A',
    '-t',
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'postgres',
    '-d',
    'postgres',
    ...args,
  ]
}

/** Makes a cluster in a temporary directory and starts it on a free loopback port. */
export async function startPostgres(): Promise<PostgresServer> {
  requirePostgres()
  const dir = await mkdtemp(join(tmpdir(), 'chaos-postgres-'))
  const data = join(dir, 'data')
  const removeDir = () => rm(dir, { recursive: true, force: true })
  if (asRoot) {
    const { stdout } = await execa('id', ['-u', 'postgres'])
    const { stdout: gid } = await execa('id', ['-g', 'postgres'])
    await chown(dir, Number(stdout), Number(gid))
  }
  const init = await asPostgres('initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '-E',
    'UTF8',
    '--locale=C',
  ])
  if (init.exitCode !== 0) {
    await removeDir()
    throw new Error(`initdb failed (exit ${init.exitCode}):\n${init.all}`)
  }
  const port = await freePort()
  const log = join(dir, 'server.log')
  // -k: the Unix socket in our directory, not /var/run/postgresql (the Debian cluster's).
  const options = `-k ${dir} -p ${port} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off`
  const start = await asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', log, '-w', '-t', '60', 'start'])
  const stop = async () => {
    await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
    await removeDir()
  }
  if (start.exitCode !== 0) {
    const serverLog = await readFile(log, 'utf8').catch(() => '')
    await stop()
    throw new Error(`pg_ctl start failed (exit ${start.exitCode}):\n${start.all}\n${serverLog}`)
  }
  return { host: '127.0.0.1', port, stop }
}
