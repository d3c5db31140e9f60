import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {removeAlias} from '../../src/directory/aliases.js'

export default class AliasRemove extends MailboxCommand {
  static override summary = 'Remove an alias or catch-all.'
  static override examples = ['<%= config.bin %> alias remove sales@example.com', '<%= config.bin %> alias remove @example.com']
  static override args = {alias: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(AliasRemove)
    const alias = await removeAlias(await this.openStore(flags['data-dir']), args.alias)
    this.say(`removed alias ${alias.alias}`)
    return alias
  }
}
