import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {existingUser} from '../../src/cli/user-arg.js'

export default class FolderDelete extends MailboxCommand {
  static override summary = 'Delete a folder and its messages.'
  static override description = 'INBOX cannot be deleted. A folder with children keeps them and stays as a \\Noselect placeholder.'
  static override examples = ['<%= config.bin %> folder delete alice@example.com Projects']
  static override args = {user: Args.string({required: true, ignoreStdin: true}), name: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(FolderDelete)
    const store = await this.openStore(flags['data-dir'])
    const user = await existingUser(store, args.user)
    await store.mail.deleteFolder(user, args.name)
    this.say(`deleted folder ${args.name}`)
    return {user, name: args.name}
  }
}
