import {Args, Flags} from '@oclif/core'
import {simpleParser} from 'mailparser'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {folderFlag} from '../../src/cli/message-flags.js'
import {formatTime} from '../../src/cli/table.js'
import {existingUser} from '../../src/cli/user-arg.js'
import {getMessage} from '../../src/cli/message-views.js'

export default class MessageShow extends MailboxCommand {
  static override summary = 'Show a message: headers and text, or the raw bytes with --raw.'
  static override examples = ['<%= config.bin %> message show alice@example.com 1', '<%= config.bin %> message show alice@example.com 1 --raw > m.eml']
  static override args = {user: Args.string({required: true, ignoreStdin: true}), uid: Args.integer({required: true, ignoreStdin: true, min: 1})}
  static override flags = {...folderFlag, raw: Flags.boolean({summary: 'Print the message exactly as stored.'})}

  async run() {
    const {args, flags} = await this.parse(MessageShow)
    const store = await this.openStore(flags['data-dir'])
    const {raw, ...message} = await getMessage(store.mail, await existingUser(store, args.user), flags.folder, args.uid)
    if (flags.raw && !this.jsonEnabled()) {
      process.stdout.write(raw)
      return {...message, raw: raw.toString('base64')}
    }
    const parsed = await simpleParser(raw)
    const text = parsed.text ?? ''
    this.say(
      [
        `uid:      ${message.uid} (${message.folder})`,
        `from:     ${message.from}`,
        `to:       ${message.to.join(', ')}`,
        `subject:  ${message.subject}`,
        `date:     ${formatTime(message.date ?? message.internalDate)}`,
        `flags:    ${message.flags.join(' ')}`,
        `size:     ${message.size}`,
        '',
        text,
      ].join('\n'),
    )
    return {...message, text, ...(flags.raw ? {raw: raw.toString('base64')} : {})}
  }
}
