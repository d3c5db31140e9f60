/**
 * `mailbox backup` and `mailbox restore` (README "Backups").
 *
 * A backup is ONE file, a whole LMDB data file: what a data dir keeps as `mailbox.lmdb`,
 * compacted (only the pages in use, free space dropped). Made from either backend, it is the same
 * portable file, and restores into either.
 *  - From an LMDB store: LMDB's copy of a read snapshot (mdb_env_copy2 with MDB_CP_COMPACT,
 *    lmdb-js `env.backup`), made by the process that asks for it (the CLI), on a libuv worker
 *    thread. It holds one read transaction and no lock: a running `serve` keeps committing
 *    (pages it frees meanwhile are reused only after the copy ends, so the store may grow a little
 *    during a long backup). No pid lock is taken.
 *  - From PostgreSQL: the stream of one snapshot (./transfer.ts) copied into a fresh LMDB store by
 *    ./copy.ts (the source may be served: `servedSource`), then compacted into the file as above.
 *
 * Both directions write under a temporary name and rename at the end, after an fsync of the file
 * (and of the directory after the rename): a failure or an interrupt (SIGINT, SIGTERM) removes the
 * temporary file, a killed process (SIGKILL) leaves only it (`DEST.incomplete-PID`, or a `restore-incomplete-PID` dir in the data dir), and
 * never a file under the final name that is not whole.
 *
 * A file to restore is checked before anything is replaced: a whole LMDB file (./lmdb-file.ts;
 * lmdb-js would crash on anything else), which opens as a store, of a schema version this code
 * knows (an older one is migrated as it is restored, as `serve` would). It is opened through a
 * symlink in a temporary dir, so LMDB's lock file never lands beside it (a backup dir may be read-only).
 */
import {chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync} from 'node:fs'
import {copyFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {cleanupOnInterrupt} from '../cli-interrupt.js'
import {MailboxError} from '../errors.js'
import {fsyncDir, fsyncFile} from '../fsync.js'
import {lockForOfflineWork} from '../pidlock.js'
import {copyStore, type CopyOptions, type CopySummary, differenceError, type StoreLocation} from './copy.js'
import {lmdbFileProblem} from './lmdb-file.js'
import {SCHEMA_VERSION} from './schema.js'
import {ensureDataDir, noStoreError, openStore, type Store, storeExists, storePath} from './store.js'

/** bytes done of bytes expected (the expected figure is an estimate until the end) */
export type BytesProgress = (done: number, total: number) => void

export interface BackupOptions {
  /** replace an existing DEST */
  force?: boolean
  progress?: BytesProgress
}

/** what a backup file holds */
export interface BackupContents {
  schemaVersion: number
  users: number
  messages: number
}

export interface BackupSummary extends BackupContents {
  /** the store backed up: a data dir, or a URL without its password */
  from: string
  file: string
  bytes: number
  seconds: number
}

export interface RestoreSummary extends BackupContents {
  file: string
  /** the store restored into */
  to: string
  bytes: number
  /** where the store that was there before went (--force), if there was one */
  previous?: string
  seconds: number
}

/** how often the growing file's size is read for progress */
const POLL_MS = 100

/** runs `work` while reporting the size of `file` as it grows towards `total` */
async function watchingSize<T>(file: string, total: number, progress: BytesProgress | undefined, work: Promise<T>): Promise<T> {
  if (!progress) return work
  const poll = () => {
    try {
      progress(Math.min(statSync(file).size, total), total)
    } catch {
      // not created yet
    }
  }
  const timer = setInterval(poll, POLL_MS)
  try {
    return await work
  } finally {
    clearInterval(timer)
  }
}

/** LMDB's compacted copy of one read snapshot into `file` (which must not exist), then fsynced */
async function compactCopy(store: Store, file: string, progress: BytesProgress | undefined): Promise<void> {
  const total = store.compactedBytes()
  await watchingSize(file, total, progress, store.env.backup(file, true))
  // LMDB creates it as 0666 less the umask: mail and password hashes are the owner's alone
  chmodSync(file, 0o600)
  fsyncFile(file)
  const size = statSync(file).size
  progress?.(size, size)
}

/** a store being written failed: the reason in one line (a full disk is EFBIG or ENOSPC, as lmdb-js words it) */
function writeError(what: string, err: unknown): Error {
  if (err instanceof MailboxError) return err
  return new MailboxError('unavailable', `${what} failed: ${(err as Error).message}`)
}

function refuseExistingDest(dest: string, force: boolean): void {
  if (!existsSync(dest)) return
  if (statSync(dest).isDirectory()) throw new MailboxError('invalid', `${dest} is a directory: a backup is one file (give its name, e.g. ${join(dest, 'mailbox-backup.lmdb')})`)
  if (!force) throw new MailboxError('exists', `${dest} exists: give another name, or --force to replace it`)
}

/** the temporary name of a backup being written, beside it (so the rename stays in one file system) */
export const incompleteName = (dest: string): string => `${dest}.incomplete-${process.pid}`

/**
 * Writes a backup of the store at `from` into the file `dest`, while the store may be served.
 * Refuses an existing `dest` unless `force`.
 */
export async function backupStore(from: StoreLocation, dest: string, options: BackupOptions = {}): Promise<BackupSummary> {
  const started = Date.now()
  dest = resolve(dest)
  // a typo in --data-dir creates nothing, not even DEST's directory
  if (from.type === 'lmdb' && !storeExists(from.dataDir)) throw noStoreError(from.dataDir)
  refuseExistingDest(dest, options.force ?? false)
  mkdirSync(dirname(dest), {recursive: true, mode: 0o700})
  const temp = incompleteName(dest)
  const scratch = `${temp}.d`
  const removeTemps = () => {
    rmSync(temp, {force: true})
    rmSync(scratch, {recursive: true, force: true})
  }
  const uninterrupt = cleanupOnInterrupt(removeTemps)
  let where: string
  try {
    if (from.type === 'lmdb') {
      where = from.dataDir
      const store = openStore(from.dataDir, {readOnly: true, create: false})
      try {
        await compactCopy(store, temp, options.progress)
      } finally {
        await store.close()
      }
    } else {
      const copied = await copyStore(from, {type: 'lmdb', dataDir: scratch}, {servedSource: true, ...copyProgress(options.progress)})
      refuseDifference(copied)
      where = copied.from
      const store = openStore(scratch, {readOnly: true, create: false})
      try {
        await compactCopy(store, temp, undefined)
      } finally {
        await store.close()
      }
      rmSync(scratch, {recursive: true, force: true})
    }
    const contents = await inspectStoreFile(temp, temp)
    const bytes = statSync(temp).size
    refuseExistingDest(dest, options.force ?? false) // one made meanwhile is not replaced unasked
    renameSync(temp, dest)
    fsyncDir(dirname(dest))
    return {from: where, file: dest, bytes, ...contents, seconds: (Date.now() - started) / 1000}
  } catch (err) {
    removeTemps()
    throw writeError(`the backup to ${dest}`, err)
  } finally {
    uninterrupt()
  }
}

/** the progress of a copy (./copy.ts) as bytes of message data */
function copyProgress(progress: BytesProgress | undefined): Pick<CopyOptions, 'progress'> {
  return progress ? {progress: (written, totals) => progress(written.blob.bytes, Math.max(totals.blob.bytes, written.blob.bytes))} : {}
}

function refuseDifference(copied: CopySummary): void {
  if (copied.verify && !copied.verify.equal) throw differenceError(copied.verify)
}

/** `file` opened read-only as a data dir's store, through a symlink in a temp dir (LMDB's lock file goes there) */
async function withStoreFile<T>(file: string, fn: (dataDir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'mailbox-restore-'))
  try {
    symlinkSync(resolve(file), storePath(dir))
    return await fn(dir)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/**
 * What a backup file holds, after checking it is one: a whole LMDB file that opens as a mailbox
 * store of a known schema version. `name` is how errors name it.
 */
export async function inspectStoreFile(file: string, name: string): Promise<BackupContents> {
  try {
    if (!statSync(file).isFile()) throw new MailboxError('invalid', `${name} is not a file: a backup is one file (made by mailbox backup)`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MailboxError('not-found', `${name} does not exist`)
    throw err
  }
  const problem = lmdbFileProblem(file)
  if (problem) throw notABackup(name, problem)
  return withStoreFile(file, async (dir) => {
    let store: Store
    try {
      store = openStore(dir, {readOnly: true, create: false, migrate: false})
    } catch (err) {
      throw notABackup(name, `it does not open as a store (${(err as Error).message})`)
    }
    try {
      const version = store.meta.get('schemaVersion')
      if (typeof version !== 'number') throw notABackup(name, 'an LMDB file without a mailbox schema version')
      if (version > SCHEMA_VERSION) {
        throw new MailboxError('schema', `${name} has schema version ${version}, newer than this mailbox understands (${SCHEMA_VERSION}): restore it with a newer mailbox`)
      }
      return {schemaVersion: version, users: store.users.getCount(), messages: store.messages.getCount()}
    } finally {
      await store.close()
    }
  })
}

const notABackup = (name: string, why: string) => new MailboxError('invalid', `${name} is not a mailbox backup: ${why}`)

export interface RestoreOptions {
  /** LMDB: replace the data dir's store (it is kept, renamed); PostgreSQL: restore though the node registry shows live nodes */
  force?: boolean
  progress?: BytesProgress
}

/** the name a replaced store keeps beside the restored one */
const previousName = (dataDir: string, at: Date) => `${storePath(dataDir)}.before-restore-${at.toISOString().slice(0, 19).replace(/:/g, '')}Z`

/**
 * Restores the backup file `src` into the store at `to`: an LMDB data dir no `serve` uses (its
 * store is refused unless `force`, which keeps it under a `.before-restore-TIME` name), or an
 * empty PostgreSQL database.
 */
export async function restoreStore(src: string, to: StoreLocation, options: RestoreOptions = {}): Promise<RestoreSummary> {
  const started = Date.now()
  const file = resolve(src)
  const contents = await inspectStoreFile(file, file)
  const bytes = statSync(file).size
  const done = (where: string, previous?: string): RestoreSummary => ({file, to: where, bytes, ...contents, ...(previous ? {previous} : {}), seconds: (Date.now() - started) / 1000})
  if (to.type === 'pg') {
    if (contents.schemaVersion !== SCHEMA_VERSION) {
      throw new MailboxError('schema', `${file} has schema version ${contents.schemaVersion}: restore it into a data dir first (which brings it to version ${SCHEMA_VERSION}), then mailbox store copy it to PostgreSQL`)
    }
    const copied = await withStoreFile(file, (dir) => copyStore({type: 'lmdb', dataDir: dir}, to, {force: options.force ?? false, ...copyProgress(options.progress)}))
    refuseDifference(copied)
    return done(copied.to)
  }
  const {dataDir} = to
  ensureDataDir(dataDir)
  const unlock = lockForOfflineWork(dataDir, 'restoring')
  const work = join(dataDir, `restore-incomplete-${process.pid}`)
  const uninterrupt = cleanupOnInterrupt(() => {
    rmSync(work, {recursive: true, force: true})
    unlock()
  })
  try {
    const existing = storeExists(dataDir)
    if (existing && !options.force) {
      throw new MailboxError('exists', `${dataDir} already holds a store: restore into another data dir, or give --force to replace it (the old one is kept beside it, renamed)`)
    }
    mkdirSync(work, {mode: 0o700})
    const copy = storePath(work)
    await watchingSize(copy, bytes, options.progress, copyFile(file, copy))
    options.progress?.(bytes, bytes)
    // read-write once: an older schema version is migrated here, before the store takes its place
    await openStore(work, {create: false}).close()
    fsyncFile(copy)
    let previous: string | undefined
    if (existing) {
      // a second name for the old store first: the rename below replaces the name at once
      previous = previousName(dataDir, new Date())
      linkSync(storePath(dataDir), previous)
    }
    renameSync(copy, storePath(dataDir))
    fsyncDir(dataDir)
    return done(dataDir, previous)
  } catch (err) {
    throw writeError(`the restore into ${dataDir}`, err)
  } finally {
    uninterrupt()
    rmSync(work, {recursive: true, force: true})
    unlock()
  }
}
