import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {existingUser} from '../../src/cli/user-arg.js'

export default class SieveActivate extends MailboxCommand {
  static override summary = "Make one of a user's Sieve scripts the active one (the one that runs at delivery; the others stay stored)."
  static override examples = ['<%= config.bin %> sieve activate alice@example.com filters']
  static override args = {user: Args.string({required: true, ignoreStdin: true}), name: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(SieveActivate)
    const store = await this.openStore(flags['data-dir'])
    const user = await existingUser(store, args.user)
    await store.sieve.activate(user, args.name)
    this.say(`activated Sieve script ${JSON.stringify(args.name)} for ${user}`)
    return {user, active: args.name}
  }
}
