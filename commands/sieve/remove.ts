import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {existingUser} from '../../src/cli/user-arg.js'

export default class SieveRemove extends MailboxCommand {
  static override summary = "Remove one of a user's Sieve scripts (the active one is refused: deactivate it first)."
  static override examples = ['<%= config.bin %> sieve remove alice@example.com old-filters']
  static override args = {user: Args.string({required: true, ignoreStdin: true}), name: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(SieveRemove)
    const store = await this.openStore(flags['data-dir'])
    const user = await existingUser(store, args.user)
    await store.sieve.remove(user, args.name)
    this.say(`removed Sieve script ${JSON.stringify(args.name)} of ${user}`)
    return {user, removed: args.name}
  }
}
