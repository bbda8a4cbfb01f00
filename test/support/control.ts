/**
 * A control client for the tests: the chaos control endpoint over real HTTP (fetch + Bearer token),
 * the way the runner talks to an agent. `request` is the raw form for protocol tests.
 */
import { expect } from 'vitest'

export interface Reply<T = Record<string, unknown>> {
  status: number
  body: T
  headers: Headers
}

/** One HTTP request; `body` is sent as JSON, `raw` as is; `token: null` (or omitted) sends no auth. */
export async function request<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token != null) headers.authorization = `Bearer ${options.token}`
  let body: string | undefined
  if (options.raw !== undefined) body = options.raw
  else if (options.body !== undefined) body = JSON.stringify(options.body)
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(base + path, { method, headers, body })
  const text = await response.text()
  return {
    status: response.status,
    body: (text === '' ? {} : JSON.parse(text)) as T,
    headers: response.headers,
  }
}

/** An experiment as the control endpoint shows it. */
export interface ExperimentView {
  id: string
  state: string
  calls_seen: number
  faults_injected: number
  lease_expires_at: string
  ended_at?: string | null
  end_reason?: string
}

export interface ControlClient {
  /** `GET /chaos`: the agent and its active experiments. */
  info(): Promise<{ active_experiments: ExperimentView[]; [field: string]: unknown }>
  /** `GET /chaos/experiments`: every experiment the agent remembers. */
  list(): Promise<ExperimentView[]>
  /** `POST /chaos/experiments`; expects 201. */
  start(
    id: string,
    targetService: string,
    faultConfig: Record<string, unknown>,
    leaseSeconds?: number,
  ): Promise<ExperimentView>
  /** `GET /chaos/experiments/:id`; expects 200. */
  get(id: string): Promise<ExperimentView>
  /** `DELETE /chaos/experiments/:id` (rollback); expects 200. */
  stop(id: string): Promise<ExperimentView>
}

/** The control client of the agent at `url` (sandbox or host service). */
export function controlClient(url: string, token: string): ControlClient {
  async function ok<T>(method: string, path: string, expected: number, body?: unknown): Promise<T> {
    const reply = await request<T>(url, method, path, { token, body })
    expect(reply.status, `${method} ${path}: ${JSON.stringify(reply.body)}`).toBe(expected)
    return reply.body
  }
  const experimentPath = (id: string) => `/chaos/experiments/${encodeURIComponent(id)}`
  return {
    info: () => ok('GET', '/chaos', 200),
    list: async () =>
      (await ok<{ experiments: ExperimentView[] }>('GET', '/chaos/experiments', 200)).experiments,
    start: async (id, targetService, faultConfig, leaseSeconds = 60) =>
      (
        await ok<{ experiment: ExperimentView }>('POST', '/chaos/experiments', 201, {
          id,
          target_service: targetService,
          fault_config: faultConfig,
          lease_seconds: leaseSeconds,
        })
      ).experiment,
    get: async (id) => (await ok<{ experiment: ExperimentView }>('GET', experimentPath(id), 200)).experiment,
    stop: async (id) =>
      (await ok<{ experiment: ExperimentView }>('DELETE', experimentPath(id), 200)).experiment,
  }
}
