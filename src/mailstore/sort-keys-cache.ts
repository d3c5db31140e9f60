/**
 * The SORT/THREAD keys of messages (../mime/sort-keys.ts), kept in memory by blob id so that
 * sorting a 100,000-message folder reads no message: the first SORT or THREAD of a folder reads
 * each header once (as Dovecot fills its cache file on the first sort), later ones only look
 * the keys up. A blob's bytes never change, so an entry is never stale; the cache is bounded
 * by entry count (config `imap.sortCacheEntries`; an entry is about 300 bytes of heap) and drops
 * the oldest entries first.
 */
import {headerEnd} from '../mime/header.js'
import {sortKeysOf, type SortKeys} from '../mime/sort-keys.js'
import {DEFAULT_IMAP_LIMITS} from '../imap/limits.js'
import type {MailStore} from '../store/backend.js'

/** a header longer than this is read by its first part only */
const MAX_HEADER = 256 * 1024

const NO_KEYS = sortKeysOf('')

export class SortKeysCache {
  private readonly keys = new Map<string, SortKeys>()

  constructor(
    private readonly mail: MailStore,
    private readonly maxEntries = DEFAULT_IMAP_LIMITS.sortCacheEntries,
  ) {}

  /** the keys of each blob, in the order asked (a blob gone meanwhile sorts as one with no header) */
  async of(blobIds: readonly string[]): Promise<SortKeys[]> {
    const out = new Array<SortKeys>(blobIds.length)
    for (let i = 0; i < blobIds.length; i++) {
      const id = blobIds[i]!
      let k = this.keys.get(id)
      if (!k) {
        k = await this.load(id)
        this.remember(id, k)
      }
      out[i] = k
    }
    return out
  }

  private async load(id: string): Promise<SortKeys> {
    const raw = await this.mail.blob(id)
    if (!raw) return NO_KEYS
    const end = headerEnd(raw, 0, Math.min(raw.length, MAX_HEADER))
    return sortKeysOf(raw.toString('utf8', 0, end))
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
