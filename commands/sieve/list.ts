import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable, formatTime} from '../../src/cli/table.js'
import {existingUser} from '../../src/cli/user-arg.js'

export default class SieveList extends MailboxCommand {
  static override summary = "List a user's Sieve scripts: name, whether active, size and when changed."
  static override description = 'At most one script is active: the one that runs at delivery. See also mailbox sieve put, mailbox user vacation.'
  static override examples = ['<%= config.bin %> sieve list alice@example.com', '<%= config.bin %> sieve list alice@example.com --json']
  static override args = {user: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(SieveList)
    const store = await this.openStore(flags['data-dir'], {readOnly: true})
    const user = await existingUser(store, args.user)
    const scripts = await store.sieve.list(user)
    this.say(
      scripts.length === 0
        ? `${user} has no Sieve scripts`
        : formatTable(scripts, [
            {header: 'name', get: (s) => s.name},
            {header: 'active', get: (s) => (s.active ? 'yes' : '')},
            {header: 'bytes', get: (s) => String(s.size)},
            {header: 'updated', get: (s) => formatTime(s.updatedAt)},
          ]),
    )
    return scripts
  }
}
