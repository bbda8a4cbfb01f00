/**
 * Flags of `chaos monkey` and `chaos schedule`. Both take `chaos run`'s target and override flags;
 * the monkey's own `--probability` (coin), `--interval` (check interval) and `--scenarios` (ids)
 * take those names, so for the monkey the run overrides of the same names are renamed:
 * `--fault-probability`, `--poll-interval` and `--scenario-dir`.
 */
import { Flags } from '@oclif/core'
import { overrideFlags, rawRunOptions, targetFlags } from '../cli/run-flags.js'
import { parseDurationMs } from '../duration.js'
import { InvalidInputError } from '../errors.js'
import type { RawRunOptions } from '../plan.js'
import { parseProbability } from './settings.js'

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- removed on purpose: the monkey uses these names
const { probability, interval, scenarios, ...commonOverrides } = overrideFlags

/** `--metrics-port` / `--metrics-host` of the long-running modes. */
export const metricsFlags = {
  'metrics-port': Flags.integer({
    description: 'serve Prometheus metrics at http://HOST:PORT/metrics (0 = any free port)',
    min: 0,
    max: 65535,
    helpValue: 'PORT',
  }),
  'metrics-host': Flags.string({
    description: 'interface for --metrics-port',
    default: '127.0.0.1',
    helpValue: 'HOST',
  }),
}

/** Target and run overrides of `chaos monkey` (run's names, three of them renamed). */
export const monkeyRunFlags = {
  ...targetFlags,
  ...commonOverrides,
  'fault-probability': Flags.string({
    helpValue: 'P',
    description: "override each fault's probability (0.3 or 30%; chaos run --probability)",
  }),
  'poll-interval': Flags.string({
    helpValue: 'DURATION',
    description: 'metrics poll interval [default: 1s] (chaos run --interval)',
  }),
  'scenario-dir': Flags.string({
    description: 'extra scenario directory, repeatable (chaos run --scenarios)',
    multiple: true,
    helpValue: 'DIR',
  }),
}

/** The monkey's own flags. */
export const monkeyFlags = {
  probability: Flags.string({
    helpValue: 'P',
    description:
      'chance of an experiment at each check, 0.05 or 5% [default: 0.05, config monkey.probability]',
  }),
  interval: Flags.string({
    helpValue: 'DURATION',
    description: 'time between checks; a bare number is seconds [default: 300, config monkey.interval]',
  }),
  'business-hours': Flags.boolean({
    allowNo: true,
    description:
      'only inject during business hours (09:00-17:00 MON-FRI unless config monkey.business_hours says otherwise)',
  }),
  timezone: Flags.string({
    helpValue: 'IANA_ZONE',
    description: "time zone of the business hours [default: the machine's]",
  }),
  categories: Flags.string({
    helpValue: 'LIST',
    description: 'comma-separated categories to pick from (network,pms)',
  }),
  scenarios: Flags.string({ helpValue: 'IDS', description: 'comma-separated scenario ids to pick from' }),
  'max-blast-radius': Flags.string({
    helpValue: 'LEVEL',
    description:
      'widest blast radius to inject: SINGLE_REQUEST, SINGLE_SERVICE, SERVICE_CLUSTER, ENTIRE_SYSTEM [default: SINGLE_SERVICE]',
  }),
  'min-gap': Flags.string({
    helpValue: 'DURATION',
    description: 'least time between two monkey experiments, remembered across invocations [default: 0]',
  }),
  'max-experiments': Flags.integer({ min: 1, helpValue: 'N', description: 'stop after N experiments' }),
  once: Flags.boolean({ description: 'make one check and exit (for cron)', default: false }),
  seed: Flags.integer({
    min: 0,
    max: 4294967295,
    helpValue: 'N',
    description: 'seed the coin and the picks (reproducible)',
  }),
  'dry-run': Flags.boolean({
    description: 'leashed: log what would be injected and inject nothing',
    default: false,
  }),
  'allow-production': Flags.boolean({
    description: 'allow a target whose agent reports environment "production"',
    default: false,
  }),
  ...metricsFlags,
}

/** The monkey's run overrides as `resolveRunOptions` input. */
export function monkeyRawRunOptions(flags: {
  duration?: string
  'fault-probability'?: string
  'blast-radius'?: string
  baseline?: string
  pause?: string
  'poll-interval'?: string
  'recovery-timeout'?: string
  rate?: string
  'allow-entire-system'?: boolean
}): RawRunOptions {
  // Checked here first so that an error names the flag the user typed, not run's name for it.
  if (flags['fault-probability'] !== undefined)
    parseProbability(flags['fault-probability'], '--fault-probability')
  const poll = flags['poll-interval']
  if (poll !== undefined && !parseDurationMs(poll)) {
    throw new InvalidInputError(
      `--poll-interval: "${poll}" is not a positive duration`,
      'use a number with a unit: 500ms, 1s, 2s',
    )
  }
  return rawRunOptions({ ...flags, probability: flags['fault-probability'], interval: poll })
}
