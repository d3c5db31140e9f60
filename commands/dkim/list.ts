import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable, formatTime} from '../../src/cli/table.js'
import {listDkimKeys} from '../../src/dkim/admin.js'

export default class DkimList extends MailboxCommand {
  static override summary = "List the DKIM keys of every local domain, or of one: selector, algorithm, state and DNS record name."
  static override description = 'Active keys sign outgoing mail; retired ones sign nothing and stay until removed. --json adds each TXT record value.'
  static override examples = ['<%= config.bin %> dkim list', '<%= config.bin %> dkim list example.com --json']
  static override args = {domain: Args.string({required: false, ignoreStdin: true, description: 'a local domain'})}

  async run() {
    const {args, flags} = await this.parse(DkimList)
    const keys = await listDkimKeys(await this.openStore(flags['data-dir']), args.domain)
    this.say(
      formatTable(keys, [
        {header: 'domain', get: (k) => k.domain},
        {header: 'selector', get: (k) => k.selector},
        {header: 'algorithm', get: (k) => k.algorithm},
        {header: 'state', get: (k) => k.state},
        {header: 'created', get: (k) => formatTime(k.createdAt)},
        {header: 'retired', get: (k) => formatTime(k.retiredAt ?? undefined)},
        {header: 'dns name', get: (k) => k.dns.name},
      ]),
    )
    return keys
  }
}
