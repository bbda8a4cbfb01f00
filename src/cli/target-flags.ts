import { Flags } from '@oclif/core'

/** Flags naming a target; shared by run, status, stop (and the unattended modes). */
export const targetFlags = {
  target: Flags.string({
    description: 'base URL of the target service with the chaos agent (repeat per instance)',
    env: 'CHAOS_TARGET',
    multiple: true,
    helpValue: 'URL',
  }),
  token: Flags.string({ description: 'bearer token of the chaos agent', env: 'CHAOS_TOKEN' }),
}
