import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {removeDomain} from '../../src/directory/domains.js'

export default class DomainRemove extends MailboxCommand {
  static override summary = 'Remove a local domain.'
  static override description = 'Refuses while the domain has users or aliases, unless --force removes them (and their mail) too.'
  static override examples = ['<%= config.bin %> domain remove example.com', '<%= config.bin %> domain remove example.com --force']
  static override args = {domain: Args.string({required: true, ignoreStdin: true})}
  static override flags = {force: Flags.boolean({summary: "Also remove the domain's users, their mail, and its aliases."})}

  async run() {
    const {args, flags} = await this.parse(DomainRemove)
    const removed = await removeDomain(await this.openStore(flags['data-dir']), args.domain, {force: flags.force})
    this.say(`removed domain ${args.domain.toLowerCase()}` + (removed.users.length || removed.aliases.length ? ` with ${removed.users.length} user(s) and ${removed.aliases.length} alias(es)` : ''))
    return removed
  }
}
