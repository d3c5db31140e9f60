import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTime} from '../../src/cli/table.js'
import {showUser} from '../../src/directory/users.js'
import {sieveSummaryOf} from '../../src/sieve-scripts/summary.js'
import {formatSize} from '../../src/size.js'

export default class UserShow extends MailboxCommand {
  static override summary = "Show one user's details."
  static override examples = ['<%= config.bin %> user show alice@example.com --json']
  static override args = {address: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(UserShow)
    const store = await this.openStore(flags['data-dir'])
    const u = await showUser(store, args.address)
    const sieve = sieveSummaryOf(await store.sieve.active(u.address))
    this.say(
      [
        `address:  ${u.address}`,
        `state:    ${u.disabled ? 'disabled' : 'enabled'}`,
        `quota:    ${u.quota ? formatSize(u.quota) : 'unlimited'}`,
        `messages: ${u.maxMessages ? `at most ${u.maxMessages}` : 'unlimited'}`,
        `used:     ${formatSize(u.used)} in ${u.messages} message(s), ${u.folders} folder(s)`,
        `sieve:    ${sieve.script === null ? 'none active' : `${JSON.stringify(sieve.script)} active`}`,
        `vacation: ${sieve.vacation ? 'on' : 'off'}`,
        `created:  ${formatTime(u.createdAt)}`,
        `updated:  ${formatTime(u.updatedAt)}`,
      ].join('\n'),
    )
    return {...u, sieve}
  }
}
