import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable} from '../../src/cli/table.js'
import {existingUser} from '../../src/cli/user-arg.js'
import {formatSize} from '../../src/size.js'
import type {MailboxRecord} from '../../src/store/records.js'

export default class FolderList extends MailboxCommand {
  static override summary = "List a user's folders with message counts, sizes and UID state."
  static override examples = ['<%= config.bin %> folder list alice@example.com']
  static override args = {user: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(FolderList)
    const store = await this.openStore(flags['data-dir'])
    const user = await existingUser(store, args.user)
    const folders = await store.mail.folders(user)
    // subscriptions outlive their folders (IMAP LSUB still shows them): listed after the folders
    const names = new Set(folders.map((f) => f.name))
    const orphans = (await store.mail.subscriptions(user)).filter((name) => !names.has(name))
    const rows = [...folders, ...orphans.map((name) => ({name, orphan: true as const}))]
    const cell = <T>(get: (f: MailboxRecord) => T) => (r: (typeof rows)[number]) => ('orphan' in r ? '-' : get(r))
    this.say(
      formatTable(rows, [
        {header: 'name', get: (r) => r.name},
        {header: 'use', get: (r) => ('orphan' in r ? '\\NonExistent' : (r.specialUse ?? (r.noselect ? '\\Noselect' : '')))},
        {header: 'messages', get: cell((f) => f.messages)},
        {header: 'unseen', get: cell((f) => f.unseen)},
        {header: 'size', get: cell((f) => formatSize(f.size))},
        {header: 'uidvalidity', get: cell((f) => f.uidValidity)},
        {header: 'uidnext', get: cell((f) => f.uidNext)},
        {header: 'subscribed', get: (r) => ('orphan' in r || r.subscribed ? 'yes' : 'no')},
      ]),
    )
    return folders
  }
}
