import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../src/cli/base-command.js'
import {bytesProgress} from '../src/cli/bytes-progress.js'
import {formatSize} from '../src/size.js'
import {restoreStore} from '../src/store/backup.js'
import {parseLocation} from '../src/store/copy.js'

export default class Restore extends MailboxCommand {
  static override summary = 'Restore a backup file (made by mailbox backup) into a data dir or an empty PostgreSQL store.'
  static override description = [
    'The file is checked first: a whole store file of a schema version this mailbox knows (an older one is brought up to date as it is restored). Nothing is replaced before that.',
    'Into a data dir (--data-dir): refused while a mailbox serve uses it. A data dir that holds a store already is refused unless --force; then the old store is kept beside the restored one as mailbox.lmdb.before-restore-TIME (delete it when you no longer need it).' +
      ' The file is copied in as restore-incomplete-PID and renamed into place once whole and on disk.',
    'Into PostgreSQL (--store postgres://…): the database must hold no mailbox records, and no node may be running on it (--force: the node registry shows nodes that are gone).',
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> restore /var/backups/mailbox/mailbox-2026-12-01.lmdb --data-dir /var/lib/mailbox-restored',
    '<%= config.bin %> restore /var/backups/mailbox/latest.lmdb --data-dir /var/lib/mailbox --force',
    '<%= config.bin %> restore /var/backups/mailbox/latest.lmdb --store postgres://mailbox@db.example.com/mailbox',
  ]
  static override args = {src: Args.string({description: 'the backup file', required: true})}
  static override flags = {
    force: Flags.boolean({summary: 'Data dir: replace its store (kept, renamed). PostgreSQL: restore though the node registry shows live nodes.'}),
  }

  async run() {
    const {args, flags} = await this.parse(Restore)
    const to = parseLocation(flags.store ?? flags['data-dir'])
    const summary = await restoreStore(args.src, to, {force: flags.force, progress: bytesProgress('restore')})
    this.say(
      `restored ${summary.file} into ${summary.to} in ${summary.seconds.toFixed(1)} s: ${formatSize(summary.bytes)}, ${summary.users} user${summary.users === 1 ? '' : 's'}, ${summary.messages} message${summary.messages === 1 ? '' : 's'}`,
    )
    if (summary.previous) this.say(`the store that was there is kept as ${summary.previous}`)
    return summary
  }
}
