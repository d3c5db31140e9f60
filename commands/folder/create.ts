import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {existingUser} from '../../src/cli/user-arg.js'

export default class FolderCreate extends MailboxCommand {
  static override summary = 'Create a folder (and its missing parents: a/b/c creates a and a/b).'
  static override examples = ['<%= config.bin %> folder create alice@example.com Projects/2026']
  static override args = {user: Args.string({required: true, ignoreStdin: true}), name: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(FolderCreate)
    const store = await this.openStore(flags['data-dir'])
    const folder = await store.mail.createFolder(await existingUser(store, args.user), args.name)
    this.say(`created folder ${folder.name} (uidvalidity ${folder.uidValidity})`)
    return folder
  }
}
