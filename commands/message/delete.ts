import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {folderFlag} from '../../src/cli/message-flags.js'
import {existingUser} from '../../src/cli/user-arg.js'
import {deleteMessage} from '../../src/cli/message-views.js'

export default class MessageDelete extends MailboxCommand {
  static override summary = 'Delete a message from a folder.'
  static override examples = ['<%= config.bin %> message delete alice@example.com 3', '<%= config.bin %> message delete alice@example.com 7 --folder Trash']
  static override args = {user: Args.string({required: true, ignoreStdin: true}), uid: Args.integer({required: true, ignoreStdin: true, min: 1})}
  static override flags = {...folderFlag}

  async run() {
    const {args, flags} = await this.parse(MessageDelete)
    const store = await this.openStore(flags['data-dir'])
    const message = await deleteMessage(store.mail, await existingUser(store, args.user), flags.folder, args.uid)
    this.say(`deleted message ${message.uid} from ${message.folder}`)
    return message
  }
}
