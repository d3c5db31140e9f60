import {Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable} from '../../src/cli/table.js'
import {differenceError, parseLocation, verifyStores} from '../../src/store/copy.js'
import {KIND_NAMES, KINDS} from '../../src/store/transfer.js'

export default class StoreVerify extends MailboxCommand {
  static override summary = 'Compare two stores record by record: per kind of record, the count and a digest of every record (message bytes included).'
  static override description =
    'Exit code 1 when they differ, naming the first kind that does. `store copy` runs this after copying. Nothing is locked: a store being served may change while it is read.'
  static override examples = [
    '<%= config.bin %> store verify --from /var/lib/mailbox --to postgres://mailbox@db.example.com/mailbox',
    '<%= config.bin %> store verify --from /var/lib/mailbox --to /var/lib/mailbox-new --json',
  ]
  static override flags = {
    from: Flags.string({summary: 'One store: a data directory or a postgres:// URL.', required: true}),
    to: Flags.string({summary: 'The other store: a data directory or a postgres:// URL.', required: true}),
  }

  async run() {
    const {flags} = await this.parse(StoreVerify)
    const result = await verifyStores(parseLocation(flags.from), parseLocation(flags.to))
    const rows = KINDS.map((k) => ({kind: KIND_NAMES[k], from: result.digests.from[k], to: result.digests.to[k]}))
    this.say(
      formatTable(rows, [
        {header: 'records', get: (r) => r.kind},
        {header: 'from', get: (r) => r.from.count},
        {header: 'to', get: (r) => r.to.count},
        {header: 'same', get: (r) => (r.from.count === r.to.count && r.from.sha256 === r.to.sha256 ? 'yes' : 'NO')},
      ]),
    )
    if (!result.equal) {
      if (this.jsonEnabled()) this.logJson(result)
      throw differenceError(result)
    }
    this.say('both stores hold the same records')
    return result
  }
}
