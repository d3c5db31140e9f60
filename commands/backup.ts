import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../src/cli/base-command.js'
import {bytesProgress} from '../src/cli/bytes-progress.js'
import {formatSize} from '../src/size.js'
import {backupStore} from '../src/store/backup.js'
import {parseLocation} from '../src/store/copy.js'

export default class Backup extends MailboxCommand {
  static override summary = 'Write a consistent, compacted copy of the store into one file, while serve keeps serving.'
  static override description = [
    'DEST is one file: a whole LMDB store file, what a data dir keeps as mailbox.lmdb, holding every domain, DKIM key, user (with its password hash), alias, folder, message, queue entry and delivery log of one moment.' +
      ' From the data dir it is LMDB\'s copy of a read snapshot: nothing is locked against the server, which keeps accepting and changing mail meanwhile. From a PostgreSQL store (--store) it is the same kind of file, made from one snapshot of the database. `mailbox restore` puts it back into either.',
    'The file is written as DEST.incomplete-PID and renamed to DEST once whole and on disk: a failure or an interrupted backup never leaves a DEST that is not whole. An existing DEST is refused unless --force.',
    'Progress goes to stderr; the summary (bytes, users, messages, time) to stdout, or as JSON with --json.',
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> backup /var/backups/mailbox/mailbox-$(date +%F).lmdb --data-dir /var/lib/mailbox',
    '<%= config.bin %> backup /var/backups/mailbox/latest.lmdb --force --json',
    '<%= config.bin %> backup /var/backups/mailbox/cluster.lmdb --store postgres://mailbox@db.example.com/mailbox',
  ]
  static override args = {dest: Args.string({description: 'the backup file to write', required: true})}
  static override flags = {
    force: Flags.boolean({summary: 'Replace DEST if it exists.'}),
  }

  async run() {
    const {args, flags} = await this.parse(Backup)
    const from = parseLocation(flags.store ?? flags['data-dir'])
    // the file holds all mail and password hashes: private from its first byte, not only once chmodded
    process.umask(0o077)
    const summary = await backupStore(from, args.dest, {force: flags.force, progress: bytesProgress('backup')})
    this.say(
      `backed up ${summary.from} to ${summary.file} in ${summary.seconds.toFixed(1)} s: ${formatSize(summary.bytes)}, ${summary.users} user${summary.users === 1 ? '' : 's'}, ${summary.messages} message${summary.messages === 1 ? '' : 's'}`,
    )
    return summary
  }
}
