/**
 * What a folder already holds, for the import's "imported before?" question without new stored
 * state: the folder's message entries by size (the entries carry it: no blob is read to build
 * this), and only on a size match the candidate's bytes hashed, once. Identical bytes mean the
 * same Message-ID and the same content, which is what makes a rerun skip what an earlier
 * (complete or interrupted) run imported.
 *
 * A match is used up: a source holding the same message twice imports it twice, and a rerun
 * skips both.
 */
import {createHash} from 'node:crypto'
import type {MailStore} from '../store/backend.js'

/** the folder's messages of one size: blobs not hashed yet, and how many of each hash are left to match */
interface SizeGroup {
  unhashed: string[]
  byHash: Map<string, number>
}

export const contentHash = (raw: Buffer): string => createHash('sha256').update(raw).digest('base64')

export class FolderIndex {
  private constructor(
    private readonly mail: MailStore,
    private readonly bySize: Map<number, SizeGroup>,
  ) {}

  static async load(mail: MailStore, folderId: number): Promise<FolderIndex> {
    const bySize = new Map<number, SizeGroup>()
    for (const m of await mail.messages(folderId)) {
      const group = bySize.get(m.size)
      if (group) group.unhashed.push(m.blobId)
      else bySize.set(m.size, {unhashed: [m.blobId], byHash: new Map()})
    }
    return new FolderIndex(mail, bySize)
  }

  /**
   * whether the folder holds these bytes (in an entry not matched before); uses the match up.
   * Each entry's bytes are read and hashed once at most, only when a message of its size comes.
   */
  async holds(raw: Buffer): Promise<boolean> {
    const group = this.bySize.get(raw.length)
    if (!group) return false
    const hash = contentHash(raw)
    while (!group.byHash.get(hash) && group.unhashed.length) {
      const bytes = await this.mail.blob(group.unhashed.pop()!)
      if (bytes) {
        const h = contentHash(bytes)
        group.byHash.set(h, (group.byHash.get(h) ?? 0) + 1)
      }
    }
    const left = group.byHash.get(hash)
    if (!left) return false
    group.byHash.set(hash, left - 1)
    return true
  }
}
