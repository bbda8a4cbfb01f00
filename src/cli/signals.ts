/**
 * SIGINT/SIGTERM handling for runs: the first signal aborts (the engine then rolls back); later
 * ones only say that rollback is in progress and will not be skipped.
 */
export function abortOnSignals(notice: (text: string) => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  const handler = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      notice(`${name} received: rolling back the current experiment, then stopping`)
      controller.abort(name)
    } else {
      notice(`${name} again: rollback in progress and will not be skipped; wait for it to finish`)
    }
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    },
  }
}
