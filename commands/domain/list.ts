import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable, formatTime} from '../../src/cli/table.js'
import {listDomains} from '../../src/directory/domains.js'

export default class DomainList extends MailboxCommand {
  static override summary = 'List local domains with their user and alias counts.'
  static override examples = ['<%= config.bin %> domain list', '<%= config.bin %> domain list --json']

  async run() {
    const {flags} = await this.parse(DomainList)
    const domains = await listDomains(await this.openStore(flags['data-dir']))
    this.say(
      formatTable(domains, [
        {header: 'domain', get: (d) => d.name},
        {header: 'users', get: (d) => d.users},
        {header: 'aliases', get: (d) => d.aliases},
        {header: 'created', get: (d) => formatTime(d.createdAt)},
      ]),
    )
    return domains
  }
}
