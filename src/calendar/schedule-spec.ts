/**
 * A recurring experiment as the config file declares it, and the check of its cron pattern. A
 * leaf: the config validates schedules with it, the scheduler (src/unattended/) runs them.
 */
import { Cron } from 'croner'

/** One validated schedule from the config file. */
export interface ScheduleSpec {
  /** What to run: a scenario id or a category (the word passed to `chaos run`). */
  selection: string
  kind: 'scenario' | 'category'
  /** Interval in milliseconds (exclusive with `cron`). */
  everyMs?: number
  /** Five-field cron pattern (exclusive with `everyMs`). */
  cron?: string
  /** IANA time zone of the cron pattern; default the command's --timezone. */
  timezone?: string
}

/**
 * Problems of a cron pattern, or undefined when croner accepts it: five fields (minute hour
 * day-of-month month day-of-week) or a nickname such as @daily, and it must fire at least once.
 */
export function cronProblem(pattern: string, timezone?: string): string | undefined {
  const text = pattern.trim()
  const fields = text.split(/\s+/)
  if (!text.startsWith('@') && fields.length !== 5) {
    return `"${pattern}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; a cron pattern has 5: minute hour day-of-month month day-of-week`
  }
  let next: Date | null
  try {
    next = new Cron(text, { paused: true, ...(timezone && { timezone }) }).nextRun()
  } catch (err) {
    return `"${pattern}" is not a cron pattern: ${(err as Error).message.replace(/^CronPattern: /, '')}`
  }
  return next === null ? `"${pattern}" never fires` : undefined
}
