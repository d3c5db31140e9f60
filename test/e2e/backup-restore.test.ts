/**
 * `mailbox backup` and `mailbox restore` end to end, on a real `serve` with real clients.
 *
 * The main test backs up a store of ~60 MB while 8 SMTP connections (nodemailer) stream mail in
 * and two IMAP sessions (imapflow) flag and expunge. The backup process is stopped (SIGSTOP)
 * while it holds its snapshot, half written, and the server must keep acknowledging mail and
 * IMAP changes meanwhile. Then the backup restores into a new data dir, a new
 * `serve` runs on it (after `mailbox verify` finds it clean), and IMAP shows every message acknowledged before the backup started, with
 * the flags set before it, and none of those expunged before it.
 *
 * Then the failures: a full disk (prlimit --fsize; Node ignores SIGXFSZ, so writes fail with
 * EFBIG) and a killed backup leave no DEST; an existing DEST or store is refused without --force;
 * restore refuses a data dir being served, and files that are no backup (garbage, empty, cut off,
 * a newer schema) before touching anything. Last, the round trip through PostgreSQL both ways
 * (the PostgreSQL backup taken while a node serves the database), compared with `store verify`
 * (the digests of src/store/transfer.ts). Users' Sieve scripts, the active one marked, come through
 * each way.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {dirname, join} from 'node:path'
import {ImapFlow} from 'imapflow'
import nodemailer from 'nodemailer'
import {beforeAll, describe, expect, it} from 'vitest'
import {SCHEMA_VERSION} from '../../src/store/schema.js'
import {openStore, storePath} from '../../src/store/store.js'
import {missingOutsideCi, onPath, requireInCi} from '../helpers/ci.js'
import {freePort, mailboxCommand, runCli, runJson, startServe, tempDataDir, type CliResult, type Served} from '../helpers/cli.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {seedDistinctMessages} from '../helpers/seed.js'
import {HOST, addUsers, deliver, simpleMessage} from './imap-helpers.js'

const ALICE = {address: 'alice@example.test', password: 'alice-pw'}
const BOB = {address: 'bob@example.test', password: 'bob-pw'}

interface Ports {
  imap: number
  smtp: number
}

async function serve(dataDir: string): Promise<{served: Served; ports: Ports}> {
  const ports = {imap: await freePort(), smtp: await freePort()}
  const served = await startServe(dataDir, ['--imap-port', String(ports.imap), '--smtp-port', String(ports.smtp), '--allow-insecure-auth'])
  return {served, ports}
}

async function imap(ports: Ports, user: {address: string; password: string}): Promise<ImapFlow> {
  const client = new ImapFlow({host: HOST, port: ports.imap, secure: false, doSTARTTLS: false, auth: {user: user.address, pass: user.password}, logger: false})
  await client.connect()
  return client
}

/** a `mailbox` process not awaited at once (to stop or kill it on the way), optionally under `prlimit` */
function startCli(args: string[], prlimit?: string[]): {child: ChildProcess; done: Promise<CliResult>} {
  const mailbox = mailboxCommand()
  const [file, argv] = prlimit ? ['prlimit', [...prlimit, mailbox.file, ...mailbox.args, ...args]] : [mailbox.file, [...mailbox.args, ...args]]
  const child = spawn(file, argv as string[], {env: {...process.env, NO_COLOR: '1', ...mailbox.env}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code: code ?? (signal ? -1 : -2), stdout, stderr}))
  })
  return {child, done}
}

/** resolves once `path` exists (polled every millisecond: the backup must be caught half written), or rejects when `until` settles first */
async function appears(path: string, until: Promise<unknown>): Promise<void> {
  let over = false
  void until.then(() => (over = true))
  for (const start = Date.now(); Date.now() - start < 20_000; ) {
    if (existsSync(path)) return
    if (over) throw new Error(`${path} never appeared`)
    await new Promise((r) => setTimeout(r, 1))
  }
  throw new Error(`${path} did not appear within 20 s`)
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  for (const start = Date.now(); !cond(); ) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const expectRefused = (r: CliResult, pattern: RegExp) => {
  expect(r.code, r.stderr).toBe(1)
  expect(r.stderr).toMatch(pattern)
}

/** subject → flags (without \Recent, which is a session's) of every message in a user's INBOX */
async function inboxOf(ports: Ports, user: {address: string; password: string}): Promise<Map<string, string[]>> {
  const client = await imap(ports, user)
  try {
    const lock = await client.getMailboxLock('INBOX')
    const seen = new Map<string, string[]>()
    try {
      if ((client.mailbox as {exists: number}).exists === 0) return seen
      for await (const m of client.fetch('1:*', {uid: true, flags: true, envelope: true})) {
        seen.set(m.envelope!.subject!, [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort())
      }
    } finally {
      lock.release()
    }
    return seen
  } finally {
    await client.logout()
  }
}

/** `store verify` of two stores: exit 0 and the same records */
async function expectSameStores(from: string, to: string): Promise<void> {
  const r = await runCli(['store', 'verify', '--from', from, '--to', to])
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
  expect(r.stdout).toContain('both stores hold the same records')
}

const hasPrlimit = onPath('prlimit')
const SIEVE_FILTERS = 'require "fileinto";\nif header :contains "subject" "report" { fileinto "Archive"; }\n'
/** a data dir's (or with `store`, a PostgreSQL store's) Sieve scripts of alice, as `sieve list` shows them */
const aliceSieve = async (dataDir: string, store?: string) =>
  (await runJson<{name: string; active: boolean}[]>(['sieve', 'list', ALICE.address, ...(store ? ['--store', store] : [])], {dataDir})).map((s) => [s.name, s.active])

describe('mailbox backup and restore', () => {
  /** ~60 MB: alice and bob, and 3,000 distinct messages of 20 KB for bob */
  let big: string
  /** a few messages: the quick tests' store */
  let small: string
  let smallBackup: string
  const backups = join(dirname(tempDataDir()), 'backups')

  beforeAll(async () => {
    big = tempDataDir()
    await addUsers(big, ['example.test'], [ALICE, BOB])
    await seedDistinctMessages(big, BOB.address, 'INBOX', 3000, 20_000)
    small = tempDataDir()
    await addUsers(small, ['example.test', 'other.test'], [ALICE, {address: 'carol@other.test', password: 'carol-pw'}])
    await seedDistinctMessages(small, ALICE.address, 'INBOX', 20, 2_000)
    // Sieve scripts, one active: restores and copies keep them (store verify's digests include them)
    const store = openStore(small, {create: false})
    try {
      const quota = {maxScripts: 20, maxScriptBytes: 65_536}
      await store.sieve.put(ALICE.address, 'Filters', SIEVE_FILTERS, quota)
      await store.sieve.activate(ALICE.address, 'Filters')
      await store.sieve.put(ALICE.address, 'spare', 'keep;\n', quota)
    } finally {
      await store.close()
    }
    mkdirSync(backups, {recursive: true})
    smallBackup = join(backups, 'small.lmdb')
    const r = await runCli(['backup', smallBackup, '--data-dir', small])
    expect(r.code, r.stderr).toBe(0)
  }, 120_000)

  it('backs up while 8 SMTP connections stream mail in and IMAP sessions flag and expunge; the restore holds every message acknowledged before it, with its flags', async () => {
    const {served, ports} = await serve(big)
    let streaming = true
    const acked: {subject: string; at: number}[] = []
    const failures: string[] = []
    const streamers = Array.from({length: 8}, async (_, w) => {
      const transport = nodemailer.createTransport({host: HOST, port: ports.smtp, secure: false, ignoreTLS: true, pool: true, maxConnections: 1})
      try {
        for (let n = 0; streaming; n++) {
          const subject = `stream ${w}-${n}`
          try {
            await transport.sendMail({envelope: {from: 'sender@remote.test', to: [ALICE.address]}, raw: simpleMessage({subject, to: ALICE.address, body: `message ${n} of stream ${w}\r\n`.repeat(20)})})
            acked.push({subject, at: Date.now()})
          } catch (err) {
            failures.push(`${subject}: ${(err as Error).message}`)
          }
        }
      } finally {
        transport.close()
      }
    })
    // two sessions on bob's seeded mail: flag one message, expunge the next, over and over
    let churned = 0
    const churners = [0, 1].map(async (s) => {
      const client = await imap(ports, BOB)
      try {
        const lock = await client.getMailboxLock('INBOX')
        try {
          for (let uid = 1 + s; streaming; uid += 4) {
            await client.messageFlagsAdd(String(uid), ['\\Flagged', '$Churned'], {uid: true})
            await client.messageDelete(String(uid + 2), {uid: true})
            churned++
          }
        } finally {
          lock.release()
        }
      } finally {
        await client.logout()
      }
    })
    const dest = join(backups, 'big.lmdb')
    try {
      await waitFor('80 messages acknowledged', () => acked.length >= 80)
      // flags and expunges on alice's mail, all done before the backup starts
      const expected = new Map<string, string[]>()
      const alice = await imap(ports, ALICE)
      try {
        const lock = await alice.getMailboxLock('INBOX')
        try {
          const uids: {uid: number; subject: string}[] = []
          for await (const m of alice.fetch('1:*', {uid: true, envelope: true})) uids.push({uid: m.uid, subject: m.envelope!.subject!})
          for (const [i, {uid, subject}] of uids.slice(0, 60).entries()) {
            const flags = [...(i % 3 === 0 ? ['\\Flagged'] : []), ...(i % 5 === 0 ? ['\\Seen', '$Backup'] : [])]
            if (flags.length) await alice.messageFlagsAdd(String(uid), flags, {uid: true})
            if (i % 7 === 1) {
              await alice.messageDelete(String(uid), {uid: true})
              expected.set(subject, ['EXPUNGED'])
            } else {
              expected.set(subject, flags.sort())
            }
          }
        } finally {
          lock.release()
        }
      } finally {
        await alice.logout()
      }
      const before = acked.filter((a) => !expected.has(a.subject)).map((a) => a.subject)
      for (const subject of before) expected.set(subject, [])

      const backup = startCli(['backup', dest, '--data-dir', big, '--json'])
      const temp = `${dest}.incomplete-${backup.child.pid}`
      await appears(temp, backup.done)
      backup.child.kill('SIGSTOP')
      try {
        // caught half written: its snapshot is held, and the server goes on committing
        expect(existsSync(dest)).toBe(false)
        const [ackedThen, churnedThen] = [acked.length, churned]
        await waitFor('mail and IMAP changes acknowledged while the backup holds its snapshot', () => acked.length >= ackedThen + 40 && churned >= churnedThen + 5)
      } finally {
        backup.child.kill('SIGCONT')
      }
      const r = await backup.done
      expect(r.code, r.stderr).toBe(0)
      const summary = JSON.parse(r.stdout)
      expect(summary).toMatchObject({file: dest, users: 2, schemaVersion: expect.any(Number)})
      expect(summary.bytes).toBe(statSync(dest).size)
      expect(summary.messages).toBeGreaterThan(3000 - churned)
      expect(existsSync(temp)).toBe(false)
      expect(statSync(dest).mode & 0o777).toBe(0o600)

      streaming = false
      await Promise.all([...streamers, ...churners])
      expect(failures).toEqual([])

      const restoredDir = tempDataDir()
      const restored = await runCli(['restore', dest, '--data-dir', restoredDir, '--json'])
      expect(restored.code, restored.stderr).toBe(0)
      expect(JSON.parse(restored.stdout)).toMatchObject({file: dest, to: restoredDir, messages: summary.messages, users: 2})
      // the backup of a store under load holds no breach of the store's invariants
      const verified = await runCli(['verify', '--json', '--data-dir', restoredDir])
      expect(verified.code, verified.stdout + verified.stderr).toBe(0)
      expect(JSON.parse(verified.stdout).breaches).toEqual([])

      const again = await serve(restoredDir)
      try {
        const inbox = await inboxOf(again.ports, ALICE)
        for (const [subject, flags] of expected) {
          if (flags[0] === 'EXPUNGED') expect(inbox.has(subject), subject).toBe(false)
          else expect(inbox.get(subject), subject).toEqual(flags)
        }
        // and nothing that was never acknowledged
        const sent = new Set(acked.map((a) => a.subject))
        for (const subject of inbox.keys()) expect(sent.has(subject), subject).toBe(true)
      } finally {
        await again.served.stop()
      }
    } finally {
      streaming = false
      await Promise.allSettled([...streamers, ...churners])
      await served.stop()
    }
  }, 180_000)

  it.skipIf(missingOutsideCi(hasPrlimit))('a full disk leaves no backup file and no temporary file; a restore on a full disk leaves the data dir without a store', async () => {
    requireInCi(hasPrlimit, 'prlimit (util-linux) is needed for this test')
    const dir = join(backups, 'full')
    mkdirSync(dir)
    const r = await startCli(['backup', join(dir, 'big.lmdb'), '--data-dir', big], ['--fsize=4194304']).done
    expectRefused(r, /^Error: the backup to \S+ failed: File too large/m)
    expect(readdirSync(dir)).toEqual([])

    const whole = join(backups, 'full-source.lmdb')
    expect((await runCli(['backup', whole, '--data-dir', big])).code).toBe(0)
    const into = tempDataDir()
    const restored = await startCli(['restore', whole, '--data-dir', into], ['--fsize=4194304']).done
    expectRefused(restored, /^Error: the restore into \S+ failed: .*file too large/im)
    expect(readdirSync(into).filter((f) => !f.startsWith('serve.pid'))).toEqual([])
  }, 60_000)

  it('an interrupted backup (SIGINT, SIGTERM) removes its temporary file and leaves no DEST', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const dest = join(backups, `interrupted-${signal}.lmdb`)
      const backup = startCli(['backup', dest, '--data-dir', big])
      await appears(`${dest}.incomplete-${backup.child.pid}`, backup.done)
      backup.child.kill('SIGSTOP')
      backup.child.kill(signal) // pending until it runs again: the copy is half done
      backup.child.kill('SIGCONT')
      const r = await backup.done
      expect(r.code, r.stderr).toBe(signal === 'SIGINT' ? 130 : 143)
      expect(readdirSync(backups).filter((f) => f.startsWith('interrupted-'))).toEqual([])
    }
  }, 60_000)

  it('a killed backup leaves no DEST, only its clearly named temporary file; the next backup is not hindered by it', async () => {
    const dest = join(backups, 'killed.lmdb')
    const backup = startCli(['backup', dest, '--data-dir', big])
    const temp = `${dest}.incomplete-${backup.child.pid}`
    await appears(temp, backup.done)
    backup.child.kill('SIGSTOP')
    expect(existsSync(dest)).toBe(false)
    backup.child.kill('SIGKILL')
    await backup.done
    expect(existsSync(dest)).toBe(false)
    expect(readdirSync(backups).filter((f) => f.startsWith('killed'))).toEqual([`killed.lmdb.incomplete-${backup.child.pid}`])
    const r = await runCli(['backup', dest, '--data-dir', big])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^backed up \S+ to \S+killed\.lmdb in [\d.]+ s: [\d.]+M, 2 users, \d+ messages$/m)
  }, 60_000)

  it('a data dir without a store is refused, and nothing is created (neither the data dir nor DEST\'s directory)', async () => {
    const missing = tempDataDir()
    const dest = join(dirname(missing), 'new-dir', 'b.lmdb')
    expectRefused(await runCli(['backup', dest, '--data-dir', missing]), /^Error: no mailbox store in \S+ \(create one with/m)
    expect(existsSync(missing)).toBe(false)
    expect(existsSync(dirname(dest))).toBe(false)
  })

  it('refuses an existing DEST unless --force, which replaces it', async () => {
    const dest = join(backups, 'force.lmdb')
    writeFileSync(dest, 'an older file')
    expectRefused(await runCli(['backup', dest, '--data-dir', small]), /^Error: \S+force\.lmdb exists: give another name, or --force to replace it$/m)
    expect(readFileSync(dest, 'utf8')).toBe('an older file')
    expectRefused(await runCli(['backup', backups, '--data-dir', small]), /is a directory: a backup is one file/)
    const r = await runJson(['backup', dest, '--data-dir', small, '--force'])
    expect(r).toMatchObject({file: dest, users: 2, messages: 20})
    expect(readdirSync(backups).filter((f) => f.startsWith('force'))).toEqual(['force.lmdb'])
  })

  it('restore refuses a data dir a server is using, and one holding a store unless --force, which keeps the old store beside it', async () => {
    const target = tempDataDir()
    await addUsers(target, ['target.test'], [{address: 'dave@target.test', password: 'dave-pw'}])
    const {served} = await serve(target)
    try {
      expectRefused(await runCli(['restore', smallBackup, '--data-dir', target, '--force']), /^Error: another mailbox serve \(pid \d+\) is using \S+: stop it before restoring$/m)
    } finally {
      await served.stop()
    }
    expectRefused(await runCli(['restore', smallBackup, '--data-dir', target]), /already holds a store: restore into another data dir, or give --force/)
    const users = async (dir: string) => (await runJson<{address: string}[]>(['user', 'list'], {dataDir: dir})).map((u) => u.address)
    expect(await users(target)).toEqual(['dave@target.test'])

    const r = await runCli(['restore', smallBackup, '--data-dir', target, '--force'])
    expect(r.code, r.stderr).toBe(0)
    const previous = /^the store that was there is kept as (\S+)$/m.exec(r.stdout)?.[1]
    expect(previous).toMatch(/mailbox\.lmdb\.before-restore-\d{4}-\d\d-\d\dT\d{6}Z$/)
    expect(await users(target)).toEqual([ALICE.address, 'carol@other.test'])
    expect(await aliceSieve(target)).toEqual([
      ['Filters', true],
      ['spare', false],
    ])
    expect((await runJson<{content: string}>(['sieve', 'show', ALICE.address, 'Filters'], {dataDir: target})).content).toBe(SIEVE_FILTERS)
    expect(readdirSync(target).filter((f) => f.startsWith('restore-incomplete'))).toEqual([])
    // the old store is whole: as a data dir's store it shows what it held
    const old = tempDataDir()
    mkdirSync(old, {recursive: true})
    copyFileSync(previous!, storePath(old))
    expect(await users(old)).toEqual(['dave@target.test'])
  }, 60_000)

  it('restore refuses what is not a backup, before creating or replacing anything', async () => {
    const files = join(backups, 'bad')
    mkdirSync(files)
    const bad = (name: string, bytes: Buffer | string) => {
      writeFileSync(join(files, name), bytes)
      return join(files, name)
    }
    const whole = readFileSync(smallBackup)
    const cases: [string, RegExp][] = [
      [bad('random', randomBytes(64 * 1024)), /is not a mailbox backup: not an LMDB file$/m],
      [bad('empty', ''), /is not a mailbox backup: the file is empty$/m],
      [bad('text', 'From alice@example.test\nSubject: not a store\n\nhello\n'), /is not a mailbox backup: not an LMDB file \(too short\)$/m],
      [bad('cut', whole.subarray(0, Math.floor(whole.length / 2))), /is not a mailbox backup: the file is cut off \(\d+ bytes of \d+\)$/m],
      [join(files, 'missing'), /^Error: \S+missing does not exist$/m],
      [files, /is not a file: a backup is one file/],
    ]
    for (const [file, pattern] of cases) {
      const into = join(tempDataDir(), 'never')
      expectRefused(await runCli(['restore', file, '--data-dir', into]), pattern)
      expect(existsSync(into), file).toBe(false)
    }
    // a store of a newer schema version than this mailbox knows
    const newer = tempDataDir()
    expect((await runCli(['restore', smallBackup, '--data-dir', newer])).code).toBe(0)
    const store = openStore(newer)
    store.transact(() => store.meta.putSync('schemaVersion', 999))
    await store.close()
    const into = join(tempDataDir(), 'never')
    expectRefused(await runCli(['restore', storePath(newer), '--data-dir', into]), /has schema version 999, newer than this mailbox understands \(\d+\): restore it with a newer mailbox$/m)
    expect(existsSync(into)).toBe(false)
  }, 60_000)

  it('restores a backup of an older schema version, migrating it as serve would', async () => {
    const old = tempDataDir()
    expect((await runCli(['restore', smallBackup, '--data-dir', old])).code).toBe(0)
    const store = openStore(old)
    store.transact(() => store.meta.putSync('schemaVersion', SCHEMA_VERSION - 1))
    await store.close()
    const into = tempDataDir()
    const r = await runJson(['restore', storePath(old), '--data-dir', into])
    expect(r).toMatchObject({schemaVersion: SCHEMA_VERSION - 1, users: 2, messages: 20})
    const again = await runJson(['backup', join(backups, 'migrated.lmdb'), '--data-dir', into])
    expect(again).toMatchObject({schemaVersion: SCHEMA_VERSION, users: 2, messages: 20})
  }, 60_000)

  describe.skipIf(skipWithoutPostgres)('with PostgreSQL', () => {
    const server = usePostgres()

    it('an LMDB backup restores into PostgreSQL, and a PostgreSQL backup into a data dir: every store holds the same records', async () => {
      const url = await server().createSchema()
      const r = await runCli(['restore', smallBackup, '--store', url, '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({users: 2, messages: 20})
      await expectSameStores(small, url)
      expect(await aliceSieve(tempDataDir(), url)).toEqual([
        ['Filters', true],
        ['spare', false],
      ])
      expectRefused(await runCli(['restore', smallBackup, '--store', url]), /is not empty \(it holds/)

      // backed up while a node serves the database (it is in the node registry: no --force needed)
      const smtp = await freePort()
      const node = await startServe(tempDataDir(), ['--smtp-port', String(smtp)], undefined, {MAILBOX_STORE: url})
      const fromPg = join(backups, 'from-pg.lmdb')
      try {
        const b = await runCli(['backup', fromPg, '--store', url, '--json'])
        expect(b.code, b.stderr).toBe(0)
        expect(JSON.parse(b.stdout)).toMatchObject({file: fromPg, users: 2, messages: 20})
        await deliver(smtp, ALICE.address, simpleMessage({subject: 'after the backup'}))
      } finally {
        await node.stop()
      }
      expect(readdirSync(backups).filter((f) => f.startsWith('from-pg'))).toEqual(['from-pg.lmdb'])
      const back = tempDataDir()
      const restored = await runCli(['restore', fromPg, '--data-dir', back])
      expect(restored.code, restored.stderr).toBe(0)
      await expectSameStores(small, back)
      expect(await aliceSieve(back)).toEqual([
        ['Filters', true],
        ['spare', false],
      ])
      // the mail delivered after the backup is not in it (its folder's counters are the first difference)
      expect((await runCli(['store', 'verify', '--from', url, '--to', back])).stderr).toMatch(/^Error: the stores differ in folders: /m)
    }, 90_000)
  })
})
