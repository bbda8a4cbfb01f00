import type { AgentExperimentView } from './experiment.js'

/**
 * A refused control operation, with the HTTP status the control endpoint answers
 * (400 invalid, 404 unknown, 409 conflict, 410 already ended). Thrown by the programmatic API too.
 */
export class ChaosControlError extends Error {
  override readonly name = 'ChaosControlError'
  constructor(
    readonly status: 400 | 404 | 409 | 410,
    message: string,
    readonly problems?: string[],
    /** The experiment concerned, when it exists (e.g. its final state on 410). */
    readonly experiment?: AgentExperimentView,
  ) {
    super(message)
  }
}
