import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {setDisabled} from '../../src/directory/users.js'

export default class UserEnable extends MailboxCommand {
  static override summary = 'Enable a disabled user.'
  static override examples = ['<%= config.bin %> user enable alice@example.com']
  static override args = {address: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(UserEnable)
    const user = await setDisabled(await this.openStore(flags['data-dir']), args.address, false)
    this.say(`enabled ${user.address}`)
    return user
  }
}
