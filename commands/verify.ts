import {Flags} from '@oclif/core'
import {MailboxCommand} from '../src/cli/base-command.js'
import {progressReporter} from '../src/cli/progress.js'
import {verifyStore, type VerifyReport} from '../src/store/verify-store.js'

export default class Verify extends MailboxCommand {
  static override summary = "Check a store's invariants: blobs and their references, folder counters, UIDNEXT, HIGHESTMODSEQ, the store's counters, the queue index, orphans."
  static override description = [
    'Reads one consistent snapshot of the store (LMDB: a read transaction; PostgreSQL: a repeatable-read one) without locking it, so a running server goes on serving,' +
      ' and names every breach with its keys: user, folder and id, UID, blob id, queue id.',
    'Exit code 0 when the store is clean, 1 when it is not. --repair puts right what can be derived from the store (the last folder id and UIDVALIDITY given out, folder counters, UIDNEXT and HIGHESTMODSEQ raised, `subscribed`,' +
      ' blob reference counts, unused blobs and bytes, delivery log records of entries that are gone, the queue index), each in a small transaction that checks its fact again first,' +
      ' and says what it did; mail is never deleted: a message whose blob or folder is gone is reported and left (restore it from a backup).',
  ].join('\n\n')
  static override examples = ['<%= config.bin %> verify', '<%= config.bin %> verify --repair', '<%= config.bin %> verify --store postgres://mailbox@db.example.com/mailbox --json']
  static override flags = {
    repair: Flags.boolean({summary: 'Repair what can be derived from the store, and say what was done.'}),
  }

  async run(): Promise<VerifyReport> {
    const {flags} = await this.parse(Verify)
    const store = await this.openStore(flags['data-dir'], {readOnly: !flags.repair})
    const report = await verifyStore(store, {
      repair: flags.repair,
      reading: progressReporter('verify: records read'),
      repairing: progressReporter('verify: repairs'),
    })
    const repaired = new Set((report.repairs ?? []).filter((r) => r.outcome.done).flatMap((r) => r.breaches))
    for (const b of report.breaches) this.say(`${b.kind}: ${b.text}${b.derivable ? '' : ' (not derivable)'}`)
    for (const r of report.repairs ?? []) this.say(r.text)
    const records = Object.values(report.checked).reduce((n, c) => n + (c ?? 0), 0)
    const left = report.breaches.filter((b) => !repaired.has(b))
    if (report.breaches.length === 0) this.say(`${report.store}: clean (${records} records checked)`)
    else if (flags.repair) this.say(`${report.store}: ${report.breaches.length} breaches, ${repaired.size} repaired, ${left.length} left (${left.filter((b) => !b.derivable).length} not derivable)`)
    else this.say(`${report.store}: ${report.breaches.length} breaches (${report.breaches.filter((b) => b.derivable).length} derivable: verify --repair mends them)`)
    if (left.length > 0) process.exitCode = 1
    return report
  }
}
