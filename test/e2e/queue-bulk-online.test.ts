/**
 * The bulk queue verbs through a running server on a queue of thousands: `queue flush` and
 * `queue retry --all` reply with every entry they changed, which for 6,000 entries is a reply
 * of about 2.7 MB on the control socket (it used to end in "control: reply line too long"
 * beyond about 2,300 entries, and `mailbox queue flush` failed on exactly the queue it is for).
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {enqueueInTxn} from '../../src/store/lmdb-enqueue.js'
import {updateEntry} from '../../src/store/lmdb-queue.js'
import {openStore} from '../../src/store/store.js'
import {runCli, startServe, type Served} from '../helpers/cli.js'
import {freePort} from '../helpers/ports.js'

const ENTRIES = 6000
let dataDir: string
let served: Served

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mbx-bulk-'))
  const store = openStore(dataDir)
  try {
    const later = Date.now() + 3600_000
    store.transact(() => {
      const raw = Buffer.from('From: <a@example.com>\r\nSubject: bulk\r\n\r\nbody\r\n')
      for (let i = 0; i < ENTRIES; i++) {
        const blobId = `bulk-${i}`
        store.blobs.putSync(blobId, raw)
        store.blobInfo.putSync(blobId, {refs: 1, size: raw.length, createdAt: Date.now()})
        const [entry] = enqueueInTxn(store, {from: 'a@example.com', recipients: [`r${i}@bulk.test`], blobId})
        updateEntry(store, entry!, {state: 'deferred', attempts: 1, nextAttemptAt: later})
      }
    })
  } finally {
    await store.close()
  }
  // nobody listens on the route: flushed entries are tried, refused at once and deferred again
  served = await startServe(dataDir, ['--route', `bulk.test=127.0.0.1:${await freePort()}`])
}, 60_000)

afterAll(async () => {
  await served?.stop()
  rmSync(dataDir, {recursive: true, force: true})
})

describe('bulk queue verbs with the server running', () => {
  it(`queue flush of ${ENTRIES} deferred entries answers with all of them`, async () => {
    const flushed = await runCli(['queue', 'flush', '--json'], {dataDir})
    expect(flushed.stderr).toBe('')
    expect(flushed.code).toBe(0)
    expect((JSON.parse(flushed.stdout) as unknown[]).length).toBe(ENTRIES)
  }, 60_000)

  it('queue retry --all answers too, however many it makes due', async () => {
    const retried = await runCli(['queue', 'retry', '--all'], {dataDir})
    expect(retried.stderr).toBe('')
    expect(retried.code).toBe(0)
    expect(retried.stdout).toMatch(/^\d{3,} entries due now\n$/)
  }, 60_000)
})
