/**
 * Business hours in a named time zone. Local time comes from `Intl.DateTimeFormat` with the IANA
 * zone, never from UTC offsets computed by hand, so daylight-saving changes are handled by the
 * platform's time-zone database: 09:00 in Madrid is 09:00 in winter and in summer.
 */
import { InvalidInputError } from '../errors.js'

export const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const
export type Weekday = (typeof WEEKDAYS)[number]

/** A daily window `[start, end)` in minutes after local midnight, on the given weekdays. */
export interface BusinessHours {
  /** Minutes after midnight, inclusive (09:00 → 540). */
  startMinute: number
  /** Minutes after midnight, exclusive (17:00 → 1020): 16:59 is inside, 17:00 is not. */
  endMinute: number
  days: readonly Weekday[]
}

/** The guide's (and Netflix Chaos Monkey's) default: 09:00 to 17:00, Monday to Friday. */
export const DEFAULT_BUSINESS_HOURS: BusinessHours = {
  startMinute: 9 * 60,
  endMinute: 17 * 60,
  days: ['MON', 'TUE', 'WED', 'THU', 'FRI'],
}

/** Local wall-clock time of an instant in a zone. */
export interface LocalTime {
  weekday: Weekday
  hour: number
  minute: number
  /** `Mon 09:05`, for logs. */
  text: string
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/** The weekday, hour and minute of `ms` in `timeZone` (an IANA name such as Europe/Madrid). */
export function localTime(ms: number, timeZone: string): LocalTime {
  const parts = formatter(timeZone).formatToParts(new Date(ms))
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? ''
  const weekday = get('weekday').slice(0, 3).toUpperCase() as Weekday
  const hour = Number(get('hour'))
  const minute = Number(get('minute'))
  const pad = (n: number) => String(n).padStart(2, '0')
  return { weekday, hour, minute, text: `${get('weekday')} ${pad(hour)}:${pad(minute)}` }
}

/** Whether `ms` falls inside the business hours in `timeZone`. */
export function isBusinessHours(ms: number, hours: BusinessHours, timeZone: string): boolean {
  const t = localTime(ms, timeZone)
  const minute = t.hour * 60 + t.minute
  return hours.days.includes(t.weekday) && minute >= hours.startMinute && minute < hours.endMinute
}

/** True when `name` is a time zone this platform knows (IANA names such as Europe/Madrid, or UTC). */
export function isValidTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name })
    return true
  } catch {
    return false
  }
}

/** The machine's time zone (what `--timezone` defaults to). */
export function machineTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone
}

/** Validates a time zone given on the command line; throws a one-line usage error naming the flag. */
export function requireTimeZone(name: string, what = '--timezone'): string {
  if (!isValidTimeZone(name)) {
    throw new InvalidInputError(
      `${what}: "${name}" is not a known time zone`,
      'use an IANA name such as Europe/Madrid, America/New_York or UTC',
    )
  }
  return name
}

/** `"09:00"` → 540; undefined when the text is not HH:MM (00:00 to 24:00). */
export function parseClockTime(text: string): number | undefined {
  const m = /^([01]?\d|2[0-4]):([0-5]\d)$/.exec(text.trim())
  if (!m) return undefined
  const minutes = Number(m[1]) * 60 + Number(m[2])
  return minutes <= 24 * 60 ? minutes : undefined
}

/** 540 → `"09:00"`. */
export function formatClockTime(minutes: number): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
}

/** `09:00-17:00 MON,TUE,WED,THU,FRI`, for the banner and the summary. */
export function describeBusinessHours(hours: BusinessHours): string {
  return `${formatClockTime(hours.startMinute)}-${formatClockTime(hours.endMinute)} ${hours.days.join(',')}`
}
