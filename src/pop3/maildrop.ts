/**
 * A POP3 session's maildrop: the user's INBOX as it was at login (RFC 1939 §5: message numbers
 * stay fixed for the session), with the session's own deletion marks. Mail that arrives later is
 * not seen until the next login; messages removed meanwhile by another session (IMAP) fail when
 * read. Nothing here touches the store: QUIT hands `deletedUids()` to one `mailstore.expunge`.
 */
import type {MailboxView} from '../mailstore/mailbox-view.js'

export interface DropEntry {
  /** 1-based message number */
  n: number
  uid: number
  blobId: string
  seen: boolean
  deleted: boolean
  /** octets as sent (see wire.ts), once known */
  wireSize?: number
}

export class Maildrop {
  readonly mailboxId: number
  readonly uidValidity: number
  readonly entries: DropEntry[]

  constructor(view: MailboxView) {
    this.mailboxId = view.folder.id
    this.uidValidity = view.folder.uidValidity
    // a copy: the view is shared with other sessions and replaced as the folder changes
    this.entries = view.records.map((r, i) => ({n: i + 1, uid: r.uid, blobId: r.blobId, seen: r.flags.includes('\\Seen'), deleted: false}))
  }

  /** the messages not marked deleted */
  live(): DropEntry[] {
    return this.entries.filter((e) => !e.deleted)
  }

  /** A message by the number a client gave: the entry, or the `-ERR` text. */
  find(arg: string | undefined): DropEntry | string {
    if (arg === undefined || !/^\d{1,10}$/.test(arg)) return 'syntax: give a message number'
    const entry = this.entries[Number(arg) - 1]
    if (!entry) return `no such message, only ${this.entries.length} in maildrop`
    if (entry.deleted) return `message ${entry.n} already deleted`
    return entry
  }

  /** RFC 1939 §7: unique within the maildrop and never reused, so a client can tell what it already has */
  uidl(entry: DropEntry): string {
    return `${this.uidValidity}.${entry.uid}`
  }

  /** RSET: how many marks were undone */
  reset(): number {
    let n = 0
    for (const e of this.entries) {
      if (e.deleted) n++
      e.deleted = false
    }
    return n
  }

  deletedUids(): number[] {
    return this.entries.filter((e) => e.deleted).map((e) => e.uid)
  }
}
