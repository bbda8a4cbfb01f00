import { Flags } from '@oclif/core'

/** Flags of every `chaos report` command. */
export const reportFlags = {
  format: Flags.string({ description: 'output format', options: ['text', 'json'], default: 'text' }),
  'reports-dir': Flags.string({
    description: 'reports directory (default: reports_dir from the config, else .playbook/chaos_reports)',
    helpValue: 'DIR',
  }),
}
