/**
 * The SORT/THREAD keys of messages (../mime/sort-keys.ts), kept in memory by blob id so that
 * sorting a 100,000-message folder reads no message: the first SORT or THREAD of a folder reads
 * each header once (as Dovecot fills its cache file on the first sort), later ones only look
 * the keys up. A blob's bytes never change, so an entry is never stale; the cache is bounded
 * by entry count (config `imap.sortCacheEntries`; an entry is about 450 bytes of heap) and drops
 * the oldest entries first.
 */
import {headerEnd} from '../mime/header.js'
import {MessageIdNumbers, sortKeysOf, type SortKeys} from '../mime/sort-keys.js'
import {DEFAULT_IMAP_LIMITS} from '../imap/limits.js'
import type {MailStore} from '../store/backend.js'
import type {MessageRecord} from '../store/records.js'

/** a header longer than this is read by its first part only */
const MAX_HEADER = 256 * 1024

/** a blob gone meanwhile: no header (numbers none, so any table will do) */
const NO_KEYS = sortKeysOf('', new MessageIdNumbers())

/** Message-IDs numbered per cached entry before the table starts again (References add several each) */
const IDS_PER_ENTRY = 8

export class SortKeysCache {
  private readonly keys = new Map<string, SortKeys>()
  private ids = new MessageIdNumbers()
  /**
   * the keys of a folder view's records, by the records array: a view is replaced, never
   * changed, so while it lives a SORT of its folder needs no lookup per message
   */
  private byView = new WeakMap<readonly MessageRecord[], SortKeys[]>()

  constructor(
    private readonly mail: MailStore,
    private readonly maxEntries = DEFAULT_IMAP_LIMITS.sortCacheEntries,
  ) {}

  /** the keys of each record, in the order given (a blob gone meanwhile sorts as one with no header) */
  async of(records: readonly MessageRecord[]): Promise<SortKeys[]> {
    for (;;) {
      const known = this.byView.get(records)
      if (known) return known
      // the id numbers only grow (an id's number must not change while keys hold it): when they
      // are many more than the entries, everything starts again from the blobs
      if (this.ids.size > IDS_PER_ENTRY * Math.max(this.maxEntries, records.length)) {
        this.keys.clear()
        this.byView = new WeakMap()
        this.ids = new MessageIdNumbers()
      }
      const ids = this.ids
      const out = new Array<SortKeys>(records.length)
      for (let i = 0; i < records.length; i++) {
        const id = records[i]!.blobId
        let k = this.keys.get(id)
        if (!k) {
          k = await this.load(id, ids)
          if (ids === this.ids) this.remember(id, k)
        }
        out[i] = k
      }
      // keys threaded together must come from one numbering: if another call started the table
      // again while this one read blobs, number these again with the new one
      if (ids !== this.ids) continue
      if (this.maxEntries > 0) this.byView.set(records, out)
      return out
    }
  }

  private async load(id: string, ids: MessageIdNumbers): Promise<SortKeys> {
    const raw = await this.mail.blob(id)
    if (!raw) return NO_KEYS
    const end = headerEnd(raw, 0, Math.min(raw.length, MAX_HEADER))
    return sortKeysOf(raw.toString('utf8', 0, end), ids)
  }

  private remember(id: string, k: SortKeys): void {
    if (this.maxEntries <= 0) return
    this.keys.set(id, k)
    // Map iteration is insertion order: the first entries are the oldest
    if (this.keys.size > this.maxEntries) {
      for (const old of this.keys.keys()) {
        this.keys.delete(old)
        if (this.keys.size <= this.maxEntries) break
      }
    }
  }
}
