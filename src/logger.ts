/**
 * Structured logging: one JSON line per event, with the guide's event names
 * (`chaos_experiment_started`, `chaos_fault_injected`, ...). Services receive a Logger; only the
 * command layer decides where the lines go.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void
  debug(event: string, fields?: LogFields): void
  info(event: string, fields?: LogFields): void
  warn(event: string, fields?: LogFields): void
  error(event: string, fields?: LogFields): void
}

function fromSink(sink: (level: LogLevel, event: string, fields: LogFields) => void): Logger {
  return {
    log: (level, event, fields = {}) => sink(level, event, fields),
    debug: (event, fields = {}) => sink('debug', event, fields),
    info: (event, fields = {}) => sink('info', event, fields),
    warn: (event, fields = {}) => sink('warn', event, fields),
    error: (event, fields = {}) => sink('error', event, fields),
  }
}

/** A logger writing `{"ts","level","event",...fields}` JSON lines to a stream. */
export function createJsonLogger(
  stream: { write(line: string): unknown },
  options: { minLevel?: LogLevel; now?: () => number; base?: LogFields } = {},
): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }
  const min = order[options.minLevel ?? 'info']
  const now = options.now ?? Date.now
  return fromSink((level, event, fields) => {
    if (order[level] < min) return
    stream.write(
      JSON.stringify({ ts: new Date(now()).toISOString(), level, event, ...options.base, ...fields }) + '\n',
    )
  })
}

/** A logger that drops everything (the default for libraries). */
export const silentLogger: Logger = fromSink(() => {})

/** A logger that keeps every entry in memory (tests, and the runner's event journal). */
export function createMemoryLogger(): Logger & {
  entries: Array<{ level: LogLevel; event: string; fields: LogFields }>
} {
  const entries: Array<{ level: LogLevel; event: string; fields: LogFields }> = []
  return Object.assign(
    fromSink((level, event, fields) => entries.push({ level, event, fields })),
    { entries },
  )
}
