/**
 * `mailbox import`: the items of a source (./source.ts) into a user's folders through
 * `store.mail.append`, many messages per commit (as IMAP MULTIAPPEND), so both backends, the
 * quota check and a running PostgreSQL cluster's change feed work as for any APPEND.
 *
 * Idempotent without new state: each folder's contents are indexed first (./folder-index.ts)
 * and a message the folder holds already is skipped. A commit is all or nothing, so an
 * interrupted import leaves whole messages only, and a rerun completes it.
 *
 * Bad input is reported per message and never stored in part. Over quota: the batch is tried
 * one message at a time to store what fits, then everything left is refused (`quota`): the
 * import stops being useful, and raising the quota (`mailbox user …`) then a rerun finishes it.
 */
import {isMailboxError} from '../errors.js'
import {analyzeMessage} from '../mailstore/analyze.js'
import {normalizeFlags} from '../mailstore/flags.js'
import {DEFAULT_FOLDERS, normalizeFolderName} from '../mailstore/folder-rules.js'
import type {AppendMessage, FolderChange, MailboxStore} from '../store/backend.js'
import {FolderIndex} from './folder-index.js'
import type {SourceItem, SourceMessage} from './items.js'

export interface Refusal {
  folder: string
  where: string
  reason: string
}

export interface FolderSummary {
  name: string
  created: boolean
  imported: number
  duplicates: number
}

export interface ImportCounts {
  imported: number
  duplicates: number
  refused: number
}

export interface ImportSummary extends ImportCounts {
  user: string
  refusals: Refusal[]
  folders: FolderSummary[]
  seconds: number
}

export interface ImportOptions {
  /** messages per commit, at most */
  batchMessages?: number
  /** bytes per commit, at most (one bigger message is a commit of its own) */
  batchBytes?: number
  /** after each item, with how many items were read (a commit may still be under way for the last ones) */
  progress?: (counts: ImportCounts, read: number) => void
  /** refusals kept in the summary (all are counted) */
  maxRefusalsListed?: number
  /** after each commit, with what it did to the folder */
  committed?: (change: FolderChange) => void | Promise<void>
}

/** IMAP keywords are atoms (RFC 3501 §9): others from a file's header are dropped, not stored */
const ATOM = /^[^\x00-\x20\x7f-\uffff(){%*"\\\]]+$/

const SPECIAL_USE = new Map(DEFAULT_FOLDERS.filter((f) => f.specialUse).map((f) => [f.name, f.specialUse!]))

export async function importMail(store: MailboxStore, user: string, items: AsyncIterable<SourceItem> | Iterable<SourceItem>, options: ImportOptions = {}): Promise<ImportSummary> {
  const started = Date.now()
  const batchMessages = options.batchMessages ?? 500
  const batchBytes = options.batchBytes ?? 16 * 1024 * 1024
  const maxListed = options.maxRefusalsListed ?? 1000
  const counts: ImportCounts = {imported: 0, duplicates: 0, refused: 0}
  const refusals: Refusal[] = []
  const folders = new Map<string, {summary: FolderSummary; index: FolderIndex}>()
  let quotaError: string | undefined

  const refuse = (folder: string, where: string, reason: string) => {
    counts.refused++
    if (refusals.length < maxListed) refusals.push({folder, where, reason})
  }

  const folderFor = async (given: string) => {
    const name = normalizeFolderName(given)
    let f = folders.get(name)
    if (f) return f
    let record = await store.mail.folder(user, name)
    const created = !record || record.noselect === true
    if (created) record = await store.mail.createFolder(user, name, SPECIAL_USE.get(name))
    f = {summary: {name, created, imported: 0, duplicates: 0}, index: await FolderIndex.load(store.mail, record!.id)}
    folders.set(name, f)
    return f
  }

  let batch: {folder: string; messages: (AppendMessage & {where: string})[]; bytes: number} | undefined
  /** the commit in flight: the next batch is read and analyzed meanwhile */
  let committing: Promise<void> = Promise.resolve()

  const commit = async (b: NonNullable<typeof batch>) => {
    const f = folders.get(b.folder)!
    let change: FolderChange | undefined
    try {
      change = await store.mail.append({user, folder: b.folder, messages: b.messages.map(({where: _, ...m}) => m)})
    } catch (err) {
      if (!isMailboxError(err) || b.messages.length === 1) {
        if (!isMailboxError(err)) throw err
        if (err.code === 'quota') quotaError = err.message
        refuse(b.folder, b.messages[0]!.where, err.message)
        return
      }
    }
    if (change) {
      counts.imported += b.messages.length
      f.summary.imported += b.messages.length
      // outside the try: a failure to tell others is no refusal of the messages (they are stored)
      await options.committed?.(change)
      return
    }
    // one refused the batch: which one (and what fits under the quota) is found one at a time
    for (const m of b.messages) {
      if (quotaError) {
        refuse(b.folder, m.where, quotaError)
        continue
      }
      await commit({folder: b.folder, messages: [m], bytes: m.raw.length})
    }
  }

  const flush = async () => {
    const b = batch
    batch = undefined
    await committing
    if (!b) return
    committing = commit(b)
    // awaited at the next flush; a failure meanwhile must not count as unhandled
    committing.catch(() => {})
  }

  let read = 0
  for await (const item of items) {
    read++
    if (item.kind === 'refused') refuse(item.folder, item.where, item.reason)
    else if (quotaError) refuse(item.folder, item.where, quotaError)
    else {
      let f: Awaited<ReturnType<typeof folderFor>>
      try {
        f = await folderFor(item.folder)
      } catch (err) {
        if (!isMailboxError(err)) throw err
        refuse(item.folder, item.where, err.message)
        options.progress?.(counts, read)
        continue
      }
      if (await f.index.holds(item.raw)) {
        counts.duplicates++
        f.summary.duplicates++
      } else {
        const message = prepare(item)
        if (typeof message === 'string') refuse(f.summary.name, item.where, message)
        else {
          if (batch && (batch.folder !== f.summary.name || batch.messages.length >= batchMessages || batch.bytes + item.raw.length > batchBytes)) await flush()
          batch ??= {folder: f.summary.name, messages: [], bytes: 0}
          batch.messages.push(message)
          batch.bytes += item.raw.length
        }
      }
    }
    options.progress?.(counts, read)
  }
  await flush()
  await committing
  options.progress?.(counts, read)
  return {user, ...counts, refusals, folders: [...folders.values()].map((f) => f.summary), seconds: (Date.now() - started) / 1000}
}

/** the append form of a message, or why it cannot be stored */
function prepare(item: SourceMessage): (AppendMessage & {where: string}) | string {
  try {
    return {
      raw: item.raw,
      flags: normalizeFlags(item.flags.filter((f) => f.startsWith('\\') || ATOM.test(f))),
      ...(item.internalDate !== undefined ? {internalDate: item.internalDate} : {}),
      analysis: analyzeMessage(item.raw),
      where: item.where,
    }
  } catch (err) {
    return `unreadable message: ${(err as Error).message}`
  }
}
