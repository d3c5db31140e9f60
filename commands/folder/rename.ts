import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {existingUser} from '../../src/cli/user-arg.js'

export default class FolderRename extends MailboxCommand {
  static override summary = 'Rename a folder with its children.'
  static override description = 'Renaming INBOX moves its messages to the new folder and leaves INBOX empty.'
  static override examples = ['<%= config.bin %> folder rename alice@example.com Projects Work/Projects']
  static override args = {user: Args.string({required: true, ignoreStdin: true}), name: Args.string({required: true, ignoreStdin: true}), newName: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(FolderRename)
    const store = await this.openStore(flags['data-dir'])
    const folder = await store.mail.renameFolder(await existingUser(store, args.user), args.name, args.newName)
    this.say(`renamed ${args.name} to ${folder.name}`)
    return folder
  }
}
