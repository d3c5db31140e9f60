import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {existingUser} from '../../src/cli/user-arg.js'

export default class SieveDeactivate extends MailboxCommand {
  static override summary = "Turn a user's Sieve filtering off: no script is active (they stay stored)."
  static override examples = ['<%= config.bin %> sieve deactivate alice@example.com']
  static override args = {user: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(SieveDeactivate)
    const store = await this.openStore(flags['data-dir'])
    const user = await existingUser(store, args.user)
    const was = await store.sieve.active(user)
    await store.sieve.activate(user, null)
    this.say(was ? `deactivated Sieve script ${JSON.stringify(was.name)} for ${user}` : `${user} had no active Sieve script`)
    return {user, active: null, was: was?.name ?? null}
  }
}
