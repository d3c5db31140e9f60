import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {setDisabled} from '../../src/directory/users.js'

export default class UserDisable extends MailboxCommand {
  static override summary = 'Disable a user: logins are refused and new mail for them is rejected.'
  static override examples = ['<%= config.bin %> user disable alice@example.com']
  static override args = {address: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(UserDisable)
    const user = await setDisabled(await this.openStore(flags['data-dir']), args.address, true)
    this.say(`disabled ${user.address}`)
    return user
  }
}
