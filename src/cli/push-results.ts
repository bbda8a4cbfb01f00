/**
 * `--pushgateway URL` (or config `pushgateway`) for every command that runs experiments: the
 * `onExperimentDone` hook of `performRun` that pushes each experiment's results, reporting a failed
 * push as one warning line plus a `chaos_pushgateway_push_failed` event in `events.jsonl`.
 */
import type { ChaosConfig } from '../config.js'
import { createResultPusher, parsePushgatewayUrl } from '../observability/pushgateway.js'
import type { ExperimentRecord } from '../record.js'
import { ReportStore } from '../store/report-store.js'
import type { Output } from './output.js'

/** The event journalled when a push fails. */
export const PUSH_FAILED_EVENT = 'chaos_pushgateway_push_failed'

/**
 * The push hook for a run, or undefined when no Pushgateway is configured. The flag wins over the
 * config; a bad flag value throws InvalidInputError (exit 2) before anything runs.
 */
export function resultPushHook(
  flag: string | undefined,
  config: ChaosConfig,
  out: Output,
): ((experiment: ExperimentRecord, runId: string) => Promise<void>) | undefined {
  const url = flag !== undefined ? parsePushgatewayUrl(flag) : config.pushgateway
  if (!url) return undefined
  const store = new ReportStore({ dir: config.reportsDir })
  return createResultPusher({
    url,
    onFailure: async (failure) => {
      out.errorLine(
        out.color.yellow(
          `warning: could not push the results of ${failure.experiment_id} to the Pushgateway ${failure.pushgateway}: ${failure.error} (the experiment's result is unaffected)`,
        ),
      )
      await store.appendEvent({ event: PUSH_FAILED_EVENT, level: 'warn', ...failure })
    },
  })
}
