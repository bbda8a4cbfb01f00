/**
 * The "Agente Hotelero" business logic behind the sandbox's routes: availability with a stale-cache
 * fallback, bookings across PMS and database (with compensation; queued while the PMS rate-limits
 * us), WhatsApp and Gmail sends with an outbox for degraded mode, and sessions with a database
 * fallback.
 */
import { z } from 'zod'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { AvailabilityCache } from './availability-cache.js'
import type { DependencyClient } from './client.js'
import type { DependencyName } from './dependencies.js'
import { HttpError, validate } from './http.js'
import type { SandboxMetrics } from './metrics.js'
import type { Outbox } from './outbox.js'
import { DependencyFailure, describeError, type BreakerState } from './resilience.js'
import {
  ROOM_INVENTORY,
  ROOM_TYPES,
  dayOf,
  formatDay,
  parseDay,
  touchSession,
  type BoundedMap,
  type BookingRow,
  type DatabaseState,
  type MessagingApi,
  type NightAvailability,
  type PmsApi,
  type Session,
} from './systems.js'

/** Longest stay the API accepts. */
export const MAX_NIGHTS = 30
/** Nights the availability cache is warmed with at start-up. */
export const WARM_UP_NIGHTS = 180

export interface Reply {
  status: number
  body: unknown
  headers?: Record<string, string>
}

export interface HotelClients {
  pms: DependencyClient<PmsApi>
  whatsapp: DependencyClient<MessagingApi>
  gmail: DependencyClient<MessagingApi>
  database: DependencyClient<DatabaseState>
  sessions: DependencyClient<BoundedMap<Session>>
}

export interface MessagePayload {
  to: string
  text: string
}
export interface EmailPayload {
  to: string
  subject: string
  body: string
}

const date = z.string().refine((s) => parseDay(s) !== undefined, 'must be a date YYYY-MM-DD')
const stay = { check_in: date, check_out: date }

const AvailabilityQuery = z.object(stay)
const BookingBody = z.object({
  guest_name: z.string().trim().min(1).max(200),
  room_type: z.enum(ROOM_TYPES),
  ...stay,
})
/** A booking request as accepted by the API. */
export type BookingInput = z.infer<typeof BookingBody>
const MessageBody = z.object({
  to: z.string().regex(/^\+?[0-9][0-9 ]{5,19}$/, 'must be a phone number such as +34600123456'),
  text: z.string().min(1).max(4096),
})
const EmailBody = z.object({
  to: z.email(),
  subject: z.string().min(1).max(300),
  body: z.string().max(32_000),
})
const SESSION_ID = /^[A-Za-z0-9_.+-]{1,64}$/

/** Nights of a stay, or 400 when check_out is not after check_in or the stay is too long. */
function nightsOf(checkIn: string, checkOut: string): { first: number; nights: number } {
  const first = parseDay(checkIn)!
  const nights = parseDay(checkOut)! - first
  if (nights < 1) throw new HttpError(400, 'invalid stay', ['check_out: must be after check_in'])
  if (nights > MAX_NIGHTS)
    throw new HttpError(400, 'invalid stay', [`check_out: stays are at most ${MAX_NIGHTS} nights`])
  return { first, nights }
}

function renderRooms(calendar: Map<number, NightAvailability>, nights: number) {
  return ROOM_TYPES.map((type) => {
    let available = Infinity
    for (const free of calendar.values()) available = Math.min(available, free[type])
    const price = ROOM_INVENTORY[type].price
    return { room_type: type, available, price_per_night: price, total_price: price * nights }
  })
}

export class Hotel {
  private nextMessageId = 1
  private nextPendingId = 1

  constructor(
    private readonly clients: HotelClients,
    private readonly cache: AvailabilityCache,
    readonly outboxes: { whatsapp: Outbox<MessagePayload>; gmail: Outbox<EmailPayload> },
    /** Bookings accepted while the PMS rate-limited us, submitted later by the background drain. */
    readonly pendingBookings: Outbox<BookingInput>,
    private readonly metrics: SandboxMetrics,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Aborted when the sandbox closes: work that must outlive a request (compensation, drain). */
    private readonly lifetime: AbortSignal,
  ) {}

  /** Fills the availability cache with the coming months, so the PMS fallback works from the start. */
  async warmUp(): Promise<void> {
    const first = dayOf(this.clock.now())
    try {
      this.cache.put(await this.clients.pms.call((pms) => pms.calendar(first, WARM_UP_NIGHTS), this.lifetime))
      this.logger.info('sandbox_cache_warmed', { nights: WARM_UP_NIGHTS, from: formatDay(first) })
    } catch (err) {
      this.logger.warn('sandbox_cache_warm_up_failed', { error: describeError(err) })
    }
  }

  /** `GET /api/availability`: fresh from the PMS, else the last good answer from the cache. */
  async availability(query: URLSearchParams, signal: AbortSignal): Promise<Reply> {
    const params = AvailabilityQuery.safeParse(Object.fromEntries(query))
    if (!params.success) {
      throw new HttpError(
        400,
        'invalid query',
        params.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      )
    }
    const { check_in, check_out } = params.data
    const { first, nights } = nightsOf(check_in, check_out)
    const answer = (calendar: Map<number, NightAvailability>, stale: boolean) => ({
      check_in,
      check_out,
      nights,
      rooms: renderRooms(calendar, nights),
      stale,
    })
    try {
      const calendar = await this.clients.pms.call((pms) => pms.calendar(first, nights), signal)
      this.cache.put(calendar)
      return { status: 200, body: answer(calendar, false) }
    } catch (err) {
      if (!(err instanceof DependencyFailure)) throw err
      const cached = this.cache.get(first, nights)
      if (!cached) throw err
      this.metrics.cacheFallbacks.inc()
      return { status: 200, body: answer(cached, true), headers: { 'x-cache': 'STALE' } }
    }
  }

  /**
   * `POST /api/bookings`: reserve in the PMS, record in the database. When the PMS cannot take the
   * reservation (rate limit, breaker open, errors or timeouts after the retries) the booking is
   * queued (202, degraded mode) for the background drain; database failures still answer 503.
   */
  async createBooking(body: unknown, signal: AbortSignal): Promise<Reply> {
    const input = validate(BookingBody, body)
    nightsOf(input.check_in, input.check_out)
    try {
      return { status: 201, body: { booking: await this.submitBooking(input, signal) } }
    } catch (err) {
      if (!(err instanceof DependencyFailure && err.targetService === 'pms_adapter')) throw err
      const id = `PB-${this.nextPendingId++}`
      const queued = this.pendingBookings.enqueue({
        id,
        payload: input,
        queued_at: new Date(this.clock.now()).toISOString(),
        reason: err.kind,
      })
      if (!queued) throw err
      this.logger.info('sandbox_booking_queued', { pending_id: id, reason: err.kind })
      return {
        status: 202,
        body: { booking: { id, ...input, status: 'PENDING' }, queued: true, reason: err.kind },
      }
    }
  }

  /** Reserves in the PMS, then records the booking; cancels the reservation if the record fails. */
  private async submitBooking(input: BookingInput, signal: AbortSignal): Promise<BookingRow> {
    const { first, nights } = nightsOf(input.check_in, input.check_out)
    const reservation = await this.clients.pms.call(
      (pms) => pms.reserve(input.room_type, first, nights),
      signal,
    )
    try {
      const createdAt = new Date(this.clock.now()).toISOString()
      return await this.clients.database.call((db) => {
        const row: BookingRow = {
          id: `BK-${db.nextBookingId++}`,
          guest_name: input.guest_name,
          room_type: input.room_type,
          check_in: input.check_in,
          check_out: input.check_out,
          nights,
          total_price: ROOM_INVENTORY[input.room_type].price * nights,
          pms_reservation_id: reservation.pms_reservation_id,
          status: 'CONFIRMED',
          created_at: createdAt,
        }
        db.bookings.set(row.id, row)
        return { ...row }
      }, signal)
    } catch (err) {
      // Compensate so that the PMS does not keep a room the database never recorded.
      await this.clients.pms
        .call((pms) => pms.cancel(reservation.pms_reservation_id), this.lifetime)
        .catch((cancelErr: unknown) =>
          this.logger.warn('sandbox_booking_compensation_failed', {
            pms_reservation_id: reservation.pms_reservation_id,
            error: describeError(cancelErr),
          }),
        )
      throw err
    }
  }

  /**
   * `POST /api/messages`: reads the guest's session, then sends with WhatsApp; queued in the outbox
   * when WhatsApp is down. Without any session source the reply still goes out (reduced context).
   */
  async sendMessage(body: unknown, signal: AbortSignal): Promise<Reply> {
    const input = validate(MessageBody, body)
    let source: string
    try {
      source = (await this.readSession(input.to.replace(/\s+/g, ''), signal)).source
    } catch (err) {
      if (!(err instanceof DependencyFailure)) throw err
      source = 'unavailable'
    }
    const reply = await this.deliver(this.clients.whatsapp, this.outboxes.whatsapp, input, signal)
    return { status: 202, body: { ...reply, session_source: source } }
  }

  /** `POST /api/emails`: Gmail send; queued in the outbox when Gmail is down. */
  async sendEmail(body: unknown, signal: AbortSignal): Promise<Reply> {
    const input = validate(EmailBody, body)
    return { status: 202, body: await this.deliver(this.clients.gmail, this.outboxes.gmail, input, signal) }
  }

  /** `GET /api/sessions/:id`: from the session store, else from the database. */
  async getSession(id: string, signal: AbortSignal): Promise<Reply> {
    if (!SESSION_ID.test(id))
      throw new HttpError(400, 'invalid session id', ['id: letters, digits, _ . + - (1-64)'])
    const { session, source } = await this.readSession(id, signal)
    return { status: 200, body: { session, source } }
  }

  /** Breaker state of every dependency. */
  breakerStates(): Record<DependencyName, BreakerState> {
    const c = this.clients
    return {
      pms_adapter: c.pms.state,
      whatsapp_client: c.whatsapp.state,
      gmail_client: c.gmail.state,
      database: c.database.state,
      session_store: c.sessions.state,
    }
  }

  /** Delivers what waits in the outboxes and the booking queue (background; each stops at its first failure). */
  async drainOutboxes(): Promise<void> {
    const drains: Array<[string, () => Promise<number>]> = [
      [
        'whatsapp',
        () =>
          this.outboxes.whatsapp.drain(() => this.clients.whatsapp.call((p) => p.deliver(), this.lifetime)),
      ],
      [
        'gmail',
        () => this.outboxes.gmail.drain(() => this.clients.gmail.call((p) => p.deliver(), this.lifetime)),
      ],
      [
        'bookings',
        () =>
          this.pendingBookings.drain(async (item) => {
            const row = await this.submitBooking(item.payload, this.lifetime)
            this.logger.info('sandbox_booking_submitted', { pending_id: item.id, booking_id: row.id })
          }),
      ],
    ]
    for (const [channel, drain] of drains) {
      const sent = await drain()
      if (sent > 0) this.logger.info('sandbox_outbox_drained', { channel, sent })
    }
  }

  private async readSession(
    id: string,
    signal: AbortSignal,
  ): Promise<{ session: Session; source: 'session_store' | 'database' }> {
    const nowIso = () => new Date(this.clock.now()).toISOString()
    let read: { session: Session; created: boolean }
    try {
      read = await this.clients.sessions.call((store) => touchSession(store, id, nowIso()), signal)
    } catch (err) {
      if (!(err instanceof DependencyFailure)) throw err
      const { session } = await this.clients.database.call(
        (db) => touchSession(db.sessions, id, nowIso()),
        signal,
      )
      return { session, source: 'database' }
    }
    if (read.created) {
      // Write-through of new sessions, so the database can stand in when the store fails.
      const copy = read.session
      await this.clients.database
        .call((db) => db.sessions.set(id, { ...copy }), signal)
        .catch((err: unknown) => {
          if (!(err instanceof DependencyFailure)) throw err
          this.logger.debug('sandbox_session_persist_failed', { error: err.message })
        })
    }
    return { session: read.session, source: 'session_store' }
  }

  private async deliver<P>(
    client: DependencyClient<MessagingApi>,
    outbox: Outbox<P>,
    payload: P,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    try {
      const id = await client.call((provider) => provider.deliver(), signal)
      return { message: { id, status: 'SENT' }, queued: false }
    } catch (err) {
      if (!(err instanceof DependencyFailure)) throw err
      const id = `OUT-${this.nextMessageId++}`
      const queued = outbox.enqueue({
        id,
        payload,
        queued_at: new Date(this.clock.now()).toISOString(),
        reason: err.kind,
      })
      if (!queued) throw err
      return { message: { id, status: 'QUEUED' }, queued: true, reason: err.kind }
    }
  }
}
