/** What a source (an mbox, a Maildir, a tree of either) hands the import loop, one message at a time. */
export interface SourceMessage {
  kind: 'message'
  /** the target folder (store form, `/` separated) */
  folder: string
  /** the bytes to store (./line-ends.ts toStoredForm applied) */
  raw: Buffer
  flags: string[]
  internalDate?: number
  /** where it came from, for reports: a file name, or `FILE at byte N` */
  where: string
}

/** a message (or a folder of them) that cannot be imported, and why */
export interface SourceRefusal {
  kind: 'refused'
  folder: string
  where: string
  reason: string
}

export type SourceItem = SourceMessage | SourceRefusal

/** what every reader is told: the largest message taken, and how to report bytes read (progress) */
export interface ReadOptions {
  maxSize: number
  onBytes?: (bytes: number) => void
}
