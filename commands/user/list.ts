import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable} from '../../src/cli/table.js'
import {listUsers} from '../../src/directory/users.js'
import {sieveCell, sieveSummaries} from '../../src/sieve-scripts/summary.js'
import {formatSize} from '../../src/size.js'

export default class UserList extends MailboxCommand {
  static override summary = 'List users with their quota use and state.'
  static override examples = ['<%= config.bin %> user list', '<%= config.bin %> user list --json']

  async run() {
    const {flags} = await this.parse(UserList)
    const store = await this.openStore(flags['data-dir'])
    const listed = await listUsers(store)
    const sieve = await sieveSummaries(store, listed.map((u) => u.address))
    const users = listed.map((u) => ({...u, sieve: sieve.get(u.address)!}))
    this.say(
      formatTable(users, [
        {header: 'address', get: (u) => u.address},
        {header: 'state', get: (u) => (u.disabled ? 'disabled' : 'enabled')},
        {header: 'messages', get: (u) => u.messages},
        {header: 'used', get: (u) => formatSize(u.used)},
        {header: 'quota', get: (u) => (u.quota ? formatSize(u.quota) : 'unlimited')},
        {header: 'max messages', get: (u) => u.maxMessages || 'unlimited'},
        {header: 'sieve', get: (u) => sieveCell(u.sieve)},
      ]),
    )
    return users
  }
}
