/**
 * A throwaway Redis server (Debian package `redis-server`, installed by .ci/run) on a loopback port,
 * with no persistence, in a temporary directory removed at stop; and `redis-cli` to talk to it.
 */
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { execa } from 'execa'
import { freePort } from './free-port.js'
import { pollUntil } from './poll.js'

/** A running Redis server. */
export interface RedisServer {
  readonly host: string
  readonly port: number
  /** Stops the server and removes its directory. */
  stop(): Promise<void>
}

/** True when `name` is an executable on PATH. */
export function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** Throws, saying what to install, unless `redis-server` and `redis-cli` are installed. */
export function requireRedis(): void {
  const missing = ['redis-server', 'redis-cli'].filter((bin) => !onPath(bin))
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(' and ')} not installed: install the Debian package redis-server ` +
        '(apt-get install --no-install-recommends redis-server, as .ci/run does)',
    )
  }
}

/** Runs `redis-cli -h host -p port ...args`; never rejects (the caller reads exitCode and output). */
export function redisCli(port: number, args: readonly string[]) {
  return execa('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    reject: false,
    all: true,
    stdin: 'ignore',
    timeout: 60_000,
  })
}

/** Starts redis-server on a free loopback port and resolves once it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  requireRedis()
  const dir = await mkdtemp(join(tmpdir(), 'chaos-redis-'))
  const port = await freePort()
  const child = execa(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { reject: false, all: true, stdin: 'ignore', cleanup: true },
  )
  let output = ''
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  let exited = false
  void child.then(() => (exited = true))
  const stop = async () => {
    child.kill('SIGTERM')
    await child
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await pollUntil(
      async () => {
        if (exited) throw new Error(`redis-server exited before it was ready:\n${output}`)
        const ping = await redisCli(port, ['PING'])
        return ping.stdout.trim() === 'PONG' || undefined
      },
      { what: `redis-server on 127.0.0.1:${port} to answer PING`, everyMs: 50 },
    )
  } catch (error) {
    await stop()
    throw error
  }
  return { host: '127.0.0.1', port, stop }
}
