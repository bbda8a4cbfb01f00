/**
 * Runner side of control protocol v1: a typed client for one agent instance.
 * Every answer is validated with the shared wire-protocol schemas, so a protocol mismatch is a
 * clear runtime error, not a confusing crash later.
 */
import { request } from 'undici'
import { z } from 'zod'
import {
  AgentInfo,
  ErrorBody,
  ExperimentView,
  PROTOCOL_VERSION,
  type StartExperimentRequest,
} from '../protocol/schemas.js'

const ExperimentEnvelope = z.object({ experiment: ExperimentView })
/** `DELETE /chaos/experiments` answer: every experiment the emergency stop ended. */
const StoppedEnvelope = z.object({ stopped: z.array(ExperimentView) })

/**
 * A control call that got a non-2xx answer. The message carries the target's `problems` (the
 * reasons of a 400), e.g. `POST /experiments → 400: invalid experiment (lease_seconds: too big)`,
 * so every place that shows or records the error shows the target's reasons too.
 */
export class ControlError extends Error {
  override readonly name = 'ControlError'
  constructor(
    message: string,
    readonly status: number,
    readonly problems: readonly string[] = [],
  ) {
    super(message)
  }
}

/** The control endpoint could not be reached at all (connection refused, timeout, DNS). */
export class UnreachableError extends Error {
  override readonly name: string = 'UnreachableError'
}

/** Default timeout of one control call (ms). */
export const CONTROL_TIMEOUT_MS = 5000

/**
 * A control call that got no answer in time (a frozen or overloaded target): "<target> did not
 * answer within 5 s". An {@link UnreachableError}, so every caller treats it as one.
 */
export class ControlTimeoutError extends UnreachableError {
  override readonly name = 'ControlTimeoutError'
  constructor(target: string, timeoutMs: number) {
    super(`${target} did not answer within ${timeoutMs / 1000} s`)
  }
}

export interface ControlClientOptions {
  /** Base URL of the target service, e.g. http://127.0.0.1:8080 */
  target: string
  token: string
  prefix?: string
  timeoutMs?: number
}

/**
 * The runner's port to one target instance's control endpoint (control protocol v1). The engine
 * depends on this interface only, so a test can stand in a fake target and a proxy or another
 * transport can implement it. Errors: {@link UnreachableError} when the endpoint cannot be
 * reached, {@link ControlError} for any non-2xx or malformed answer.
 */
export interface ControlClient {
  /** Base URL of the target instance (no trailing slash); names it in messages and reports. */
  readonly target: string
  /** `GET /chaos`: agent info, wrapped services and active experiments; checks the protocol version. */
  info(signal?: AbortSignal): Promise<AgentInfo>
  /** `POST /chaos/experiments`. */
  start(body: StartExperimentRequest, signal?: AbortSignal): Promise<ExperimentView>
  /** `GET /chaos/experiments/:id`. */
  get(id: string, signal?: AbortSignal): Promise<ExperimentView>
  /** `PUT /chaos/experiments/:id/lease`. */
  renew(id: string, leaseSeconds: number, signal?: AbortSignal): Promise<ExperimentView>
  /** `DELETE /chaos/experiments/:id`: the experiment's rollback. */
  stop(id: string, signal?: AbortSignal): Promise<ExperimentView>
  /** `DELETE /chaos/experiments`: emergency stop of everything on this instance. */
  stopAll(signal?: AbortSignal): Promise<ExperimentView[]>
}

/** A {@link ControlClient} over HTTP (undici), answers validated with the shared wire schemas. */
export function createControlClient(options: ControlClientOptions): ControlClient {
  return new HttpControlClient(options)
}

class HttpControlClient implements ControlClient {
  readonly target: string
  private readonly base: string
  private readonly token: string
  private readonly timeoutMs: number

  constructor(options: ControlClientOptions) {
    this.target = options.target.replace(/\/+$/, '')
    this.base = this.target + (options.prefix ?? '/chaos')
    this.token = options.token
    this.timeoutMs = options.timeoutMs ?? CONTROL_TIMEOUT_MS
  }

  /** `GET /chaos`: agent info, wrapped services and active experiments. Checks the protocol version. */
  async info(signal?: AbortSignal): Promise<AgentInfo> {
    const info = await this.call('GET', '', AgentInfo, undefined, signal)
    if (info.protocol !== PROTOCOL_VERSION) {
      throw new ControlError(
        `target speaks control protocol ${info.protocol}, this runner speaks ${PROTOCOL_VERSION}`,
        0,
      )
    }
    return info
  }

  async start(body: StartExperimentRequest, signal?: AbortSignal): Promise<ExperimentView> {
    return (await this.call('POST', '/experiments', ExperimentEnvelope, body, signal)).experiment
  }

  async get(id: string, signal?: AbortSignal): Promise<ExperimentView> {
    return (
      await this.call('GET', `/experiments/${encodeURIComponent(id)}`, ExperimentEnvelope, undefined, signal)
    ).experiment
  }

  async renew(id: string, leaseSeconds: number, signal?: AbortSignal): Promise<ExperimentView> {
    return (
      await this.call(
        'PUT',
        `/experiments/${encodeURIComponent(id)}/lease`,
        ExperimentEnvelope,
        { lease_seconds: leaseSeconds },
        signal,
      )
    ).experiment
  }

  async stop(id: string, signal?: AbortSignal): Promise<ExperimentView> {
    return (
      await this.call(
        'DELETE',
        `/experiments/${encodeURIComponent(id)}`,
        ExperimentEnvelope,
        undefined,
        signal,
      )
    ).experiment
  }

  /** Emergency stop of everything on this instance. */
  async stopAll(signal?: AbortSignal): Promise<ExperimentView[]> {
    return (await this.call('DELETE', '/experiments', StoppedEnvelope, undefined, signal)).stopped
  }

  private async call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<z.infer<S>> {
    const timeout = AbortSignal.timeout(this.timeoutMs)
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
    let res
    try {
      res = await request(this.base + path, {
        method: method as 'GET',
        headers: {
          authorization: `Bearer ${this.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: combined,
      })
    } catch (err) {
      // The caller's own reason (Ctrl-C, a rollback budget) when it was the caller that aborted.
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : err
      if (timeout.aborted) throw new ControlTimeoutError(this.target, this.timeoutMs)
      const code = (err as { code?: unknown }).code
      throw new UnreachableError(
        `${this.target} unreachable: ${typeof code === 'string' ? code : (err as Error).message}`,
      )
    }
    let text: string
    try {
      text = await res.body.text()
    } catch (err) {
      // Headers came, the body did not (the target froze mid-answer).
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : err
      if (timeout.aborted) throw new ControlTimeoutError(this.target, this.timeoutMs)
      throw new UnreachableError(`${this.target} unreachable: ${(err as Error).message}`)
    }
    let json: unknown
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      throw new ControlError(
        `${method} ${this.base + path}: answer is not JSON (HTTP ${res.statusCode})`,
        res.statusCode,
      )
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const parsed = ErrorBody.safeParse(json)
      const message = parsed.success ? parsed.data.error : `HTTP ${res.statusCode}`
      const problems = parsed.data?.problems ?? []
      const reasons = problems.length > 0 ? ` (${problems.join('; ')})` : ''
      throw new ControlError(
        `${method} ${path || '/'} → ${res.statusCode}: ${message}${reasons}`,
        res.statusCode,
        problems,
      )
    }
    const parsed = schema.safeParse(json)
    if (!parsed.success) {
      throw new ControlError(
        `${method} ${path || '/'}: answer does not match control protocol v1`,
        res.statusCode,
      )
    }
    return parsed.data
  }
}
