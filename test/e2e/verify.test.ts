/**
 * `mailbox verify` end to end, on the run's backend (LMDB; PostgreSQL in the `postgres` project):
 * a real `serve` gets mail by SMTP (nodemailer), flags, a COPY, a MOVE and an expunge by IMAP
 * (imapflow) and a remote message it cannot deliver yet (deferred, with its log); `verify` finds
 * that store clean while it is served, and a backup of it (`mailbox backup`, `restore`) too. Then, stopped, the store is damaged on purpose in several
 * ways (test/helpers/verify-damage.ts): `verify` names each breach (exit 1), `--repair` mends the
 * derivable ones and says so, a second `verify` finds only what cannot be derived, and `serve`
 * serves the repaired folders. Last (LMDB), a store of 200,000 messages is verified and repaired
 * while `serve` runs on it and SMTP keeps acknowledging mail into the very folder being repaired.
 */
import {spawn} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openStore} from '../../src/store/store.js'
import type {Breach} from '../../src/store/verify.js'
import {onPostgres, storeEnv} from '../helpers/backend.js'
import {mailboxCommand, runCli, tempDataDir, type Served} from '../helpers/cli.js'
import {seedMessages} from '../helpers/seed.js'
import {withTestStore} from '../helpers/test-store.js'
import {damageOf, lmdbDamage} from '../helpers/verify-damage.js'
import {addUsers, deliver, simpleMessage} from './imap-helpers.js'
import {Receiver, send, waitForEntry} from './queue-helpers.js'
import {imapLogin, type Ports, serveWithRelay} from './relay-serve.js'

const ALICE = {address: 'alice@example.test', password: 'alice-pw'}
const BOB = {address: 'bob@example.test', password: 'bob-pw'}


const verify = async (dataDir: string, ...more: string[]) => {
  const r = await runCli(['verify', '--json', ...more], {dataDir})
  return {...r, report: JSON.parse(r.stdout) as {breaches: Breach[]; repairs?: {text: string; outcome: {done: boolean}}[]; checked: Record<string, number>}}
}
const kinds = (breaches: Breach[]) => [...new Set(breaches.map((b) => b.kind))].sort()

describe('mailbox verify', () => {
  let receiver: Receiver
  let dataDir: string
  let running: {served: Served; ports: Ports} | undefined

  beforeAll(async () => {
    receiver = await Receiver.start()
    receiver.rcpt = () => ({code: 451, message: '4.3.0 not now'})
    dataDir = tempDataDir()
    await addUsers(dataDir, ['example.test'], [ALICE, BOB])
    running = await serveWithRelay(dataDir, receiver.port)
    const {ports} = running
    await deliver(ports.smtp, [ALICE.address, BOB.address], simpleMessage({subject: 'to both', to: `${ALICE.address}, ${BOB.address}`}))
    for (const subject of ['second', 'third', 'fourth']) await deliver(ports.smtp, ALICE.address, simpleMessage({subject}))
    const client = await imapLogin(ports, ALICE)
    try {
      await client.mailboxCreate('Archive/2026')
      const lock = await client.getMailboxLock('INBOX')
      try {
        await client.messageFlagsAdd('1', ['\\Seen', '$Important'], {uid: true})
        await client.messageCopy('1:2', 'Archive/2026', {uid: true})
        await client.messageMove('3', 'Trash', {uid: true})
        await client.messageFlagsAdd('4', ['\\Deleted'], {uid: true})
        await client.messageDelete('4', {uid: true})
      } finally {
        lock.release()
      }
    } finally {
      await client.logout()
    }
    const sent = await send(dataDir, ALICE.address, ['carol@example.net'], simpleMessage({subject: 'to the far side', to: 'carol@example.net'}))
    await waitForEntry(dataDir, sent.queued[0]!, ['deferred'])
  }, 120_000)

  afterAll(async () => {
    await running?.served.stop()
    await receiver?.close()
  })

  it('finds the store of real traffic clean while serve runs on it, and its backup restored clean too', async () => {
    const r = await verify(dataDir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.report.breaches).toEqual([])
    expect(r.report.checked).toMatchObject({user: 2, message: 6, queueEntry: 1, deliveryAttempt: 1})
    const human = await runCli(['verify'], {dataDir})
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/: clean \(\d+ records checked\)$/m)

    // a backup taken while serve runs (issue 18) restores into a store that verifies clean
    const file = `${tempDataDir()}.backup`
    const backup = await runCli(['backup', file], {dataDir})
    expect(backup.code, backup.stderr).toBe(0)
    const restoredDir = tempDataDir()
    const restored = await runCli(['restore', file], {dataDir: restoredDir})
    expect(restored.code, restored.stderr).toBe(0)
    const fromBackup = await verify(restoredDir)
    expect(fromBackup.code, fromBackup.stderr).toBe(0)
    expect(fromBackup.report.checked).toMatchObject({message: 6, queueEntry: 1})
  })

  it('names each breach of a damaged store with its keys; --repair mends the derivable ones; the rest stays reported', async () => {
    await running!.served.stop()
    running = undefined
    let blobs: {archived: string; lost: string}
    await withTestStore(dataDir, async (store) => {
      const damage = damageOf(store)
      const inbox = (await store.mail.folder(ALICE.address, 'INBOX'))!
      const archive = (await store.mail.folder(ALICE.address, 'Archive/2026'))!
      const [, second] = await store.mail.messages(inbox.id)
      const [trashed] = await store.mail.messages((await store.mail.folder(ALICE.address, 'Trash'))!.id)
      const [entry] = await store.queue.entries()
      blobs = {archived: second!.blobId, lost: trashed!.blobId}
      await damage.removeBytes(trashed!.blobId)
      await damage.setRefs(second!.blobId, 5)
      await damage.setFolder(inbox, {messages: 40, unseen: 40, size: 4})
      await damage.setFolder(archive, {uidNext: 1, highestModseq: 1})
      await damage.putBlob('0orphan', 1)
      await damage.putAttempt('gone-entry', 1)
      if (damage.queueIndex) {
        await damage.queueIndex.remove(['deferred', 1, entry!.nextAttemptAt, entry!.id])
        await damage.queueIndex.put(['queued', 1, 0, 'gone-entry'])
      }
    })

    const found = await verify(dataDir)
    expect(found.code, found.stderr).toBe(1)
    const expected = ['blob-bytes-missing', 'blob-refs', 'folder-counters', 'highestmodseq', 'orphan-blob', 'orphan-delivery-log', 'uidnext']
    expect(kinds(found.report.breaches)).toEqual(onPostgres ? expected : [...expected, 'queue-index-missing', 'queue-index-stale'].sort())
    expect(found.report.breaches.find((b) => b.kind === 'folder-counters')).toMatchObject({user: ALICE.address, folder: 'INBOX', found: {messages: 40}, expected: {messages: 2}})
    expect(found.report.breaches.find((b) => b.kind === 'blob-refs')).toMatchObject({blobId: blobs!.archived, found: 5, expected: 2})
    const human = await runCli(['verify'], {dataDir})
    expect(human.code).toBe(1)
    expect(human.stdout).toContain(`blob-bytes-missing: blob ${blobs!.lost}: its info record has no bytes (used by 1 entry) (not derivable)`)
    expect(human.stdout).toMatch(/^uidnext: alice@example\.test "Archive\/2026" \(id \d+\): UIDNEXT 1 is not above UID 2$/m)
    expect(human.stdout).toMatch(/: \d+ breaches \(\d+ derivable: verify --repair mends them\)$/m)

    const repaired = await runCli(['verify', '--repair'], {dataDir})
    expect(repaired.code, repaired.stderr).toBe(1) // the lost bytes stay lost
    expect(repaired.stdout).toMatch(/^repaired: alice@example\.test "INBOX" \(id \d+\): folder-counters$/m)
    expect(repaired.stdout).toMatch(/^repaired: alice@example\.test "Archive\/2026" \(id \d+\): uidnext, highestmodseq$/m)
    expect(repaired.stdout).toContain(`repaired: blob ${blobs!.archived}: refs 5, used by 2 entries (5 → 2)`)
    expect(repaired.stdout).toMatch(/^removed: blob 0orphan: used by nothing/m)
    expect(repaired.stdout).toMatch(/breaches, \d+ repaired, 1 left \(1 not derivable\)$/m)

    const after = await verify(dataDir)
    expect(after.code).toBe(1)
    expect(after.report.breaches).toMatchObject([{kind: 'blob-bytes-missing', blobId: blobs!.lost}])

    // the repaired store serves: the Archive's next message gets a UID past the copies
    running = await serveWithRelay(dataDir, receiver.port)
    const client = await imapLogin(running.ports, ALICE)
    try {
      const status = await client.status('Archive/2026', {uidNext: true, messages: true})
      expect(status).toMatchObject({messages: 2, uidNext: 3})
      expect(await client.status('INBOX', {messages: true})).toMatchObject({messages: 2})
    } finally {
      await client.logout()
    }
  })

  // LMDB only, not a missing program: the 200,000 messages are seeded into the LMDB store directly
  // (test/helpers/seed.ts); on PostgreSQL the repairs' re-checks are the contract's (test/helpers/verify-contract.ts)
  it.skipIf(onPostgres)('verifies and repairs a store of 200,000 messages while serve runs on it and SMTP keeps acknowledging into the folder being repaired', async () => {
    const big = tempDataDir()
    await addUsers(big, ['example.test'], [ALICE])
    await seedMessages(big, ALICE.address, 'INBOX', 200_000, Buffer.from('From: seed@example.test\r\nSubject: seeded\r\n\r\nseeded\r\n'))
    const store = openStore(big)
    try {
      const inbox = store.mailboxes.get([ALICE.address, 'INBOX'])!
      await lmdbDamage(store).setFolder(inbox, {messages: inbox.messages + 3})
    } finally {
      await store.close()
    }
    const {served, ports} = await serveWithRelay(big, receiver.port)
    try {
      const mailbox = mailboxCommand()
      const child = spawn(mailbox.file, [...mailbox.args, 'verify', '--repair', '--json', '--data-dir', big], {env: {...process.env, ...mailbox.env, ...(await storeEnv(big))}, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      child.stdout.on('data', (d) => (stdout += d))
      let ended = false
      const exited = new Promise<number>((resolve) => child.on('close', (code) => ((ended = true), resolve(code ?? -1))))
      let acknowledged = 0
      let duringVerify = 0
      while (!ended) {
        await deliver(ports.smtp, ALICE.address, simpleMessage({subject: `during ${acknowledged}`}))
        acknowledged++
        if (!ended) duringVerify++
      }
      expect(await exited, stdout).toBe(0)
      expect(duringVerify).toBeGreaterThan(0)
      const report = JSON.parse(stdout)
      expect(report.breaches).toMatchObject([{kind: 'folder-counters', user: ALICE.address, folder: 'INBOX'}])
      expect(report.repairs).toMatchObject([{outcome: {done: true}}])
      // the repair counted the folder inside its transaction: the mail that came meanwhile is in
      const again = await verify(big)
      expect(again.code, again.stdout).toBe(0)
      const client = await imapLogin(ports, ALICE)
      try {
        expect(await client.status('INBOX', {messages: true})).toMatchObject({messages: 200_000 + acknowledged})
      } finally {
        await client.logout()
      }
    } finally {
      await served.stop()
    }
  }, 180_000)
})
