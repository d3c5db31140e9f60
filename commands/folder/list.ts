import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable} from '../../src/cli/table.js'
import {existingUser} from '../../src/cli/user-arg.js'
import {formatSize} from '../../src/size.js'

export default class FolderList extends MailboxCommand {
  static override summary = "List a user's folders with message counts, sizes and UID state."
  static override examples = ['<%= config.bin %> folder list alice@example.com']
  static override args = {user: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(FolderList)
    const store = await this.openStore(flags['data-dir'])
    const folders = await store.mail.folders(await existingUser(store, args.user))
    this.say(
      formatTable(folders, [
        {header: 'name', get: (f) => f.name},
        {header: 'use', get: (f) => f.specialUse ?? (f.noselect ? '\\Noselect' : '')},
        {header: 'messages', get: (f) => f.messages},
        {header: 'unseen', get: (f) => f.unseen},
        {header: 'size', get: (f) => formatSize(f.size)},
        {header: 'uidvalidity', get: (f) => f.uidValidity},
        {header: 'uidnext', get: (f) => f.uidNext},
        {header: 'subscribed', get: (f) => (f.subscribed ? 'yes' : 'no')},
      ]),
    )
    return folders
  }
}
