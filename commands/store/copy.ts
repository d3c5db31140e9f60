import {Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {copyProgressDisplay} from '../../src/cli/copy-progress.js'
import {formatSize} from '../../src/size.js'
import {copyStore, differenceError, parseLocation} from '../../src/store/copy.js'
import {KIND_NAMES, KINDS} from '../../src/store/transfer.js'

export default class StoreCopy extends MailboxCommand {
  static override summary = 'Copy a whole store into an empty one: from a data dir to PostgreSQL, back, or between two of either; verified afterwards.'
  static override description = [
    'Copies every domain, DKIM key, user, alias, folder, message (with its bytes), queue entry, delivery log line, capture rule and familiar login address,' +
      ' keeping ids, UIDs, UIDVALIDITY, MODSEQs, flags and dates exactly, so IMAP clients see no change after a move.' +
      ' Entries the source was sending are copied as queued, due now. Login failure counts and the node registry are not copied.',
    'The destination must be empty (a new data dir, or a database with no mailbox records). Nothing may serve either store meanwhile:' +
      ' a data dir is locked as `serve` locks it, and a PostgreSQL store with live nodes is refused (stop them first; --force if they are gone).',
    'Progress goes to stderr, a line per kind of record. Afterwards both stores are compared as `store verify` does (--no-verify skips that).',
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> store copy --from /var/lib/mailbox --to postgres://mailbox:secret@db.example.com/mailbox',
    '<%= config.bin %> store copy --from postgres://mailbox@db.example.com/mailbox --to /var/lib/mailbox-new --json',
  ]
  static override flags = {
    from: Flags.string({summary: 'The store to copy: a data directory or a postgres:// URL.', required: true}),
    to: Flags.string({summary: 'The empty store to copy into: a data directory (created if missing) or a postgres:// URL.', required: true}),
    verify: Flags.boolean({summary: 'Compare both stores after the copy (--no-verify: skip).', default: true, allowNo: true}),
    force: Flags.boolean({summary: 'Copy even though the PostgreSQL node registry shows live nodes.'}),
  }

  async run() {
    const {flags} = await this.parse(StoreCopy)
    const display = copyProgressDisplay()
    const summary = await copyStore(parseLocation(flags.from), parseLocation(flags.to), {
      force: flags.force,
      verify: flags.verify,
      started: display.started,
      progress: display.progress,
      written: display.finish,
    })
    const {copied} = summary
    const parts = KINDS.filter((k) => k !== 'meta' && copied[k].count > 0).map((k) => `${KIND_NAMES[k]} ${copied[k].count}${k === 'blob' ? ` (${formatSize(copied.blob.bytes)})` : ''}`)
    this.say(`copied ${summary.from} to ${summary.to} in ${summary.seconds.toFixed(1)} s: ${parts.join(', ') || 'an empty store'}`)
    if (summary.verify && !summary.verify.equal) {
      if (this.jsonEnabled()) this.logJson(summary)
      throw differenceError(summary.verify)
    }
    if (summary.verify) this.say('verified: both stores hold the same records')
    return summary
  }
}
