import { randomBytes } from 'node:crypto'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { InvalidInputError, RuntimeFailure, SafetyError } from '../src/errors.js'
import { createJsonLogger } from '../src/logger.js'
import { MIN_TOKEN_LENGTH } from '../src/protocol/schemas.js'
import {
  HTTP_DEPENDENCIES,
  isHttpDependency,
  startDependencyServer,
  startSandbox,
  type HttpDependencyName,
} from '../src/sandbox/index.js'

export interface SandboxResult {
  url: string
  stopped_by: string
}

/** `--dependency NAME=URL` values as a record; exit 2 on a bad name, URL or repetition. */
function parseDependencies(values: readonly string[]): Partial<Record<HttpDependencyName, string>> {
  const out: Partial<Record<HttpDependencyName, string>> = {}
  const hint = `use NAME=URL with NAME one of ${HTTP_DEPENDENCIES.join(', ')}, e.g. --dependency pms_adapter=http://127.0.0.1:18080`
  for (const value of values) {
    const eq = value.indexOf('=')
    const name = eq < 0 ? value : value.slice(0, eq)
    const url = eq < 0 ? '' : value.slice(eq + 1)
    if (!isHttpDependency(name))
      throw new InvalidInputError(`--dependency: "${name}" is not a dependency reachable over HTTP`, hint)
    if (out[name] !== undefined) throw new InvalidInputError(`--dependency: ${name} given twice`, hint)
    let parsed: URL | undefined
    try {
      parsed = new URL(url)
    } catch {
      parsed = undefined
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
      throw new InvalidInputError(`--dependency: ${name}: "${url}" is not an http(s) URL`, hint)
    out[name] = url
  }
  return out
}

export default class Sandbox extends BaseCommand {
  static override summary = 'Run the built-in sandbox hotel service with the chaos agent mounted'
  static override description = `Starts "Agente Hotelero", a small hotel service (availability, bookings, WhatsApp, Gmail, sessions) whose dependencies sit behind timeouts, retries, circuit breakers, a database bulkhead, a stale cache and an outbox, with the chaos agent's control endpoint at /chaos. It runs in the foreground until Ctrl-C (SIGINT) or SIGTERM, which roll back any running experiment. The first line printed is "sandbox listening on http://HOST:PORT", then "token: <token>"; the agent's JSON logs go to stderr.

With --dependency NAME=URL the PMS, WhatsApp or Gmail is called over HTTP at URL (the fake dependency server, or chaos proxy in front of it) instead of being simulated in process; with --no-agent no agent is mounted (no /chaos, no token line), so faults come from a proxy. --dependencies-only starts just the fake dependency server (PMS, WhatsApp and Gmail over HTTP) and prints "dependencies listening on http://HOST:PORT".`

  static override examples = [
    '<%= config.bin %> sandbox',
    '<%= config.bin %> sandbox --port 0',
    '<%= config.bin %> sandbox --dependencies-only --port 8090',
    '<%= config.bin %> sandbox --no-agent --dependency pms_adapter=http://127.0.0.1:18080 --dependency whatsapp_client=http://127.0.0.1:18081 --dependency gmail_client=http://127.0.0.1:18082',
    'CHAOS_TOKEN=$(openssl rand -hex 32) <%= config.bin %> sandbox --port 8080 --host 0.0.0.0',
  ]

  static override flags = {
    port: Flags.integer({ description: 'TCP port (0 = any free port)', default: 8080, min: 0, max: 65535 }),
    host: Flags.string({ description: 'interface to listen on (loopback by default)', default: '127.0.0.1' }),
    token: Flags.string({
      description: 'Bearer token of the control endpoint (default: CHAOS_TOKEN, else a random one)',
      env: 'CHAOS_TOKEN',
    }),
    'background-rps': Flags.integer({
      description:
        'background "real user" traffic: requests per second to its own routes, untagged (0 = none); shows a SINGLE_REQUEST experiment\'s collateral',
      default: 0,
      min: 0,
      max: 1000,
    }),
    agent: Flags.boolean({
      description:
        'mount the chaos agent at /chaos (--no-agent: none; faults then come from chaos proxy in front of the --dependency URLs)',
      default: true,
      allowNo: true,
    }),
    dependency: Flags.string({
      description: `call a dependency over HTTP at URL instead of simulating it (NAME: ${HTTP_DEPENDENCIES.join(', ')}; repeatable)`,
      multiple: true,
      helpValue: 'NAME=URL',
      exclusive: ['dependencies-only'],
    }),
    'dependencies-only': Flags.boolean({
      description:
        'start only the fake dependency server: the PMS (/pms), WhatsApp (/whatsapp) and Gmail (/gmail) APIs over HTTP, for --dependency',
      default: false,
      exclusive: ['dependency', 'background-rps'],
    }),
  }

  async run(): Promise<SandboxResult> {
    const { flags } = await this.parse(Sandbox)
    // The agent would refuse too; saying it here gives the documented exit code (3) and a clear line.
    if (process.env.NODE_ENV === 'production') {
      throw new SafetyError(
        'the sandbox refuses to run with NODE_ENV=production',
        'unset NODE_ENV: the sandbox is a test target',
      )
    }
    if (flags.token && flags.token.length < MIN_TOKEN_LENGTH) {
      throw new InvalidInputError(
        `--token (or CHAOS_TOKEN) is ${flags.token.length} characters; the agent needs at least ${MIN_TOKEN_LENGTH}`,
        'use a long random token (e.g. openssl rand -hex 32), or leave it out for a random one',
      )
    }
    const token = flags.token || randomBytes(24).toString('base64url')
    const dependencies = parseDependencies(flags.dependency ?? [])
    const logger = createJsonLogger(process.stderr, { minLevel: flags.debug ? 'debug' : 'info' })

    // Listen for signals before anything is printed: whoever reads the listening line may signal at
    // once. The listener stays installed during shutdown, so a second Ctrl-C cannot skip the rollback.
    let onSignal: (sig: NodeJS.Signals) => void = () => {}
    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      onSignal = (sig) => resolve(sig)
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      // Started by `chaos run` as its default target: stop when the runner is gone, even if it was
      // SIGKILLed (its end of our stdin pipe closes), so no sandbox outlives the run.
      if (process.env.CHAOS_SANDBOX_PARENT === 'stdin') {
        process.stdin.on('close', () => resolve('SIGHUP'))
        process.stdin.on('end', () => resolve('SIGHUP'))
        process.stdin.resume()
      }
    })
    const portInUse = (err: Error & { code?: string }) => {
      if (err.code === 'EADDRINUSE') {
        throw new RuntimeFailure(
          `port ${flags.port} on ${flags.host} is already in use`,
          'pick another with --port (0 = any free port)',
        )
      }
      throw err
    }
    try {
      if (flags['dependencies-only']) {
        const server = await startDependencyServer({ port: flags.port, host: flags.host, logger }).catch(
          portInUse,
        )
        this.out.line(`dependencies listening on ${server.url}`)
        const signal = await stopped
        await server.close()
        return { url: server.url, stopped_by: signal }
      }
      const sandbox = await startSandbox({
        port: flags.port,
        host: flags.host,
        token,
        logger,
        env: process.env,
        backgroundRps: flags['background-rps'],
        withAgent: flags.agent,
        dependencies,
      }).catch(portInUse)
      // The runner spawns this command and parses this first line: keep it stable.
      this.out.line(`sandbox listening on ${sandbox.url}`)
      // Without an agent there is no control endpoint, so no token to print.
      if (flags.agent) this.out.line(`token: ${token}`)
      const signal = await stopped
      await sandbox.close()
      return { url: sandbox.url, stopped_by: signal }
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}
