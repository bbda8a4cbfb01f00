import { Args, Command, Flags, loadHelpClass } from '@oclif/core'

/**
 * `chaos help [COMMAND...]`: the same help as `chaos COMMAND --help` (or `-h`). What
 * @oclif/plugin-help's command does, without loading a plugin at every start-up.
 */
export default class Help extends Command {
  static override summary = 'Show help for chaos or for one command'
  static override description =
    'Prints the help of COMMAND (its usage, flags and examples), as `chaos COMMAND --help` or `-h` do; without COMMAND, the list of commands. Topics work too: chaos help report.'
  static override examples = [
    { command: '<%= config.bin %> help run', description: 'how to run experiments' },
    { command: '<%= config.bin %> help report show', description: 'a command of a topic' },
  ]
  static override args = {
    command: Args.string({ description: 'the command (or topic) to explain', required: false }),
  }
  static override flags = {
    'nested-commands': Flags.boolean({
      char: 'n',
      description: 'list the commands of every topic too',
      default: false,
    }),
  }
  // The words of a command of a topic (report show) come as separate arguments.
  static override strict = false

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Help)
    const words = argv as string[]
    const id = words.join(':')
    // An unknown command gets the same did-you-mean and exit 2 as `chaos lst` itself.
    if (words.length > 0 && !this.config.findCommand(id) && !this.config.findTopic(id)) {
      const [{ unknownCommandLines }, { ExitCode }] = await Promise.all([
        import('../src/cli/not-found.js'),
        import('../src/exit-codes.js'),
      ])
      for (const line of unknownCommandLines(this.config, id)) process.stderr.write(line + '\n')
      this.exit(ExitCode.INVALID_INPUT)
    }
    const HelpClass = await loadHelpClass(this.config)
    const help = new HelpClass(this.config, {
      ...this.config.pjson.oclif.helpOptions,
      all: flags['nested-commands'],
    })
    await help.showHelp(words)
  }
}
