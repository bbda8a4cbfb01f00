import { randomBytes } from 'node:crypto'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/cli/base-command.js'
import { InvalidInputError, RuntimeFailure, SafetyError } from '../src/errors.js'
import { createJsonLogger } from '../src/logger.js'
import { MIN_TOKEN_LENGTH } from '../src/protocol/schemas.js'
import { startSandbox } from '../src/sandbox/index.js'

export interface SandboxResult {
  url: string
  stopped_by: string
}

export default class Sandbox extends BaseCommand {
  static override summary = 'Run the built-in sandbox hotel service with the chaos agent mounted'
  static override description = `Starts "Agente Hotelero", a small hotel service (availability, bookings, WhatsApp, Gmail, sessions) whose dependencies sit behind timeouts, retries, circuit breakers, a database bulkhead, a stale cache and an outbox, with the chaos agent's control endpoint at /chaos. It runs in the foreground until Ctrl-C (SIGINT) or SIGTERM, which roll back any running experiment. The first line printed is "sandbox listening on http://HOST:PORT", then "token: <token>"; the agent's JSON logs go to stderr.`

  static override examples = [
    '<%= config.bin %> sandbox',
    '<%= config.bin %> sandbox --port 0',
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
    try {
      const sandbox = await startSandbox({
        port: flags.port,
        host: flags.host,
        token,
        logger,
        env: process.env,
        backgroundRps: flags['background-rps'],
      }).catch((err: Error & { code?: string }) => {
        if (err.code === 'EADDRINUSE') {
          throw new RuntimeFailure(
            `port ${flags.port} on ${flags.host} is already in use`,
            'pick another with --port (0 = any free port)',
          )
        }
        throw err
      })
      // The runner spawns this command and parses this first line: keep it stable.
      this.out.line(`sandbox listening on ${sandbox.url}`)
      this.out.line(`token: ${token}`)
      const signal = await stopped
      await sandbox.close()
      return { url: sandbox.url, stopped_by: signal }
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}
