import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../src/cli/base-command.js'
import {progressReporter} from '../src/cli/progress.js'
import {existingUser} from '../src/cli/user-arg.js'
import {MailboxError} from '../src/errors.js'
import {EXPORT_FORMATS, exportMail, type ExportFormat} from '../src/mail-transfer/export.js'
import {formatSize} from '../src/size.js'

export default class Export extends MailboxCommand {
  static override summary = "Export a user's mail as a Maildir++ tree or a directory of mbox files."
  static override description = [
    'maildir: DEST becomes a Maildir++ tree as Dovecot keeps it (INBOX at the top, .Sent, .Lists.foo for Lists/foo), flags in the file names (:2,FRS; keywords as letters with a dovecot-keywords file), the internal date as each file\'s time.',
    'mbox: DEST becomes a directory of FOLDER.mbox files (Lists/foo.mbox), mboxrd, the internal date in each From_ line, the flags as Status / X-Status / X-Keywords fields.',
    'Lines end LF in the files (CRLF again after `mailbox import`): an export imported into another user gives each message back byte for byte, with its flags and internal date. DEST must be new or empty.',
  ].join('\n\n')
  static override examples = ['<%= config.bin %> export alice@example.com /backup/alice --format maildir', '<%= config.bin %> export alice@example.com /tmp/alice-sent --format mbox --folder Sent']
  static override args = {
    user: Args.string({required: true, ignoreStdin: true}),
    dest: Args.string({required: true, ignoreStdin: true, description: 'a new or empty directory'}),
  }
  static override flags = {
    format: Flags.string({summary: 'maildir (a Maildir++ tree) or mbox (a directory of .mbox files).', options: [...EXPORT_FORMATS], required: true}),
    folder: Flags.string({summary: 'Only this folder.'}),
  }

  async run() {
    const {args, flags} = await this.parse(Export)
    const store = await this.openStore(flags['data-dir'], {readOnly: true})
    const user = await existingUser(store, args.user)
    const summary = await exportMail(store, user, args.dest, {format: flags.format as ExportFormat, folder: flags.folder, progress: progressReporter('exporting', {eta: true})})
    this.say(`exported ${summary.messages} message(s) (${formatSize(summary.bytes)}) of ${user} to ${args.dest} (${summary.format}) in ${summary.seconds.toFixed(1)} s`)
    for (const f of summary.folders) this.say(`  ${f.name}: ${f.messages} → ${f.path}`)
    if (summary.missing.length) {
      if (this.jsonEnabled()) this.logJson(summary)
      throw new MailboxError('not-found', `${summary.missing.length} message(s) have no bytes in the store and were not exported (run \`mailbox verify\`)`)
    }
    return summary
  }
}
