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

interface Candidate {
  blobId: string
  hash?: string
  used?: boolean
}

export const contentHash = (raw: Buffer): string => createHash('sha256').update(raw).digest('base64')

export class FolderIndex {
  private constructor(
    private readonly mail: MailStore,
    private readonly bySize: Map<number, Candidate[]>,
  ) {}

  static async load(mail: MailStore, folderId: number): Promise<FolderIndex> {
    const bySize = new Map<number, Candidate[]>()
    for (const m of await mail.messages(folderId)) {
      const list = bySize.get(m.size)
      if (list) list.push({blobId: m.blobId})
      else bySize.set(m.size, [{blobId: m.blobId}])
    }
    return new FolderIndex(mail, bySize)
  }

  /** whether the folder holds these bytes (in an entry not matched before); uses the match up */
  async holds(raw: Buffer): Promise<boolean> {
    const candidates = this.bySize.get(raw.length)
    if (!candidates) return false
    let hash: string | undefined
    for (const c of candidates) {
      if (c.used) continue
      if (c.hash === undefined) {
        const bytes = await this.mail.blob(c.blobId)
        c.hash = bytes ? contentHash(bytes) : ''
      }
      if (c.hash === (hash ??= contentHash(raw))) {
        c.used = true
        return true
      }
    }
    return false
  }
}
