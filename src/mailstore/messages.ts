/**
 * Message entries: one per (folder, UID), pointing at a shared blob. Call inside `store.transact`.
 */
import {mailboxMessagesRange, messageKey} from '../store/keys.js'
import type {MailboxRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {releaseBlob} from './blobs.js'

/** Deletes all message entries of a folder and drops the blob references they held. */
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
