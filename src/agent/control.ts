/**
 * Control protocol v1 over HTTP (docs/control-protocol.md): routing, bearer auth, body limits and
 * validation. Bad input always gets a 4xx JSON answer `{error, problems?}`: never a 5xx, never a stack.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../logger.js'
import type { AgentInfo } from '../protocol/schemas.js'
import { ChaosControlError } from './errors.js'
import type { AgentExperimentView } from './experiment.js'

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 64 * 1024

/** What the control endpoint needs from the agent. */
export interface ControlTarget {
  readonly enabled: boolean
  readonly prefix: string
  readonly logger: Logger
  authorize(header: string | undefined): boolean
  info(): AgentInfo
  listExperiments(): AgentExperimentView[]
  getExperiment(id: string): AgentExperimentView | undefined
  startExperiment(body: unknown): AgentExperimentView
  renewLease(id: string, body: unknown): AgentExperimentView
  stopExperiment(id: string): AgentExperimentView
  stopAll(reason?: string): AgentExperimentView[]
}

/** Handles a control request; resolves false (touching nothing) when `url` is not under the prefix. */
export async function handleControl(
  target: ControlTarget,
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
): Promise<boolean> {
  const path = pathOf(url)
  const { prefix } = target
  if (path !== prefix && !path.startsWith(prefix + '/')) return false
  const method = req.method ?? 'GET'
  let status: number
  try {
    status = await route(target, req, res, method, path.slice(prefix.length))
  } catch (error) {
    // A bug, not bad input: still no stack trace on the wire.
    target.logger.error('chaos_control_error', { method, path: clip(path), message: String(error) })
    status = sendJson(res, 500, { error: 'internal error' })
  }
  target.logger.log(target.enabled ? 'info' : 'debug', 'chaos_control_request', {
    method: clip(method),
    path: clip(path),
    status,
  })
  return true
}

async function route(
  target: ControlTarget,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  rest: string,
): Promise<number> {
  // Disabled: the endpoint does not exist, whoever asks.
  if (!target.enabled) return sendJson(res, 404, { error: 'not found' })
  const auth = req.headers.authorization
  if (!target.authorize(typeof auth === 'string' ? auth : undefined)) {
    return sendJson(
      res,
      401,
      { error: 'missing or invalid bearer token' },
      { 'www-authenticate': 'Bearer realm="chaos"' },
    )
  }
  const trimmed = rest.endsWith('/') ? rest.slice(0, -1) : rest
  const segments = trimmed === '' ? [] : trimmed.slice(1).split('/')
  const isGet = method === 'GET' || method === 'HEAD'
  try {
    if (segments.length === 0) {
      if (!isGet) return notAllowed(res, 'GET, HEAD')
      return sendJson(res, 200, target.info())
    }
    if (segments[0] !== 'experiments' || segments.length > 3)
      return sendJson(res, 404, { error: 'not found' })
    if (segments.length === 1) {
      if (isGet) return sendJson(res, 200, { experiments: target.listExperiments() })
      if (method === 'POST') {
        const body = await readJsonBody(req)
        if (!body.ok) return sendBodyError(res, body)
        const experiment = target.startExperiment(body.value)
        return sendJson(
          res,
          201,
          { experiment },
          { location: `${target.prefix}/experiments/${experiment.id}` },
        )
      }
      if (method === 'DELETE') return sendJson(res, 200, { stopped: target.stopAll('DELETE /experiments') })
      return notAllowed(res, 'GET, HEAD, POST, DELETE')
    }
    const id = decode(segments[1]!)
    if (segments.length === 3) {
      if (segments[2] !== 'lease') return sendJson(res, 404, { error: 'not found' })
      if (method !== 'PUT') return notAllowed(res, 'PUT')
      if (id === null) throw new ChaosControlError(404, 'unknown experiment')
      // Unknown or ended experiments are reported before the body is even read.
      const known = target.getExperiment(id)
      if (known === undefined) throw new ChaosControlError(404, `unknown experiment "${id}"`)
      if (known.state !== 'RUNNING') {
        throw new ChaosControlError(
          410,
          `experiment "${id}" already ended (${known.state})`,
          undefined,
          known,
        )
      }
      const body = await readJsonBody(req)
      if (!body.ok) return sendBodyError(res, body)
      return sendJson(res, 200, { experiment: target.renewLease(id, body.value) })
    }
    if (isGet) {
      const experiment = id === null ? undefined : target.getExperiment(id)
      if (experiment === undefined) return sendJson(res, 404, { error: `unknown experiment "${id ?? ''}"` })
      return sendJson(res, 200, { experiment })
    }
    if (method === 'DELETE') {
      if (id === null) throw new ChaosControlError(404, 'unknown experiment')
      return sendJson(res, 200, { experiment: target.stopExperiment(id) })
    }
    return notAllowed(res, 'GET, HEAD, DELETE')
  } catch (error) {
    if (!(error instanceof ChaosControlError)) throw error
    return sendJson(res, error.status, {
      error: error.message,
      ...(error.problems && { problems: error.problems }),
      ...(error.experiment && { experiment: error.experiment }),
    })
  }
}

/** Writes a JSON answer (unless the response is already gone) and returns its status. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): number {
  if (res.headersSent || res.writableEnded) return status
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
  return status
}

function notAllowed(res: ServerResponse, allow: string): number {
  return sendJson(res, 405, { error: 'method not allowed' }, { allow })
}

type BodyResult =
  { ok: true; value: unknown } | { ok: false; status: 400 | 413; error: string; problems?: string[] }

const TOO_LARGE: BodyResult = {
  ok: false,
  status: 413,
  error: `request body exceeds ${MAX_BODY_BYTES} bytes`,
}

function sendBodyError(res: ServerResponse, body: Extract<BodyResult, { ok: false }>): number {
  // Closing the connection on 413 spares us reading (and the client sending) the rest of a huge body.
  const headers: Record<string, string> = body.status === 413 ? { connection: 'close' } : {}
  return sendJson(
    res,
    body.status,
    { error: body.error, ...(body.problems && { problems: body.problems }) },
    headers,
  )
}

/** Reads and parses a JSON body of at most MAX_BODY_BYTES. */
function readJsonBody(req: IncomingMessage): Promise<BodyResult> {
  const declared = Number(req.headers['content-length'])
  if (declared > MAX_BODY_BYTES) return Promise.resolve(TOO_LARGE)
  if (req.readableEnded) return Promise.resolve(preParsed((req as { body?: unknown }).body))
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const finish = (result: BodyResult) => {
      if (settled) return
      settled = true
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
      resolve(result)
    }
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      size += buffer.length
      if (size > MAX_BODY_BYTES) {
        finish(TOO_LARGE)
        req.resume() // discard the rest
        return
      }
      chunks.push(buffer)
    }
    const onEnd = () => finish(parseJson(Buffer.concat(chunks, size).toString('utf8')))
    const onError = () => finish({ ok: false, status: 400, error: 'request body could not be read' })
    const onClose = () => finish({ ok: false, status: 400, error: 'request body was cut short' })
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

/** A body a framework's parser already consumed (e.g. express.json() mounted before the agent). */
function preParsed(body: unknown): BodyResult {
  if (typeof body === 'string') return Buffer.byteLength(body) > MAX_BODY_BYTES ? TOO_LARGE : parseJson(body)
  if (Buffer.isBuffer(body))
    return body.length > MAX_BODY_BYTES ? TOO_LARGE : parseJson(body.toString('utf8'))
  if (body === undefined || body === null) return parseJson('')
  return { ok: true, value: body }
}

function parseJson(text: string): BodyResult {
  if (text.trim() === '') return { ok: false, status: 400, error: 'request body is required (a JSON object)' }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (error) {
    return { ok: false, status: 400, error: 'invalid JSON body', problems: [clip((error as Error).message)] }
  }
}

function pathOf(url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment)
  } catch {
    return null
  }
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}
