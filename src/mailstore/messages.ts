/**
 * Message entries: one per (folder, UID), pointing at a shared blob.
 */
import {MailboxError} from '../errors.js'
import {mailboxKey, mailboxMessagesRange, messageKey} from '../store/keys.js'
import type {MailboxRecord, MessageRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {releaseBlob} from './blobs.js'
import {normalizeFolderName} from './folder-rules.js'

/** Deletes all message entries of a folder and drops the blob references they held; inside `store.transact`. */
export function removeMailboxMessages(store: Store, folder: MailboxRecord): number {
  const refs = new Map<string, number>()
  const uids: number[] = []
  for (const {value} of store.messages.getRange(mailboxMessagesRange(folder.id))) {
    uids.push(value.uid)
    refs.set(value.blobId, (refs.get(value.blobId) ?? 0) + 1)
  }
  for (const uid of uids) store.messages.removeSync(messageKey(folder.id, uid))
  for (const [blobId, n] of refs) releaseBlob(store, blobId, n)
  return uids.length
}

export interface MessageView {
  uid: number
  folder: string
  from: string
  to: string[]
  subject: string
  date?: number
  messageId?: string
  internalDate: number
  size: number
  flags: string[]
}

function folderOrThrow(store: Store, user: string, name: string): MailboxRecord {
  const folder = store.mailboxes.get(mailboxKey(user, normalizeFolderName(name)))
  if (!folder) throw new MailboxError('not-found', `no folder ${JSON.stringify(name)} for ${user}`)
  return folder
}

function view(store: Store, folder: MailboxRecord, m: MessageRecord): MessageView {
  const summary = store.blobInfo.get(m.blobId)?.summary
  return {
    uid: m.uid,
    folder: folder.name,
    from: summary?.from ?? '',
    to: summary?.to ?? [],
    subject: summary?.subject ?? '',
    ...(summary?.date ? {date: summary.date} : {}),
    ...(summary?.messageId ? {messageId: summary.messageId} : {}),
    internalDate: m.internalDate,
    size: m.size,
    flags: m.flags,
  }
}

export function listMessages(store: Store, user: string, folderName: string, limit?: number): MessageView[] {
  const folder = folderOrThrow(store, user, folderName)
  return [...store.messages.getRange({...mailboxMessagesRange(folder.id), ...(limit ? {limit} : {})}).map(({value}) => view(store, folder, value))]
}

export function getMessage(store: Store, user: string, folderName: string, uid: number): MessageView & {raw: Buffer} {
  const folder = folderOrThrow(store, user, folderName)
  const m = store.messages.get(messageKey(folder.id, uid))
  if (!m) throw new MailboxError('not-found', `no message with UID ${uid} in ${folder.name}`)
  const raw = store.blobs.get(m.blobId)
  if (!raw) throw new Error(`message ${folder.name}/${uid} has no blob ${m.blobId}`)
  return {...view(store, folder, m), raw}
}

/** Removes one message from a folder (an expunge): counters, MODSEQ and the blob reference follow. */
export function deleteMessage(store: Store, user: string, folderName: string, uid: number): MessageView {
  return store.transact(() => {
    const folder = folderOrThrow(store, user, folderName)
    const m = store.messages.get(messageKey(folder.id, uid))
    if (!m) throw new MailboxError('not-found', `no message with UID ${uid} in ${folder.name}`)
    const shown = view(store, folder, m)
    store.messages.removeSync(messageKey(folder.id, uid))
    store.mailboxes.putSync(mailboxKey(user, folder.name), {
      ...folder,
      messages: folder.messages - 1,
      unseen: folder.unseen - (m.flags.includes('\\Seen') ? 0 : 1),
      size: folder.size - m.size,
      highestModseq: folder.highestModseq + 1,
    })
    releaseBlob(store, m.blobId)
    return shown
  })
}
