/**
 * The sandbox's PMS, WhatsApp and Gmail calls over real HTTP, to the fake dependency server
 * (dependency-server.ts) or to anything in front of it, such as `chaos proxy`. An answer that is
 * not 2xx, a refused or reset connection, or no answer before the per-attempt timeout is the
 * dependency failing, and meets the same resilience policies as a simulated call does.
 *
 * The inbound request's signed workload tag (`x-chaos-experiment`, `x-chaos-signature`) is copied
 * onto every outbound call made for it, so a proxy applies a SINGLE_REQUEST fault exactly to the
 * runner's tagged requests: what any service must do to be driven through `chaos proxy`.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingHttpHeaders } from 'node:http'
import { z } from 'zod'
import { EXPERIMENT_HEADER } from '../protocol/schemas.js'
import { SIGNATURE_HEADER } from '../protocol/tag.js'
import type { CallContext, DependencyName, RemoteSend } from './dependencies.js'
import {
  ROOM_TYPES,
  formatDay,
  parseDay,
  type MessagingApi,
  type NightAvailability,
  type PmsApi,
  type PmsReservation,
} from './systems.js'

/** The dependencies that can be reached over HTTP; the database and the session store stay in process. */
export const HTTP_DEPENDENCIES = ['pms_adapter', 'whatsapp_client', 'gmail_client'] as const
export type HttpDependencyName = (typeof HTTP_DEPENDENCIES)[number]

/** True when `name` is one of {@link HTTP_DEPENDENCIES}. */
export function isHttpDependency(name: string): name is HttpDependencyName {
  return (HTTP_DEPENDENCIES as readonly string[]).includes(name)
}

/** Path prefix of each dependency's API on the fake dependency server. */
export const API_PREFIX: Readonly<Record<HttpDependencyName, string>> = {
  pms_adapter: '/pms',
  whatsapp_client: '/whatsapp',
  gmail_client: '/gmail',
}

const tagStore = new AsyncLocalStorage<Record<string, string>>()

/**
 * Runs `fn` with the workload tag of the inbound request `headers` (if it carries one) as the tag
 * of every outbound dependency call made inside it, retries and compensations included.
 */
export function runWithRequestTag<T>(headers: IncomingHttpHeaders, fn: () => T): T {
  const id = headers[EXPERIMENT_HEADER]
  if (typeof id !== 'string') return tagStore.run({}, fn)
  const tag: Record<string, string> = { [EXPERIMENT_HEADER]: id }
  const signature = headers[SIGNATURE_HEADER]
  if (typeof signature === 'string') tag[SIGNATURE_HEADER] = signature
  return tagStore.run(tag, fn)
}

/** The tag headers of the request being served (none in background work: drains, warm-up). */
export function currentTagHeaders(): Record<string, string> {
  return tagStore.getStore() ?? {}
}

/** A dependency answered with a status other than 2xx. `status` drives retries and the breaker. */
export class DependencyHttpError extends Error {
  override readonly name = 'DependencyHttpError'
  constructor(
    readonly targetService: DependencyName,
    readonly status: number,
    detail: string,
  ) {
    super(`${targetService} answered HTTP ${status}${detail ? `: ${detail}` : ''}`)
  }
}

/** One JSON request to a dependency's API. */
export type HttpCall = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => Promise<unknown>

/** Largest answer body quoted in an error message. */
const DETAIL_CHARS = 200

/** Calls of one attempt: they end when the attempt's signal aborts (its timeout, or the client leaving). */
function httpCaller(name: HttpDependencyName, baseUrl: string, signal: AbortSignal): HttpCall {
  return async (method, path, body) => {
    const headers: Record<string, string> = { accept: 'application/json', ...currentTagHeaders() }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(baseUrl + path, {
      method,
      headers,
      signal,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    if (!res.ok) throw new DependencyHttpError(name, res.status, text.slice(0, DETAIL_CHARS))
    // A 2xx that is not JSON is a broken dependency too: the parse error is retried like a 5xx.
    return text === '' ? undefined : (JSON.parse(text) as unknown)
  }
}

/**
 * A remote system reached over HTTP: each call (attempt) builds the API `S` on a caller bound to
 * the attempt's signal and the current request's tag, then runs the operation on it.
 */
export class HttpRemote<S> {
  readonly send: RemoteSend<S>

  constructor(name: HttpDependencyName, baseUrl: string, api: (call: HttpCall) => S) {
    const base = baseUrl.replace(/\/+$/, '')
    this.send = async (ctx: CallContext, op) => await op(api(httpCaller(name, base, ctx.signal)))
  }
}

const Rooms = z.object(Object.fromEntries(ROOM_TYPES.map((t) => [t, z.number().int().min(0)])))
const Calendar = z.object({
  nights: z.array(z.object({ date: z.string(), rooms: Rooms })),
})
const Reservation = z.object({
  pms_reservation_id: z.string(),
  room_type: z.enum(ROOM_TYPES),
  check_in: z.string(),
  nights: z.number().int().min(1),
})
const Cancelled = z.object({ cancelled: z.boolean() })
const Delivered = z.object({ id: z.string() })

/** Parses a dependency's answer; a malformed one fails the attempt (and is retried). */
function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new Error(`malformed ${what} answer: ${parsed.error.issues[0]?.message ?? ''}`)
  return parsed.data
}

function dayOfDate(date: string, what: string): number {
  const day = parseDay(date)
  if (day === undefined) throw new Error(`malformed ${what} answer: date "${date}"`)
  return day
}

/** The PMS API over HTTP (see docs/sandbox.md, "Fake dependency server"). */
export function httpPmsApi(call: HttpCall): PmsApi {
  return {
    async calendar(firstNight, nights) {
      const query = `check_in=${formatDay(firstNight)}&nights=${nights}`
      const answer = parse(
        Calendar,
        await call('GET', `${API_PREFIX.pms_adapter}/availability?${query}`),
        'PMS',
      )
      return new Map(
        answer.nights.map((n) => [dayOfDate(n.date, 'PMS'), n.rooms as NightAvailability] as const),
      )
    },
    async reserve(roomType, firstNight, nights): Promise<PmsReservation> {
      const body = { room_type: roomType, check_in: formatDay(firstNight), nights }
      const r = parse(Reservation, await call('POST', `${API_PREFIX.pms_adapter}/reservations`, body), 'PMS')
      return {
        pms_reservation_id: r.pms_reservation_id,
        room_type: r.room_type,
        first_night: dayOfDate(r.check_in, 'PMS'),
        nights: r.nights,
      }
    },
    async cancel(id) {
      const path = `${API_PREFIX.pms_adapter}/reservations/${encodeURIComponent(id)}`
      return parse(Cancelled, await call('DELETE', path), 'PMS').cancelled
    },
  }
}

/** A messaging provider's API over HTTP (WhatsApp or Gmail). */
export function httpMessagingApi(name: 'whatsapp_client' | 'gmail_client'): (call: HttpCall) => MessagingApi {
  return (call) => ({
    async deliver() {
      return parse(Delivered, await call('POST', `${API_PREFIX[name]}/messages`, {}), name).id
    },
  })
}
