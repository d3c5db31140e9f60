import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable} from '../../src/cli/table.js'
import {listAliases} from '../../src/directory/aliases.js'

export default class AliasList extends MailboxCommand {
  static override summary = 'List aliases and catch-alls.'
  static override examples = ['<%= config.bin %> alias list --json']

  async run() {
    const {flags} = await this.parse(AliasList)
    const aliases = await listAliases(await this.openStore(flags['data-dir']))
    this.say(formatTable(aliases, [{header: 'alias', get: (a) => a.alias}, {header: 'targets', get: (a) => a.targets.join(', ')}]))
    return aliases
  }
}
