import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {removeUser} from '../../src/directory/users.js'

export default class UserRemove extends MailboxCommand {
  static override summary = 'Remove a user.'
  static override description = 'Refuses while the user has mail, unless --force deletes it too. The user is also dropped from alias targets.'
  static override examples = ['<%= config.bin %> user remove alice@example.com --force']
  static override args = {address: Args.string({required: true, ignoreStdin: true})}
  static override flags = {force: Flags.boolean({summary: "Also delete the user's mail."})}

  async run() {
    const {args, flags} = await this.parse(UserRemove)
    const user = await removeUser(await this.openStore(flags['data-dir']), args.address, {force: flags.force})
    this.say(`removed user ${user.address}${user.messages ? ` and ${user.messages} message(s)` : ''}`)
    return user
  }
}
