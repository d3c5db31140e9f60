import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {addDomain} from '../../src/directory/domains.js'

export default class DomainAdd extends MailboxCommand {
  static override summary = 'Add a local domain (mail for it is delivered here).'
  static override examples = ['<%= config.bin %> domain add example.com']
  static override args = {domain: Args.string({required: true, ignoreStdin: true, description: 'domain name (IDN allowed)'})}

  async run() {
    const {args, flags} = await this.parse(DomainAdd)
    // the first record of a new installation: the one command (besides serve) that creates a store
    const domain = await addDomain(await this.openStore(flags['data-dir'], {create: true}), args.domain)
    this.say(`added domain ${domain.name}`)
    return domain
  }
}
