/**
 * Framework adapters without a dependency on the framework: only the few members the agent touches are
 * typed here, structurally.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { handleControl, sendJson, type ControlTarget } from './control.js'

/** The part of a Fastify request the plugin uses. */
export interface FastifyLikeRequest {
  raw: IncomingMessage
}
/** The part of a Fastify reply the plugin uses. */
export interface FastifyLikeReply {
  raw: ServerResponse
  hijack(): unknown
}
/** The part of a Fastify instance the plugin uses. */
export interface FastifyLikeInstance {
  all(path: string, handler: (request: FastifyLikeRequest, reply: FastifyLikeReply) => Promise<void>): unknown
  addContentTypeParser?(
    contentType: string,
    parser: (request: unknown, payload: unknown, done: (err: Error | null, body?: unknown) => void) => void,
  ): unknown
  removeAllContentTypeParsers?(): unknown
}
export type FastifyLikePlugin = (
  instance: FastifyLikeInstance,
  opts: unknown,
  done: (err?: Error) => void,
) => void

/**
 * A Fastify plugin serving `prefix` and `prefix/*`: it hijacks the reply and lets the agent answer on
 * the raw request and response. Inside the plugin's (encapsulated) context, Fastify's body parsers are
 * replaced by a pass-through so the agent reads the body itself and applies its own 64 KiB limit.
 */
export function fastifyPlugin(target: ControlTarget): FastifyLikePlugin {
  return (instance, _opts, done) => {
    instance.removeAllContentTypeParsers?.()
    instance.addContentTypeParser?.('*', (_request, payload, next) => next(null, payload))
    const handler = async (request: FastifyLikeRequest, reply: FastifyLikeReply) => {
      reply.hijack()
      const handled = await handleControl(target, request.raw, reply.raw, request.raw.url ?? '/')
      if (!handled) sendJson(reply.raw, 404, { error: 'not found' })
    }
    instance.all(target.prefix, handler)
    instance.all(`${target.prefix}/*`, handler)
    done()
  }
}
