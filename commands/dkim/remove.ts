import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {removeDkimKey} from '../../src/dkim/admin.js'

export default class DkimRemove extends MailboxCommand {
  static override summary = 'Remove a retired DKIM key of a domain (an active one is refused).'
  static override examples = ['<%= config.bin %> dkim remove example.com mbx20261203e']
  static override args = {
    domain: Args.string({required: true, ignoreStdin: true, description: 'a local domain'}),
    selector: Args.string({required: true, ignoreStdin: true, description: 'a retired selector (see mailbox dkim list)'}),
  }

  async run() {
    const {args, flags} = await this.parse(DkimRemove)
    const key = await removeDkimKey(await this.openStore(flags['data-dir']), args.domain, args.selector)
    this.say(`removed DKIM selector ${key.selector} of ${key.domain}; delete its DNS record: ${key.dns.name} TXT`)
    return key
  }
}
