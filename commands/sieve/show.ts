import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {existingUser} from '../../src/cli/user-arg.js'
import {MailboxError} from '../../src/errors.js'

export default class SieveShow extends MailboxCommand {
  static override summary = "Print one of a user's Sieve scripts."
  static override examples = ['<%= config.bin %> sieve show alice@example.com filters > filters.sieve', '<%= config.bin %> sieve show alice@example.com filters --json']
  static override args = {user: Args.string({required: true, ignoreStdin: true}), name: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(SieveShow)
    const store = await this.openStore(flags['data-dir'], {readOnly: true})
    const user = await existingUser(store, args.user)
    const script = await store.sieve.get(user, args.name)
    if (!script) throw new MailboxError('not-found', `${user} has no Sieve script ${JSON.stringify(args.name)}`)
    if (!this.jsonEnabled()) process.stdout.write(script.content)
    return script
  }
}
