/**
 * In-memory state of the remote systems the sandbox talks to: the PMS (QloApps) inventory and
 * reservations, the WhatsApp and Gmail providers, the session store and the database tables.
 * Operations on them run only after a simulated round trip (see {@link SimulatedRemote}), or on a
 * fake dependency server over HTTP (dependency-server.ts) that holds the same state.
 */

export const ROOM_TYPES = ['STANDARD', 'DELUXE', 'SUITE'] as const
export type RoomType = (typeof ROOM_TYPES)[number]

/** Rooms per type and nightly price (EUR) of the demo hotel. */
export const ROOM_INVENTORY: Readonly<Record<RoomType, { rooms: number; price: number }>> = {
  STANDARD: { rooms: 12, price: 89 },
  DELUXE: { rooms: 6, price: 139 },
  SUITE: { rooms: 3, price: 249 },
}

/** Rooms free per type for one night. */
export type NightAvailability = Record<RoomType, number>

const DAY_MS = 86_400_000

/** Day number (days since 1970-01-01 UTC) of a `YYYY-MM-DD` date, or undefined when invalid. */
export function parseDay(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (!m) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const ms = Date.UTC(y, mo - 1, d)
  const back = new Date(ms)
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return undefined
  return ms / DAY_MS
}

export function formatDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10)
}

export function dayOf(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS)
}

export interface PmsReservation {
  pms_reservation_id: string
  room_type: RoomType
  first_night: number
  nights: number
}

/** A value now (in-process state) or later (the same operation over HTTP). */
export type Awaitable<T> = T | Promise<T>

/** The PMS's operations as the sandbox calls them: on {@link PmsState} in process, or over HTTP. */
export interface PmsApi {
  calendar(firstNight: number, nights: number): Awaitable<Map<number, NightAvailability>>
  reserve(roomType: RoomType, firstNight: number, nights: number): Awaitable<PmsReservation>
  cancel(id: string): Awaitable<boolean>
}

/** A message or e-mail provider's one operation: deliver, answering the provider's message id. */
export interface MessagingApi {
  deliver(): Awaitable<string>
}

/** Oldest reservations are forgotten beyond this many, so a long load test cannot grow memory. */
const MAX_RESERVATIONS = 10_000

/**
 * The PMS: room inventory and reservations. It accepts overbooking (availability never drops below
 * zero), so a load test posting bookings for the same dates never turns into a run of 409s.
 */
export class PmsState implements PmsApi {
  private readonly booked = new Map<number, NightAvailability>()
  private readonly reservations = new Map<string, PmsReservation>()
  private nextId = 1

  /** Free rooms per type for each night of `[firstNight, firstNight + nights)`. */
  calendar(firstNight: number, nights: number): Map<number, NightAvailability> {
    const out = new Map<number, NightAvailability>()
    for (let day = firstNight; day < firstNight + nights; day++) {
      const booked = this.booked.get(day)
      const free = {} as NightAvailability
      for (const type of ROOM_TYPES)
        free[type] = Math.max(0, ROOM_INVENTORY[type].rooms - (booked?.[type] ?? 0))
      out.set(day, free)
    }
    return out
  }

  reserve(roomType: RoomType, firstNight: number, nights: number): PmsReservation {
    const reservation = {
      pms_reservation_id: `QLO-${this.nextId++}`,
      room_type: roomType,
      first_night: firstNight,
      nights,
    }
    this.adjust(reservation, +1)
    this.reservations.set(reservation.pms_reservation_id, reservation)
    if (this.reservations.size > MAX_RESERVATIONS) {
      const oldest = this.reservations.keys().next().value
      if (oldest !== undefined) this.reservations.delete(oldest)
    }
    return reservation
  }

  cancel(id: string): boolean {
    const reservation = this.reservations.get(id)
    if (!reservation) return false
    this.reservations.delete(id)
    this.adjust(reservation, -1)
    return true
  }

  private adjust(r: PmsReservation, delta: number): void {
    for (let day = r.first_night; day < r.first_night + r.nights; day++) {
      let night = this.booked.get(day)
      if (!night) {
        night = { STANDARD: 0, DELUXE: 0, SUITE: 0 }
        this.booked.set(day, night)
      }
      night[r.room_type] += delta
      if (ROOM_TYPES.every((t) => night[t] === 0)) this.booked.delete(day)
    }
  }
}

/** A message or email provider: it just records what it delivered. */
export class MessagingProviderState implements MessagingApi {
  delivered = 0
  private nextId = 1
  constructor(private readonly prefix: string) {}

  deliver(): string {
    this.delivered++
    return `${this.prefix}-${this.nextId++}`
  }
}

/** A guest's conversation session. */
export interface Session {
  id: string
  created_at: string
  last_seen_at: string
  reads: number
}

/** Bounded key-value store (Redis-like): the oldest key is evicted beyond `capacity`. */
export class BoundedMap<V> {
  private readonly map = new Map<string, V>()
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    return this.map.get(key)
  }

  set(key: string, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value
      if (oldest !== undefined) this.map.delete(oldest)
    }
  }

  get size(): number {
    return this.map.size
  }
}

/** A booking row in the database. */
export interface BookingRow {
  id: string
  guest_name: string
  room_type: RoomType
  check_in: string
  check_out: string
  nights: number
  total_price: number
  pms_reservation_id: string
  status: 'CONFIRMED'
  created_at: string
}

/** The database's tables. */
export interface DatabaseState {
  bookings: BoundedMap<BookingRow>
  sessions: BoundedMap<Session>
  nextBookingId: number
}

export function createDatabaseState(): DatabaseState {
  return { bookings: new BoundedMap(10_000), sessions: new BoundedMap(10_000), nextBookingId: 1 }
}

/**
 * Gets a session or creates it, and records the read. Returns a copy, as a remote store would.
 */
export function touchSession(
  store: BoundedMap<Session>,
  id: string,
  nowIso: string,
): { session: Session; created: boolean } {
  const existing = store.get(id)
  const session = existing ?? { id, created_at: nowIso, last_seen_at: nowIso, reads: 0 }
  session.last_seen_at = nowIso
  session.reads++
  store.set(id, session)
  return { session: { ...session }, created: !existing }
}
