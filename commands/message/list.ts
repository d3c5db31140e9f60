import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {folderFlag} from '../../src/cli/message-flags.js'
import {formatTable, formatTime} from '../../src/cli/table.js'
import {existingUser} from '../../src/cli/user-arg.js'
import {listMessages} from '../../src/cli/message-views.js'
import {formatSize} from '../../src/size.js'

export default class MessageList extends MailboxCommand {
  static override summary = "List the messages in one of a user's folders."
  static override examples = ['<%= config.bin %> message list alice@example.com', '<%= config.bin %> message list alice@example.com --folder Sent --json']
  static override args = {user: Args.string({required: true, ignoreStdin: true})}
  static override flags = {...folderFlag, limit: Flags.integer({summary: 'At most this many messages (lowest UIDs first).', min: 1})}

  async run() {
    const {args, flags} = await this.parse(MessageList)
    const store = await this.openStore(flags['data-dir'])
    const messages = await listMessages(store.mail, await existingUser(store, args.user), flags.folder, flags.limit)
    this.say(
      formatTable(messages, [
        {header: 'uid', get: (m) => m.uid},
        {header: 'date', get: (m) => formatTime(m.internalDate)},
        {header: 'from', get: (m) => m.from.slice(0, 40)},
        {header: 'size', get: (m) => formatSize(m.size)},
        {header: 'flags', get: (m) => m.flags.join(' ')},
        {header: 'subject', get: (m) => m.subject.slice(0, 60)},
      ]),
    )
    return messages
  }
}
