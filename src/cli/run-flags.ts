/**
 * Target and override flags shared by every command that runs experiments (`run` now; `monkey`,
 * `schedule` and `gameday` later take the same ones). Values stay strings here and are validated
 * by `resolveRunOptions` (src/plan.ts), so a bad value gets a one-line error naming the flag.
 */
import { Flags } from '@oclif/core'
import type { RawRunOptions } from '../plan.js'
import { targetFlags as sharedTargetFlags } from './target-flags.js'

/** The shared target flags plus what only experiment runs need. */
export const targetFlags = {
  ...sharedTargetFlags,
  prometheus: Flags.string({ description: 'Prometheus base URL for PromQL checks', helpValue: 'URL' }),
  pushgateway: Flags.string({
    description: "Pushgateway base URL: push each experiment's results (job chaos) after it ends",
    helpValue: 'URL',
  }),
}

export const overrideFlags = {
  duration: Flags.string({
    helpValue: 'DURATION',
    description: 'override each experiment duration (500ms, 10s, 2m; at most 30m)',
  }),
  probability: Flags.string({ helpValue: 'P', description: 'override each fault probability (0.3 or 30%)' }),
  'blast-radius': Flags.string({
    helpValue: 'LEVEL',
    description: 'override each blast radius: SINGLE_REQUEST, SINGLE_SERVICE, SERVICE_CLUSTER, ENTIRE_SYSTEM',
  }),
  rate: Flags.string({ helpValue: 'RPS', description: 'workload requests per second [default: 20]' }),
  baseline: Flags.string({
    helpValue: 'DURATION',
    description: 'baseline measurement before injection [default: 10s]',
  }),
  interval: Flags.string({ helpValue: 'DURATION', description: 'metrics poll interval [default: 1s]' }),
  pause: Flags.string({ helpValue: 'DURATION', description: 'pause between experiments [default: 30s]' }),
  'recovery-timeout': Flags.string({
    helpValue: 'DURATION',
    description: 'longest wait for the after checks to hold [default: 2m]',
  }),
  'allow-entire-system': Flags.boolean({
    description: 'allow ENTIRE_SYSTEM blast radius on a real target',
    default: false,
  }),
  scenarios: Flags.string({
    description: 'extra scenario directory (repeatable)',
    multiple: true,
    helpValue: 'DIR',
  }),
}

/** The override flags as `resolveRunOptions` input. */
export function rawRunOptions(flags: {
  duration?: string
  probability?: string
  'blast-radius'?: string
  baseline?: string
  pause?: string
  interval?: string
  'recovery-timeout'?: string
  rate?: string
  'allow-entire-system'?: boolean
}): RawRunOptions {
  return {
    duration: flags.duration,
    probability: flags.probability,
    blastRadius: flags['blast-radius'],
    baseline: flags.baseline,
    pause: flags.pause,
    interval: flags.interval,
    recoveryTimeout: flags['recovery-timeout'],
    rate: flags.rate,
    allowEntireSystem: flags['allow-entire-system'],
  }
}
