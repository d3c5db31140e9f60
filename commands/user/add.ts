import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {readPassword} from '../../src/cli/password-input.js'
import {addUser, checkNewUser, parseMessageLimit} from '../../src/directory/users.js'
import {formatSize, parseSize} from '../../src/size.js'

export default class UserAdd extends MailboxCommand {
  static override summary = 'Add a user (an address in a local domain) with a password.'
  static override description = 'The password is read from stdin with --password-stdin, or prompted for (without echo) when stdin is a terminal. The user gets INBOX, Sent, Drafts, Trash, Junk and Archive.'
  static override examples = [
    "printf 'secret\\n' | <%= config.bin %> user add alice@example.com --password-stdin",
    '<%= config.bin %> user add bob@example.com --quota 2G',
    '<%= config.bin %> user add carol@example.com --max-messages 10000',
  ]
  static override args = {address: Args.string({required: true, ignoreStdin: true})}
  static override flags = {
    'password-stdin': Flags.boolean({summary: 'Read the password from the first line of stdin.'}),
    quota: Flags.string({summary: 'Storage quota, e.g. 500M or 2G (0 = unlimited).', default: '0'}),
    'max-messages': Flags.string({summary: "How many messages the user's folders may hold together (0 = unlimited).", default: '0'}),
  }

  async run() {
    const {args, flags} = await this.parse(UserAdd)
    const quota = parseSize(flags.quota)
    const maxMessages = parseMessageLimit(flags['max-messages'])
    const store = await this.openStore(flags['data-dir'])
    await checkNewUser(store, args.address) // fail on a bad address before asking for a password
    const password = await readPassword(flags['password-stdin'])
    const user = await addUser(store, {address: args.address, password, quota, maxMessages})
    const limits = [...(user.quota ? [`quota ${formatSize(user.quota)}`] : []), ...(user.maxMessages ? [`at most ${user.maxMessages} messages`] : [])]
    this.say(`added user ${user.address}${limits.length ? ` (${limits.join(', ')})` : ''}`)
    return user
  }
}
