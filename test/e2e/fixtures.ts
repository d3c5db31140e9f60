/**
 * Fixtures for the CLI end-to-end suites (cli-*.test.ts): direct store access from the test
 * process (LMDB is safe across processes; most go through ../helpers/test-store.ts, so they work
 * on the run's backend), cheap copies of a seeded data dir, and checks of the CLI's error contract.
 * Nothing here runs the appliance itself; that is always the real bin/mailbox.
 */
import {cpSync, existsSync} from 'node:fs'
import {expect} from 'vitest'
import {openStore, type Store} from '../../src/store/store.js'
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import {onPostgres} from '../helpers/backend.js'
import {runCli, tempDataDir, type CliResult} from '../helpers/cli.js'
import {cloneStore, storeDigest, withTestStore} from '../helpers/test-store.js'

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

/**
 * Puts `count` messages into a user's folder through the store (as an IMAP APPEND would), on the
 * run's backend (../helpers/backend.ts). Returns the blob ids, so tests can check they are
 * released later.
 */
export async function giveMail(dataDir: string, user: string, folderName = 'INBOX', count = 1): Promise<string[]> {
  const raw = Buffer.from(RAW_MESSAGE)
  return withTestStore(dataDir, async ({mail}) => {
    const blobIds: string[] = []
    for (let i = 0; i < count; i++) {
      const change = await mail.append({user, folder: folderName, messages: [{raw, flags: [], analysis: analyzeMessage(raw)}]})
      blobIds.push(change.appended![0]!.blobId)
    }
    return blobIds
  })
}

/** Sets meta.schemaVersion (e.g. 99, as if a newer mailbox had written the store). */
export async function setSchemaVersion(dataDir: string, version: number): Promise<void> {
  await withStore(dataDir, (store) => store.transact(() => store.meta.putSync('schemaVersion', version)))
}

export async function passwordHashOf(dataDir: string, address: string): Promise<string | undefined> {
  return withTestStore(dataDir, async (store) => (await store.directory.user(address))?.passwordHash, {readOnly: true})
}

/** Whether blobs and their info records are still stored. */
export async function blobsPresent(dataDir: string, blobIds: string[]): Promise<boolean[]> {
  return withTestStore(dataDir, ({mail}) => Promise.all(blobIds.map(async (id) => (await mail.blob(id)) !== undefined || (await mail.blobInfo(id)) !== undefined)), {readOnly: true})
}

/** messages in every folder of every user */
export async function messageCount(dataDir: string): Promise<number> {
  return withTestStore(dataDir, async ({mail}) => [...(await mail.usageByUser()).values()].reduce((n, u) => n + u.messages, 0), {readOnly: true})
}

const DATABASES = ['meta', 'domains', 'users', 'aliases', 'mailboxes', 'messages', 'blobs', 'blobInfo', 'queueEntries', 'queueIndex', 'deliveryLog', 'sieveScripts', 'sieveActive'] as const

/**
 * Every key and value of every named LMDB database, or on PostgreSQL the digest of every record
 * (`store verify`'s): two equal snapshots mean nothing was written.
 */
export async function snapshot(dataDir: string): Promise<unknown> {
  if (onPostgres) return storeDigest(dataDir)
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

/**
 * A private copy of a (closed) seeded data dir: much cheaper than seeding again through the CLI.
 * On PostgreSQL the template's store is copied into the copy's own (`store copy`).
 */
export async function cloneDataDir(template: string): Promise<string> {
  const dir = tempDataDir()
  // on PostgreSQL a data dir nothing served holds no files at all
  if (!onPostgres || existsSync(template)) cpSync(template, dir, {recursive: true})
  await cloneStore(template, dir)
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
