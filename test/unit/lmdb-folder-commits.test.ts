/**
 * folderById on LMDB hands out its last decoded record without a read while no commit was made
 * to the file (src/store/lmdb-commits.ts): these tests fail when it reads anyway (the check gone,
 * or lmdb-js's `env.info()` changed underneath) and when it misses a commit, by this process, by
 * another process on the same file, or inside a write transaction.
 */
import {spawnSync} from 'node:child_process'
import {dirname, join} from 'node:path'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {createDefaultFolders, folderById, getFolder, putFolder} from '../../src/store/lmdb-folders.js'
import {lastCommit} from '../../src/store/lmdb-commits.js'
import {INBOX} from '../../src/mailstore/folder-rules.js'
import {tempStore} from '../helpers/store.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const store = tempStore()
let seq = 0

function newUser(): {user: string; id: number} {
  const user = `commits${++seq}@example.com`
  store.transact(() => createDefaultFolders(store, user))
  return {user, id: getFolder(store, user, INBOX).id}
}

/** counts the key reads of folder records made while `run` runs (an own property of this handle: nothing shared is patched) */
function keyReads(run: () => void): number {
  const db = store.mailboxes
  const original = db.getBinaryFast
  let reads = 0
  db.getBinaryFast = function (this: typeof db, ...args: Parameters<typeof original>) {
    reads++
    return original.apply(this, args)
  } as typeof original
  try {
    run()
  } finally {
    delete (db as unknown as Record<string, unknown>).getBinaryFast
  }
  return reads
}

describe('folderById between commits (LMDB)', () => {
  it('reads a folder once, then hands it out without a read until a commit', async () => {
    const {user, id} = newUser()
    folderById(store, user, id)
    await nextTurn()
    const first = folderById(store, user, id)
    expect(keyReads(() => expect(folderById(store, user, id)).toBe(first))).toBe(0)
    await nextTurn()
    expect(keyReads(() => expect(folderById(store, user, id)).toBe(first))).toBe(0)
    // a commit anywhere in the file (here another user's folder) costs one read, and the same record when its bytes are unchanged
    newUser()
    expect(keyReads(() => expect(folderById(store, user, id)).toBe(first))).toBe(1)
    expect(keyReads(() => folderById(store, user, id))).toBe(0)
  })

  it("sees this process's commit to the folder at once", async () => {
    const {user, id} = newUser()
    const before = folderById(store, user, id)
    await store.transactAsync(() => putFolder(store, {...before, messages: 7}))
    expect(folderById(store, user, id)).toMatchObject({messages: 7})
    store.transact(() => putFolder(store, {...before, messages: 8}))
    expect(folderById(store, user, id)).toMatchObject({messages: 8})
  })

  it('inside a write transaction, reads what it wrote, and the commit number does not apply', () => {
    const {user, id} = newUser()
    const before = folderById(store, user, id)
    store.transact(() => {
      expect(lastCommit(store)).toBeUndefined()
      putFolder(store, {...before, messages: 3})
      expect(folderById(store, user, id)).toMatchObject({messages: 3})
      putFolder(store, {...before, messages: 4})
      expect(folderById(store, user, id)).toMatchObject({messages: 4})
    })
    expect(folderById(store, user, id)).toMatchObject({messages: 4})
  })

  it("sees another process's commit at once, even in the turn that already read", () => {
    const {user, id} = newUser()
    folderById(store, user, id)
    const before = folderById(store, user, id)
    // the same turn: this process's read snapshot is older than the other process's commit
    expect(folderById(store, user, id)).toBe(before)
    const script = `
      import {openStore} from './src/store/store.ts'
      import {getFolder, putFolder} from './src/store/lmdb-folders.ts'
      const store = openStore(${JSON.stringify(dirname(store.path))}, {create: false})
      const f = getFolder(store, ${JSON.stringify(user)}, 'INBOX')
      store.transact(() => putFolder(store, {...f, messages: 42}))
      await store.close()
    `
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: ROOT, encoding: 'utf8'})
    expect(child.stderr).toBe('')
    expect(child.status).toBe(0)
    expect(folderById(store, user, id)).toMatchObject({messages: 42})
    expect(keyReads(() => expect(folderById(store, user, id)).toMatchObject({messages: 42}))).toBe(0)
  })
})
