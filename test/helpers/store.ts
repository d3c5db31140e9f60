/** Unit-test helper: a real LMDB store in a temp dir (never a mock), closed and removed after the file. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {open} from 'lmdb'
import {openStore, type Store} from '../../src/store/store.js'
import {atFileEnd} from './file-end.js'

const opened: {store: Store; dir: string}[] = []
atFileEnd(async () => {
  for (const {store, dir} of opened.splice(0)) {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  }
})

export function tempStore(): Store {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-store-'))
  const store = openStore(join(dir, 'data'))
  opened.push({store, dir})
  return store
}

/**
 * For a backend contract test (test/helpers/*-contract.ts): a store in a temp dir of its own,
 * a second handle on it (as another process would open it), and `close()` removing it.
 */
export function contractTempStore() {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-contract-'))
  const dataDir = join(dir, 'data')
  const store = openStore(dataDir)
  return {
    backend: store,
    reopen: async () => openStore(dataDir, {create: false}),
    close: async () => {
      await store.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/**
 * A store as a version before some databases existed wrote it: made, then `names` dropped; opened
 * read-only (lmdb-js gives undefined for them), handed to `fn`, then closed and removed.
 */
export async function withStoreWithout(names: string[], fn: (readOnly: Store) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-older-'))
  try {
    const dataDir = join(dir, 'data')
    await openStore(dataDir).close()
    const env = open({path: join(dataDir, 'mailbox.lmdb'), maxDbs: 32})
    await env.transaction(() => {
      for (const name of names) env.openDB({name}).drop()
    })
    await env.close()
    const readOnly = openStore(dataDir, {readOnly: true, migrate: false})
    try {
      await fn(readOnly)
    } finally {
      await readOnly.close()
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
