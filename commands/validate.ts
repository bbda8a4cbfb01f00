import { BaseCommand } from '../src/cli/base-command.js'

export default class Validate extends BaseCommand {
  static override summary = 'placeholder'
  async run(): Promise<{ ok: boolean }> {
    this.out.line('hi')
    return { ok: true }
  }
}
