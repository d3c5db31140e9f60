/**
 * Accepting a message on PostgreSQL (`store.mail.deliver`), as the LMDB store does it
 * (src/mailstore/deliver.ts): the bytes stored once as a blob with one reference per local copy,
 * a message in each user's INBOX (or Junk), the remote recipients' queue entries on a blob of
 * their own (one reference per entry), all in one transaction, so when it resolves every copy
 * exists and the folders are signalled; when it rejects, none does.
 *
 * Capture mode's users are directory writes (./directory.ts `writeIn`: the version lock, the row's
 * version, the directory signal), taken only when a recipient has no user yet and before any
 * folder lock. The folders are appended to in id order, so two deliveries to the same users from
 * two nodes lock them in the same order and do not deadlock. A Sieve script's further messages
 * (`also`: redirects to local users) append after the first part's folders; two such deliveries
 * that lock the same folders the other way round deadlock, and the transaction is run again
 * (./connect.ts retries a deadlock: nothing was written).
 */
import type pg from 'pg'
import {domainOf} from '../../address.js'
import {MailboxError} from '../../errors.js'
import {newId} from '../../ids.js'
import type {Analysis} from '../../mailstore/analyze.js'
import {INBOX} from '../../mailstore/folder-rules.js'
import type {DeliveryInput, DeliveryResult, FolderChange, Placement} from '../backend.js'
import {mergeFlags, placementName} from '../placements.js'
import type {MailboxRecord} from '../records.js'
import {appendMessages} from './append.js'
import {putBlob} from './blobs.js'
import type {ChangeSignals} from './changes.js'
import type {PgDirectoryBackend} from './directory.js'
import {enqueueEntries} from './enqueue.js'
import {createFolderIn, junkFolder, lockTree} from './folder-tree.js'
import {createFolder, FOLDER_COLUMNS, folderFromRow} from './folders.js'

/** Stores new message bytes with their analysis and `refs` references; returns the new blob's id. */
export async function storeBlob(client: pg.ClientBase, raw: Buffer, input: {analysis: Analysis; mailFrom?: string; rcptTo?: string[]}, refs: number): Promise<string> {
  const id = newId()
  const {analysis} = input
  await putBlob(client, id, raw, {
    refs,
    size: raw.length,
    createdAt: Date.now(),
    ...(input.mailFrom !== undefined ? {mailFrom: input.mailFrom} : {}),
    ...(input.rcptTo !== undefined ? {rcptTo: input.rcptTo} : {}),
    envelope: analysis.envelope,
    structure: analysis.structure,
    summary: analysis.summary,
    crlfSize: analysis.crlfSize,
  })
  return id
}

/** capture mode: users for the recipients that have none, each with an INBOX (under the directory lock) */
async function ensureCaptureUsers(client: pg.ClientBase, signals: ChangeSignals, directory: PgDirectoryBackend, users: string[]): Promise<void> {
  const {rows} = await client.query<{address: string}>('SELECT address FROM users WHERE address = ANY ($1::text[])', [users])
  const known = new Set(rows.map((r) => r.address))
  if (users.every((u) => known.has(u))) return
  await directory.writeIn(client, signals, async (w) => {
    for (const user of users) if (await w.newCaptureUser(user)) await createFolder(client, user, INBOX, {subscribed: true})
  })
}

/**
 * The folders of one user's copies with their flags: the placements (a Sieve script's outcome),
 * else INBOX (or Junk), as on LMDB (../lmdb-delivery.ts). Two placements that end in one folder
 * make one copy with both flag sets.
 */
async function targetsOf(client: pg.ClientBase, input: DeliveryInput, user: string): Promise<{folder: MailboxRecord; flags: string[]}[]> {
  const placements = input.junk ? undefined : input.placements?.[user]
  if (!placements) return [{folder: input.junk ? await junkFolder(client, user) : await inboxOf(client, user), flags: []}]
  const byId = new Map<number, {folder: MailboxRecord; flags: string[]}>()
  for (const p of placements) {
    const folder = await placedFolder(client, user, p)
    const seen = byId.get(folder.id)
    byId.set(folder.id, {folder, flags: seen ? mergeFlags(seen.flags, p.flags) : p.flags})
  }
  return [...byId.values()]
}

async function inboxOf(client: pg.ClientBase, user: string): Promise<MailboxRecord> {
  const folder = await selectable(client, user, INBOX)
  if (!folder) throw new MailboxError('not-found', `no INBOX for ${user}`)
  return folder
}

async function selectable(client: pg.ClientBase, user: string, name: string): Promise<MailboxRecord | undefined> {
  const {rows} = await client.query(`SELECT ${FOLDER_COLUMNS} FROM folders WHERE user_address = $1 AND name = $2 AND NOT noselect`, [user, name])
  return rows[0] ? folderFromRow(rows[0]) : undefined
}

/** the folder a placement names, made (under the tree lock) when it says `create`, else INBOX when there is no such folder */
async function placedFolder(client: pg.ClientBase, user: string, p: Placement): Promise<MailboxRecord> {
  const name = placementName(p.folder)
  if (name === undefined) return inboxOf(client, user)
  const found = await selectable(client, user, name)
  if (found) return found
  if (!p.create) return inboxOf(client, user)
  await lockTree(client, user)
  // made meanwhile by another transaction (the lock waited for it)
  return (await selectable(client, user, name)) ?? createFolderIn(client, user, name)
}

export async function deliverIn(client: pg.ClientBase, signals: ChangeSignals, directory: PgDirectoryBackend, input: DeliveryInput): Promise<DeliveryResult> {
  const local = [...new Set(input.local)]
  const changes: FolderChange[] = []
  let id = ''
  if (local.length) {
    if (input.createUsers) await ensureCaptureUsers(client, signals, directory, local)
    const targets: {folder: MailboxRecord; flags: string[]}[] = []
    for (const user of local) targets.push(...(await targetsOf(client, input, user)))
    if (targets.length) {
      id = await storeBlob(client, input.localRaw, input, targets.length)
      const byId = new Map<number, FolderChange>()
      for (const {folder, flags} of [...targets].sort((a, b) => a.folder.id - b.folder.id)) {
        byId.set(folder.id, await appendMessages(client, folder.id, [{blobId: id, flags, internalDate: Date.now(), size: input.localRaw.length}]))
        signals.folder(folder.id)
      }
      for (const {folder} of targets) changes.push(byId.get(folder.id)!)
    }
  }
  let queued: DeliveryResult['queued'] = []
  if (input.remote.length) {
    const raw = input.remoteRaw ?? input.localRaw
    const domains = new Set(input.remote.map(domainOf)).size
    const blobId = await storeBlob(client, raw, {...input, analysis: input.remoteAnalysis ?? input.analysis}, domains)
    id ||= blobId
    queued = await enqueueEntries(client, {from: input.mailFrom, recipients: input.remote, blobId}, signals)
  }
  const stored = changes.map((c) => ({user: c.folder.user, folder: c.folder.name, uid: c.appended![0]!.uid, uidValidity: c.folder.uidValidity}))
  const result: DeliveryResult = {id: id || newId(), stored, queued, changes}
  for (const more of input.also ?? []) {
    const other = await deliverIn(client, signals, directory, more)
    result.stored.push(...other.stored)
    result.queued.push(...other.queued)
    result.changes.push(...other.changes)
  }
  return result
}
