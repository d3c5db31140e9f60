/**
 * `store.mail` (./backend.ts) on LMDB: folders, messages, blobs and delivery over the
 * `mailboxes`, `messages`, `blobs`, `blobInfo` and `blobText` databases (see ./README.md).
 *
 * Reads are synchronous LMDB reads handed back as resolved promises (one microtask, no I/O). Each
 * write is one `store.transactAsync`: it joins the group commit of its event turn (concurrent
 * deliveries share one fsync), its fsync runs off the event loop, and it resolves once durable.
 * The server and the CLI use the same calls. The bodies are in ./lmdb-folders.ts,
 * ./lmdb-messages.ts, ./lmdb-delivery.ts and ./lmdb-blobs.ts; the name checks that need no state
 * run before the transaction, the rest inside it.
 */
import {MailboxError} from '../errors.js'
import {INBOX, isInferior, normalizeFolderName, usageOfFolders} from '../mailstore/folder-rules.js'
import type {MailStore} from './backend.js'
import {mailboxMessagesRange, messageKey} from './keys.js'
import {cacheText, recentBlobs} from './lmdb-blobs.js'
import {deliverIn} from './lmdb-delivery.js'
import {createFolderIn, deleteFolderIn, findFolder, folderById, listFolders, listSubscriptions, renameFolderIn, subscribeIn, usageByUser} from './lmdb-folders.js'
import {appendIn, copyIn, expungeIn, setFlagsIn} from './lmdb-messages.js'
import type {Store} from './store.js'

export function lmdbMail(store: Store): MailStore {
  // async: whatever refuses (a bad name before the transaction, a read-only store) rejects, never throws
  const inTxn = async <T>(fn: () => T): Promise<T> => store.transactAsync(fn)

  return {
    folders: async (user) => listFolders(store, user),
    folder: async (user, name) => findFolder(store, user, name),
    folderById: async (user, id) => folderById(store, user, id),
    usageByUser: async () => usageByUser(store),
    usage: async (user) => usageOfFolders(listFolders(store, user)),

    createFolder: async (user, input, specialUse) => {
      const name = normalizeFolderName(input)
      return inTxn(() => createFolderIn(store, user, name, specialUse))
    },
    renameFolder: async (user, fromInput, toInput) => {
      const from = normalizeFolderName(fromInput)
      const to = normalizeFolderName(toInput)
      if (from === to) throw new MailboxError('exists', `folder ${JSON.stringify(to)} already exists`)
      // INBOX may move into its own hierarchy: its inferiors are not part of an INBOX rename (RFC 3501 §6.3.5)
      if (isInferior(to, from) && from !== INBOX) throw new MailboxError('invalid', `cannot rename ${JSON.stringify(from)} into itself`)
      return inTxn(() => renameFolderIn(store, user, from, to))
    },
    deleteFolder: async (user, input) => {
      const name = normalizeFolderName(input)
      if (name === INBOX) throw new MailboxError('conflict', 'INBOX cannot be deleted')
      return inTxn(() => deleteFolderIn(store, user, name))
    },
    subscribe: async (user, input, subscribed) => {
      const name = normalizeFolderName(input)
      await inTxn(() => subscribeIn(store, user, name, subscribed))
    },
    subscriptions: async (user) => listSubscriptions(store, user),

    messages: async (folderId, options = {}) => [
      ...store.messages.getRange({...mailboxMessagesRange(folderId), ...(options.limit ? {limit: options.limit} : {})}).map(({value}) => value),
    ],
    message: async (folderId, uid) => store.messages.get(messageKey(folderId, uid)),
    // one process writes this store; views made stale by another (a CLI) see it in the folder record and reload
    changesSince: async () => ({whole: true}),

    setFlags: (req) => inTxn(() => setFlagsIn(store, req)),
    expunge: (req) => inTxn(() => expungeIn(store, req)),
    copy: (req) => inTxn(() => copyIn(store, req)),
    append: (req) => inTxn(() => appendIn(store, req)),
    deliver: (input) => {
      const local = [...new Set(input.local)]
      return inTxn(() => deliverIn(store, input, local))
    },

    blob: async (id) => store.blobs.get(id),
    blobInto: async (id, target, offset) => {
      // lmdb's shared read buffer: valid until the next read, so copied out at once
      const bytes = store.blobs.getBinaryFast(id)
      if (bytes === undefined) return undefined
      // (its `length` is the value's; the buffer itself may be longer)
      const size = bytes.length
      if (size <= target.length - offset) target.set(bytes.subarray(0, size), offset)
      return size
    },
    blobInfo: async (id) => store.blobInfo.get(id),
    recentBlobs: async (sinceMs, limit) => recentBlobs(store, sinceMs, limit),
    cachedText: async (id) => store.blobText.get(id),
    cacheText: (id, text) => cacheText(store, id, text),
  }
}
