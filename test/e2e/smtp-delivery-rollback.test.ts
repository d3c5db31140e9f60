/**
 * A delivery that is refused stores nothing (docs/store-interface.md: a write that rejects wrote
 * nothing). Here bob's INBOX record is missing (a damaged store, or a removal racing DATA): the
 * delivery to alice and bob fails at bob, after alice's copy and the shared blob were written in
 * the same transaction. The client is told the message was not taken, so none of it may stay:
 * a retry would otherwise give alice a second copy, and the blob would count a reference that
 * no message holds. (LMDB's async transactions kept a throwing callback's writes; the store now
 * runs each in a child transaction that the throw aborts.)
 */
import {afterAll, beforeAll, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {mailboxKey} from '../../src/store/keys.js'
import {withStore as withWritableStore} from './fixtures.js'
import {RawSmtp, freePorts, setupUsers, withStore} from './smtp-helpers.js'

let dataDir: string
let served: Served
let mx: number

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[mx] = await freePorts(1)
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}, {address: 'bob@example.com'}])
  // bob keeps his user record but loses his INBOX, with no server running
  await withWritableStore(dataDir, (store) => store.transact(() => store.mailboxes.removeSync(mailboxKey('bob@example.com', 'INBOX'))))
  served = await startServe(dataDir, ['--smtp-port', String(mx)])
})

afterAll(async () => {
  await served?.stop()
})

it('a delivery refused at its second recipient leaves no copy with the first and no blob', async () => {
  const c = await RawSmtp.open(mx)
  await c.ehlo()
  expect((await c.cmd('MAIL FROM:<sender@remote.test>')).code).toBe(250)
  for (const r of ['alice@example.com', 'bob@example.com']) expect((await c.cmd(`RCPT TO:<${r}>`)).code, r).toBe(250)
  const [, done] = await c.data('From: sender@remote.test\r\nTo: alice@example.com, bob@example.com\r\nSubject: half\r\n\r\nhello\r\n')
  expect(done?.code, done?.raw).not.toBe(250)
  await c.quit()
  const stored = await withStore(dataDir, (store) => ({
    alice: store.mailboxes.get(mailboxKey('alice@example.com', 'INBOX'))!,
    blobs: store.blobInfo.getKeysCount(),
    messages: store.messages.getKeysCount(),
  }))
  expect(stored.alice).toMatchObject({messages: 0, size: 0, uidNext: 1})
  expect(stored.messages).toBe(0)
  expect(stored.blobs).toBe(0)
})
