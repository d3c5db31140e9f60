/**
 * In-memory views of folders: every message entry of a folder in UID order, so IMAP can SELECT a
 * folder of 100,000 messages, answer `FETCH 1:* (UID FLAGS)` and `SEARCH UNSEEN`, and diff a
 * session's sequence map against the folder, without reading the store each time.
 *
 * The store stays the truth. A view is used only while it matches the folder record (same
 * UIDVALIDITY, HIGHESTMODSEQ and message count), so a change made by another process (a CLI
 * command on the same data dir) makes it reload; changes made through the mailstore actor are
 * replayed into it after their commit (`apply`), so a live server never reloads a big folder
 * for one new message or one flag change.
 *
 * A view also keeps the folder's keywords (what IMAP's FLAGS response lists), grown as changes
 * are replayed rather than found again by a scan of every message per STORE. Like Dovecot, a
 * keyword stays listed after the last message carrying it lost it, until the view is reloaded.
 */
import type {FolderChange, MailStore} from '../store/backend.js'
import type {MailboxRecord, MessageRecord} from '../store/records.js'

export interface MailboxView {
  /** the folder record the view matches */
  folder: MailboxRecord
  /** ascending by UID; callers must not modify it */
  records: MessageRecord[]
  /**
   * every keyword a message of the view carries (and ones messages carried since the view was
   * loaded); a view's set is never changed: a view that adds one gets a new set, so comparing
   * sets by identity tells whether anything may be new
   */
  keywords: ReadonlySet<string>
  /** computed on first use (see `summaryOf`); a view is replaced, never changed, so this stays right */
  summary?: ViewSummary
}

/** What every SELECT of a folder needs, shared by all the sessions that select the same view. */
export interface ViewSummary {
  /** the UIDs in order; shared: callers must not modify it */
  uids: readonly number[]
  /** sequence number of the first message without \Seen, 0 if none */
  firstUnseen: number
}

export function summaryOf(view: MailboxView): ViewSummary {
  if (view.summary) return view.summary
  const {records} = view
  const uids = new Array<number>(records.length)
  let firstUnseen = 0
  for (let i = 0; i < records.length; i++) {
    const {uid, flags} = records[i]!
    uids[i] = uid
    if (!firstUnseen && !flags.includes('\\Seen')) firstUnseen = i + 1
  }
  return (view.summary = {uids, firstUnseen})
}

const NO_KEYWORDS: ReadonlySet<string> = new Set()

/**
 * `known` plus the keywords `records` carry: `known` itself when they bring none (the common
 * case: a flag change or a delivery without keywords costs no copy), else a new set.
 */
export function withKeywords(known: ReadonlySet<string>, records: readonly MessageRecord[] | undefined): ReadonlySet<string> {
  let grown: Set<string> | undefined
  for (const {flags} of records ?? []) {
    for (const f of flags) {
      if (f[0] === '\\' || known.has(f) || grown?.has(f)) continue
      grown ??= new Set(known)
      grown.add(f)
    }
  }
  return grown ?? known
}

/** a view of a folder as loaded from the store: its keywords are the ones its messages carry */
export function viewOf(folder: MailboxRecord, records: MessageRecord[]): MailboxView {
  return {folder, records, keywords: withKeywords(NO_KEYWORDS, records)}
}

/**
 * total message entries kept in memory before the least recently used views are dropped: an
 * entry costs about 200 bytes of heap, so this is ~100 MB (a bigger folder is still served: its
 * view just pushes the others out)
 */
const DEFAULT_MAX_ENTRIES = 500_000

const fresh = (view: MailboxView, folder: MailboxRecord) =>
  view.folder.uidValidity === folder.uidValidity &&
  view.folder.highestModseq === folder.highestModseq &&
  view.records.length === folder.messages &&
  !folder.noselect

/** index of `uid` in ascending `records`, or -1 */
export function indexOfUid(records: MessageRecord[], uid: number): number {
  let lo = 0
  let hi = records.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const v = records[mid]!.uid
    if (v === uid) return mid
    if (v < uid) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

export class MailboxViews {
  /** by folder id, least recently used first */
  private readonly views = new Map<number, MailboxView>()
  private entries = 0

  constructor(
    private readonly mail: MailStore,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {}

  /**
   * The view of `folder` as just read from the store. A fresh cached view costs no store call;
   * otherwise the folder's entries are loaded (LMDB reads them in the same event turn as the
   * record the caller read, so the two agree).
   */
  async get(folder: MailboxRecord): Promise<MailboxView> {
    const cached = this.views.get(folder.id)
    if (cached) {
      this.drop(folder.id)
      if (fresh(cached, folder)) {
        // a rename or a subscription changes the record but not the messages: keep the view (and its summary)
        cached.folder = folder
        return this.keep(cached)
      }
      // changed elsewhere (another node): what changed since the view's MODSEQ, when the store can tell
      const caught = cached.folder.uidValidity === folder.uidValidity && cached.folder.highestModseq < folder.highestModseq && (await this.catchUp(cached))
      if (caught) return this.keep(caught)
    }
    return this.keep(viewOf(folder, await this.mail.messages(folder.id)))
  }

  /**
   * The view brought up to the folder's current state from the changes since its MODSEQ (one
   * query on PostgreSQL instead of reading the whole folder), or undefined when the store cannot
   * tell (LMDB answers `whole`) or the result does not add up to the folder's count.
   */
  private async catchUp(view: MailboxView): Promise<MailboxView | undefined> {
    const delta = await this.mail.changesSince(view.folder.id, view.folder.highestModseq)
    if (delta.whole || delta.folder.uidValidity !== view.folder.uidValidity) return undefined
    const gone = new Set(delta.vanished)
    const records = gone.size ? view.records.filter((r) => !gone.has(r.uid)) : view.records.slice()
    const added: MessageRecord[] = []
    for (const r of delta.changed) {
      if (gone.has(r.uid)) continue
      const i = indexOfUid(records, r.uid)
      if (i >= 0) records[i] = r
      else added.push(r)
    }
    // new messages have UIDs above every one the view held (UIDs only grow)
    const next = added.length ? records.concat(added.sort((a, b) => a.uid - b.uid)) : records
    if (next.length !== delta.folder.messages) return undefined
    return {folder: delta.folder, records: next, keywords: withKeywords(view.keywords, delta.changed)}
  }

  /** the folders with a view in memory (as their views hold them): those sessions have selected, mostly */
  cachedFolders(): MailboxRecord[] {
    return [...this.views.values()].map((v) => v.folder)
  }

  /** the HIGHESTMODSEQ of the cached view of a folder, if there is one */
  cachedModseq(folderId: number): number | undefined {
    return this.views.get(folderId)?.folder.highestModseq
  }

  /** Replays a committed change into the cached view, or drops the view if it is not the state the change started from. */
  apply(change: FolderChange): void {
    const view = this.views.get(change.folder.id)
    if (!view) return
    if (view.folder.highestModseq !== change.modseqBefore || view.folder.uidValidity !== change.folder.uidValidity) {
      this.drop(change.folder.id)
      return
    }
    let records = view.records
    if (change.expunged?.length) {
      const gone = new Set(change.expunged)
      records = records.filter((r) => !gone.has(r.uid))
    }
    if (change.updated?.length) {
      if (records === view.records) records = records.slice()
      for (const r of change.updated) {
        const i = indexOfUid(records, r.uid)
        if (i >= 0) records[i] = r
      }
    }
    if (change.appended?.length) records = records.concat(change.appended)
    const keywords = withKeywords(withKeywords(view.keywords, change.updated), change.appended)
    this.drop(change.folder.id)
    // a new array on every change: a session diffing against the previous view keeps a consistent one
    this.keep({folder: change.folder, records, keywords})
  }

  forget(folderId: number): void {
    this.drop(folderId)
  }

  private keep(view: MailboxView): MailboxView {
    // another load of the same folder may have finished while this one awaited the store
    this.drop(view.folder.id)
    this.views.set(view.folder.id, view)
    this.entries += view.records.length
    for (const [id, old] of this.views) {
      if (this.entries <= this.maxEntries || old === view) break
      this.drop(id)
    }
    return view
  }

  private drop(id: number): void {
    const view = this.views.get(id)
    if (!view) return
    this.entries -= view.records.length
    this.views.delete(id)
  }
}
