import {Args, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {MailboxCommand} from '../src/cli/base-command.js'
import {progressReporter} from '../src/cli/progress.js'
import {existingUser} from '../src/cli/user-arg.js'
import {effectiveConfig} from '../src/config.js'
import {connectControl} from '../src/control/client.js'
import {MailboxError} from '../src/errors.js'
import {importMail} from '../src/mail-transfer/import.js'
import {MBOX_VARIANTS, type MboxVariant} from '../src/mail-transfer/mbox-reader.js'
import {IMPORT_FORMATS, openSource, type ImportFormat} from '../src/mail-transfer/source.js'
import type {FolderChange, MailboxStore} from '../src/store/backend.js'
import {formatSize, parseSize} from '../src/size.js'

export default class Import extends MailboxCommand {
  static override summary = "Import mail into a user's folders from an mbox file, a Maildir or Maildir++ tree, or a directory of .mbox files."
  static override description = [
    'PATH is an mbox file (into INBOX, or --folder), a Maildir (cur/ new/) or a Maildir++ tree as Dovecot keeps it (.Sent, .Lists.foo → Lists/foo; flags from the file names, keywords from dovecot-keywords, the internal date from the file time), or a directory of FOLDER.mbox files as `mailbox export --format mbox` writes. Folders are made as needed.',
    'mbox: the internal date comes from the From_ line; the flags from Status, X-Status and X-Keywords, which are then taken out of the message (they are the file\'s bookkeeping, as Dovecot hides them). `>From ` lines are read as mboxo unless the file is one of our mboxrd exports (--mbox-variant to say). Lines end CRLF once stored: a file with LF lines only gets CRLF.',
    'Rerunning is safe: a message the target folder holds already (the same bytes) is skipped, so an interrupted import is finished by running it again. A message that cannot be stored (truncated, no message, over --max-size, over the quota) is reported, never stored in part; the exit code is then 1. The user\'s quota applies as to any APPEND: raise it first to import more.',
    'Works whether or not the server runs; a running server\'s IMAP sessions (IDLE too) see the mail as it arrives: through the PostgreSQL change feed, or, on a data dir\'s LMDB store, because the import tells the server after each commit. Progress (rate, ETA) goes to stderr.',
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> import alice@example.com ~/mail/archive.mbox --folder Archive/2019',
    '<%= config.bin %> import alice@example.com /var/vmail/example.com/alice/Maildir',
    '<%= config.bin %> import bob@example.com export-dir/ --json',
  ]
  static override args = {
    user: Args.string({required: true, ignoreStdin: true, description: 'the user whose folders get the mail'}),
    path: Args.string({required: true, ignoreStdin: true, description: 'an mbox file, a Maildir (or Maildir++ tree), or a directory of .mbox files'}),
  }
  static override flags = {
    folder: Flags.string({summary: "The target folder of an mbox file or a Maildir; a tree's folders go below it (default: INBOX, a tree's at the top level)."}),
    format: Flags.string({summary: 'What PATH is (auto: a file is mbox, a directory with cur/ or new/ a Maildir).', options: [...IMPORT_FORMATS], default: 'auto'}),
    'mbox-variant': Flags.string({summary: 'How `>From ` lines of an mbox are read (auto: mboxrd for our own exports, else mboxo).', options: [...MBOX_VARIANTS], default: 'auto'}),
    'max-size': Flags.string({summary: "Largest message taken (default: the server's smtp.maxMessageSize)."}),
    config: Flags.string({summary: "The server's config file (for smtp.maxMessageSize)."}),
  }

  async run() {
    const {args, flags} = await this.parse(Import)
    const store = await this.openStore(flags['data-dir'])
    const user = await existingUser(store, args.user)
    const maxSize = flags['max-size'] ? parseSize(flags['max-size']) : effectiveConfig({dataDir: flags['data-dir'], configFile: flags.config}).smtp.maxMessageSize
    const variants: Record<string, MboxVariant> = {}
    let bytesRead = 0
    const source = openSource(args.path, {
      format: flags.format as ImportFormat,
      folder: flags.folder,
      variant: flags['mbox-variant'] as MboxVariant | 'auto',
      maxSize,
      onBytes: (n) => (bytesRead += n),
      onVariant: (file, v) => (variants[file] = v),
    })
    const server = await liveServer(store, flags['data-dir'])
    const byBytes = source.unit === 'bytes'
    const report = progressReporter('importing', {eta: true, ...(byBytes ? {format: formatSize} : {})})
    const summary = await importMail(store, user, source.items, {
      // messages read, not imported: the last commit is still under way when all are read
      progress: (c, messages) => report(byBytes ? bytesRead : Math.min(messages, source.total), source.total, `(${messages} message(s): ${c.duplicates} skipped, ${c.refused} refused)`),
      committed: server?.announce,
    }).finally(() => server?.close())
    const result = {...summary, path: args.path, format: source.format, ...(source.format === 'mbox' ? {variants} : {})}
    if (!this.jsonEnabled()) {
      this.log(`imported ${summary.imported} message(s) into ${user} from ${args.path} (${source.format}) in ${summary.seconds.toFixed(1)} s: ${summary.duplicates} skipped as already there, ${summary.refused} refused`)
      for (const f of summary.folders) this.log(`  ${f.name}${f.created ? ' (created)' : ''}: ${f.imported} imported, ${f.duplicates} skipped`)
      for (const r of summary.refusals) this.log(`  refused ${r.where}: ${r.reason}`)
      if (summary.refusals.length < summary.refused) this.log(`  … and ${summary.refused - summary.refusals.length} more refused`)
    }
    if (summary.refused) {
      if (this.jsonEnabled()) this.logJson(result)
      throw new MailboxError('invalid', `${summary.refused} message(s) not imported (see above)`)
    }
    return result
  }
}

/**
 * A server on the same LMDB data dir does not hear another process's commits (PostgreSQL's change
 * feed tells every node): it is told through its control socket, so IDLE sessions see the mail
 * arrive. Best effort: a server that goes away meanwhile leaves the import going.
 */
async function liveServer(store: MailboxStore, dataDir: string): Promise<{announce: (change: FolderChange) => Promise<void>; close: () => void} | undefined> {
  if (store.kind !== 'lmdb') return undefined
  let client = await connectControl(resolve(dataDir)).catch(() => undefined)
  if (!client) return undefined
  return {
    announce: async ({folder}) => {
      try {
        await client?.call('mailstore.changedElsewhere', {user: folder.user, mailboxId: folder.id, highestModseq: folder.highestModseq})
      } catch {
        client?.close()
        client = undefined
      }
    },
    close: () => client?.close(),
  }
}
