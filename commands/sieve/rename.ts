import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {existingUser} from '../../src/cli/user-arg.js'

export default class SieveRename extends MailboxCommand {
  static override summary = "Rename one of a user's Sieve scripts (the active one stays active)."
  static override examples = ['<%= config.bin %> sieve rename alice@example.com filters filters-2026']
  static override args = {
    user: Args.string({required: true, ignoreStdin: true}),
    from: Args.string({required: true, ignoreStdin: true}),
    to: Args.string({required: true, ignoreStdin: true}),
  }

  async run() {
    const {args, flags} = await this.parse(SieveRename)
    const store = await this.openStore(flags['data-dir'])
    const user = await existingUser(store, args.user)
    await store.sieve.rename(user, args.from, args.to)
    this.say(`renamed Sieve script ${JSON.stringify(args.from)} of ${user} to ${JSON.stringify(args.to)}`)
    return {user, from: args.from, to: args.to}
  }
}
