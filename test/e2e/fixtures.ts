/**
 * Fixtures for the CLI end-to-end suites (cli-*.test.ts): direct store access from the test
 * process (LMDB is safe across processes), cheap copies of a seeded data dir, and checks of the
 * CLI's error contract. Nothing here runs the appliance itself; that is always the real bin/mailbox.
 */
import {cpSync} from 'node:fs'
import {expect} from 'vitest'
import {openStore, type Store} from '../../src/store/store.js'
import type {MailboxRecord} from '../../src/store/records.js'
import {runCli, tempDataDir, type CliResult} from '../helpers/cli.js'

/** Opens the store of a data dir, runs `fn`, and always closes it again. */
export async function withStore<T>(dataDir: string, fn: (store: Store) => T | Promise<T>, options: {readOnly?: boolean} = {}): Promise<T> {
  const store = openStore(dataDir, options)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

export const RAW_MESSAGE = 'Subject: x\r\n\r\nhi\r\n'

let blobSeq = 0

/**
 * Delivers `count` messages into a user's folder by writing the records directly (as the
 * mailstore would): one blob each, a message entry, and the folder's counters bumped.
 * Returns the blob ids, so tests can check they are released later.
 */
export async function giveMail(dataDir: string, user: string, folderName = 'INBOX', count = 1): Promise<string[]> {
  return withStore(dataDir, (store) =>
    store.transact(() => {
      const folder = store.mailboxes.get([user, folderName])
      if (!folder) throw new Error(`fixture: no folder ${folderName} for ${user}`)
      const size = Buffer.byteLength(RAW_MESSAGE)
      let f: MailboxRecord = folder
      const blobIds: string[] = []
      for (let i = 0; i < count; i++) {
        const blobId = `b-${process.pid}-${Date.now()}-${++blobSeq}`
        const uid = f.uidNext
        store.blobs.putSync(blobId, Buffer.from(RAW_MESSAGE))
        store.blobInfo.putSync(blobId, {refs: 1, size, createdAt: Date.now()})
        store.messages.putSync([f.id, uid], {uid, blobId, flags: [], internalDate: Date.now(), size, modseq: f.highestModseq + 1})
        f = {...f, uidNext: uid + 1, messages: f.messages + 1, size: f.size + size, unseen: f.unseen + 1, highestModseq: f.highestModseq + 1}
        blobIds.push(blobId)
      }
      store.mailboxes.putSync([user, folderName], f)
      return blobIds
    }),
  )
}

/** Sets meta.schemaVersion (e.g. 99, as if a newer mailbox had written the store). */
export async function setSchemaVersion(dataDir: string, version: number): Promise<void> {
  await withStore(dataDir, (store) => store.transact(() => store.meta.putSync('schemaVersion', version)))
}

export async function passwordHashOf(dataDir: string, address: string): Promise<string | undefined> {
  return withStore(dataDir, async (store) => (await store.directory.user(address))?.passwordHash, {readOnly: true})
}

/** Whether blobs and their info records are still stored. */
export async function blobsPresent(dataDir: string, blobIds: string[]): Promise<boolean[]> {
  return withStore(dataDir, (store) => blobIds.map((id) => store.blobs.get(id) !== undefined || store.blobInfo.get(id) !== undefined), {readOnly: true})
}

export async function messageCount(dataDir: string): Promise<number> {
  return withStore(dataDir, (store) => store.messages.getKeysCount(), {readOnly: true})
}

const DATABASES = ['meta', 'domains', 'users', 'aliases', 'mailboxes', 'messages', 'blobs', 'blobInfo', 'queueEntries', 'queueIndex', 'deliveryLog'] as const

/** Every key and value of every named database: two equal snapshots mean nothing was written. */
export async function snapshot(dataDir: string): Promise<Record<string, unknown[]>> {
  return withStore(
    dataDir,
    (store) =>
      Object.fromEntries(
        DATABASES.map((name) => {
          const db = store[name] as unknown as {getRange(): Iterable<{key: unknown; value: unknown}>}
          return [name, [...db.getRange()].map(({key, value}) => [key, Buffer.isBuffer(value) ? value.toString('base64') : value])]
        }),
      ),
    {readOnly: true},
  )
}

/** A private copy of a (closed) seeded data dir: much cheaper than seeding again through the CLI. */
export function cloneDataDir(template: string): string {
  const dir = tempDataDir()
  cpSync(template, dir, {recursive: true})
  return dir
}

/** Asserts the CLI's error contract: exit 1, nothing on stdout, exactly one `Error: …` line on stderr. */
export function expectOneLineError(r: CliResult, pattern: RegExp): void {
  const context = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
  expect(r.code, context).toBe(1)
  expect(r.stdout, context).toBe('')
  const lines = r.stderr.replace(/\n$/, '').split('\n')
  expect(lines, context).toHaveLength(1)
  expect(lines[0], context).toMatch(/^Error: \S/)
  expect(lines[0], context).toMatch(pattern)
}

/** Runs a command that must fail, checks the error contract, and that the store is byte-for-byte unchanged. */
export async function expectRefused(args: string[], dataDir: string, pattern: RegExp, options: {input?: string} = {}): Promise<CliResult> {
  const before = await snapshot(dataDir)
  const r = await runCli(args, {dataDir, input: options.input})
  expectOneLineError(r, pattern)
  expect(await snapshot(dataDir), `mailbox ${args.join(' ')} changed the store although it failed`).toEqual(before)
  return r
}

/** `user add` through the CLI with a password on stdin; fails loudly. */
export async function addUser(dataDir: string, address: string, extra: string[] = []): Promise<void> {
  const r = await runCli(['user', 'add', address, '--password-stdin', ...extra], {dataDir, input: 'pw\n'})
  if (r.code !== 0) throw new Error(`user add ${address} exited ${r.code}: ${r.stderr}`)
}

export async function ok(args: string[], dataDir: string, input?: string): Promise<void> {
  const r = await runCli(args, {dataDir, input})
  if (r.code !== 0) throw new Error(`mailbox ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
}
