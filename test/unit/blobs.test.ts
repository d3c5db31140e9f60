import {describe, expect, it} from 'vitest'
import {addBlobRef, releaseBlob} from '../../src/store/lmdb-blobs.js'
import {createDefaultFolders, getFolder, removeFolderMessages} from '../../src/store/lmdb-folders.js'
import {tempStore} from '../helpers/store.js'

const store = tempStore()

function putBlob(id: string, refs: number, text = 'raw message'): void {
  store.transact(() => {
    store.blobs.putSync(id, Buffer.from(text))
    store.blobInfo.putSync(id, {refs, size: Buffer.byteLength(text), createdAt: 1})
  })
}

describe('blob reference counting', () => {
  it('addBlobRef adds n references', () => {
    putBlob('b1', 1)
    store.transact(() => addBlobRef(store, 'b1'))
    expect(store.blobInfo.get('b1')).toEqual({refs: 2, size: 11, createdAt: 1})
    store.transact(() => addBlobRef(store, 'b1', 3))
    expect(store.blobInfo.get('b1')?.refs).toBe(5)
  })

  it('addBlobRef on a blob without an info record throws and changes nothing', () => {
    expect(() => store.transact(() => addBlobRef(store, 'missing'))).toThrowError(/blob missing has no info record/)
    expect(store.blobInfo.get('missing')).toBeUndefined()
  })

  it('releaseBlob drops references and deletes the bytes with the last one', () => {
    putBlob('b2', 3)
    store.transact(() => releaseBlob(store, 'b2'))
    expect(store.blobInfo.get('b2')?.refs).toBe(2)
    expect(store.blobs.get('b2')?.toString()).toBe('raw message')
    store.transact(() => releaseBlob(store, 'b2', 2))
    expect(store.blobInfo.get('b2')).toBeUndefined()
    expect(store.blobs.get('b2')).toBeUndefined()
  })

  it('releasing more references than held deletes the blob; releasing an unknown blob is a no-op', () => {
    putBlob('b3', 1)
    store.transact(() => releaseBlob(store, 'b3', 5))
    expect(store.blobs.get('b3')).toBeUndefined()
    expect(() => store.transact(() => releaseBlob(store, 'never-stored'))).not.toThrow()
  })
})

describe('removeFolderMessages', () => {
  it('removes every entry of the folder, releases each blob once per entry, and leaves other folders alone', () => {
    const user = 'm@example.com'
    store.transact(() => createDefaultFolders(store, user))
    const inbox = getFolder(store, user, 'INBOX')
    const sent = getFolder(store, user, 'Sent')
    putBlob('shared', 3)
    putBlob('solo', 1)
    store.transact(() => {
      store.messages.putSync([inbox.id, 1], {uid: 1, blobId: 'shared', flags: [], internalDate: 0, size: 11, modseq: 1})
      store.messages.putSync([inbox.id, 2], {uid: 2, blobId: 'shared', flags: ['\\Seen'], internalDate: 0, size: 11, modseq: 1})
      store.messages.putSync([inbox.id, 7], {uid: 7, blobId: 'solo', flags: [], internalDate: 0, size: 11, modseq: 1})
      store.messages.putSync([sent.id, 1], {uid: 1, blobId: 'shared', flags: [], internalDate: 0, size: 11, modseq: 1})
    })
    expect(store.transact(() => removeFolderMessages(store, inbox))).toBe(3)
    expect(store.messages.get([inbox.id, 1])).toBeUndefined()
    expect(store.messages.get([inbox.id, 7])).toBeUndefined()
    expect(store.messages.get([sent.id, 1])?.blobId).toBe('shared')
    expect(store.blobInfo.get('shared')?.refs).toBe(1)
    expect(store.blobs.get('solo')).toBeUndefined()
    expect(store.transact(() => removeFolderMessages(store, inbox))).toBe(0)
  })
})
