/**
 * SIGINT/SIGTERM/SIGHUP handling for runs: the first signal aborts (the engine then rolls back);
 * later ones only say that rollback is in progress and will not be skipped. SIGHUP (the terminal
 * went away) counts too: a runner must not outlive its terminal with a fault live.
 */
export function abortOnSignals(notice: (text: string) => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  const say = (text: string) => {
    try {
      notice(text)
    } catch {
      // The terminal may be gone (SIGHUP): the rollback matters, the notice does not.
    }
  }
  const handler = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      controller.abort(name)
      say(`${name} received: rolling back the current experiment, then stopping`)
    } else {
      say(`${name} again: rollback in progress and will not be skipped; wait for it to finish`)
    }
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  process.on('SIGHUP', handler)
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
      process.off('SIGHUP', handler)
    },
  }
}
