import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {readPassword} from '../../src/cli/password-input.js'
import {setPassword} from '../../src/directory/users.js'

export default class UserPasswd extends MailboxCommand {
  static override summary = "Set a user's password."
  static override examples = ["printf 'new secret\\n' | <%= config.bin %> user passwd alice@example.com --password-stdin"]
  static override args = {address: Args.string({required: true, ignoreStdin: true})}
  static override flags = {'password-stdin': Flags.boolean({summary: 'Read the password from the first line of stdin.'})}

  async run() {
    const {args, flags} = await this.parse(UserPasswd)
    const store = await this.openStore(flags['data-dir'])
    const user = await setPassword(store, args.address, await readPassword(flags['password-stdin']))
    this.say(`password changed for ${user.address}`)
    return user
  }
}
