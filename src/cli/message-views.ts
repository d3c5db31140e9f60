/**
 * Messages as the `message` commands show them: a folder's entries with the summary kept with
 * their blob (from, to, subject, …), through `store.mail` (either backend).
 */
import {MailboxError} from '../errors.js'
import type {MailStore} from '../store/backend.js'
import type {MailboxRecord, MessageRecord} from '../store/records.js'

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

async function folderOrThrow(mail: MailStore, user: string, name: string): Promise<MailboxRecord> {
  const folder = await mail.folder(user, name)
  if (!folder) throw new MailboxError('not-found', `no folder ${JSON.stringify(name)} for ${user}`)
  return folder
}

async function messageOrThrow(mail: MailStore, folder: MailboxRecord, uid: number): Promise<MessageRecord> {
  const m = await mail.message(folder.id, uid)
  if (!m) throw new MailboxError('not-found', `no message with UID ${uid} in ${folder.name}`)
  return m
}

async function view(mail: MailStore, folder: MailboxRecord, m: MessageRecord): Promise<MessageView> {
  const summary = (await mail.blobInfo(m.blobId))?.summary
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

export async function listMessages(mail: MailStore, user: string, folderName: string, limit?: number): Promise<MessageView[]> {
  const folder = await folderOrThrow(mail, user, folderName)
  const records = await mail.messages(folder.id, limit ? {limit} : {})
  return Promise.all(records.map((m) => view(mail, folder, m)))
}

export async function getMessage(mail: MailStore, user: string, folderName: string, uid: number): Promise<MessageView & {raw: Buffer}> {
  const folder = await folderOrThrow(mail, user, folderName)
  const m = await messageOrThrow(mail, folder, uid)
  const raw = await mail.blob(m.blobId)
  if (!raw) throw new Error(`message ${folder.name}/${uid} has no blob ${m.blobId}`)
  return {...(await view(mail, folder, m)), raw}
}

/** Removes one message from a folder (an expunge: counters, MODSEQ and the blob reference follow). */
export async function deleteMessage(mail: MailStore, user: string, folderName: string, uid: number): Promise<MessageView> {
  const folder = await folderOrThrow(mail, user, folderName)
  const shown = await view(mail, folder, await messageOrThrow(mail, folder, uid))
  const {expunged} = await mail.expunge({user, mailboxId: folder.id, uids: [uid], onlyDeleted: false})
  // removed by someone else between the look and the commit
  if (!expunged?.includes(uid)) throw new MailboxError('not-found', `no message with UID ${uid} in ${folder.name}`)
  return shown
}
