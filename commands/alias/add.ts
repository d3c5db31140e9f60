import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {addAlias} from '../../src/directory/aliases.js'

export default class AliasAdd extends MailboxCommand {
  static override summary = 'Add an alias that forwards an address (or a whole domain, @domain) to one or more targets.'
  static override description = 'Targets may be local users, other aliases or remote addresses. A catch-all @example.com receives mail for every address of the domain that is neither a user nor an alias. Aliases that would loop are refused.'
  static override strict = false
  static override examples = [
    '<%= config.bin %> alias add sales@example.com alice@example.com bob@example.com',
    '<%= config.bin %> alias add @example.com postmaster@example.com',
  ]
  static override args = {
    alias: Args.string({required: true, ignoreStdin: true, description: 'address, or @domain for a catch-all'}),
    target: Args.string({required: true, ignoreStdin: true, description: 'target address (repeatable)'}),
  }

  async run() {
    const {args, argv, flags} = await this.parse(AliasAdd)
    const targets = (argv as string[]).slice(1)
    const alias = await addAlias(await this.openStore(flags['data-dir']), args.alias, targets)
    this.say(`added alias ${alias.alias} -> ${alias.targets.join(', ')}`)
    return alias
  }
}
