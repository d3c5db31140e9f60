/**
 * Files the single executable carries as SEA assets (native add-ons, blessed's terminal data)
 * but that something needs on disk: `process.dlopen()` only opens a file, blessed reads its
 * terminfo by path. A set of files is written once to a content-addressed directory
 * `<cache dir>/<id>/`, the id being the sha256 of the files (16 hex, computed at build time by
 * asset-id.ts: hashing at each start would cost node:crypto's load), and reused by every later
 * start; the contents are compared with the asset each time, so a damaged or planted file is
 * replaced, not used.
 *
 * The cache dir is the first of these that works (`dlopen` fails on a noexec mount, and the
 * caller then moves on to the next):
 *   1. $MAILBOX_CACHE_DIR
 *   2. $XDG_CACHE_HOME/mailbox, else ~/.cache/mailbox
 *   3. <tmpdir>/mailbox-<uid> (created 0700 and checked to be ours: /tmp is shared)
 */
import {lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

export type FileSet = Record<string, Uint8Array>

export function cacheDirCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = []
  if (env.MAILBOX_CACHE_DIR) dirs.push(env.MAILBOX_CACHE_DIR)
  const home = safeHomedir()
  if (env.XDG_CACHE_HOME) dirs.push(join(env.XDG_CACHE_HOME, 'mailbox'))
  else if (home) dirs.push(join(home, '.cache', 'mailbox'))
  dirs.push(join(tmpdir(), `mailbox-${process.getuid?.() ?? 'user'}`))
  return dirs
}

function safeHomedir(): string | undefined {
  try {
    return homedir() || undefined
  } catch {
    return undefined // no passwd entry and no $HOME (e.g. `env -i` under a bare uid)
  }
}

/** A directory we may write to and trust: ours, not a symlink, not writable by others. */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const st = lstatSync(dir)
  const uid = process.getuid?.()
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not a private directory of this user`)
  }
}

function intact(dir: string, files: FileSet): boolean {
  try {
    return Object.entries(files).every(([name, data]) => readFileSync(join(dir, name)).equals(data))
  } catch {
    return false
  }
}

/**
 * The directory under `base` holding exactly `files`; written when missing or damaged, into a
 * temporary dir renamed into place, so a concurrent start never sees half a file.
 */
export function materialize(base: string, id: string, files: FileSet): string {
  ensurePrivateDir(base)
  const dir = join(base, id)
  if (intact(dir, files)) return dir
  const tmp = `${dir}.${process.pid}.tmp`
  rmSync(tmp, {recursive: true, force: true})
  mkdirSync(tmp, {mode: 0o700})
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(dirname(join(tmp, name)), {recursive: true, mode: 0o700})
    writeFileSync(join(tmp, name), data, {mode: 0o700})
  }
  rmSync(dir, {recursive: true, force: true})
  try {
    renameSync(tmp, dir)
  } catch (err) {
    rmSync(tmp, {recursive: true, force: true})
    if (!intact(dir, files)) throw err // else another start won the race with the same files
  }
  return dir
}

/** Runs `use` on the files materialized in the first cache dir where both steps work. */
export function withMaterialized<T>(what: string, id: string, files: FileSet, use: (dir: string) => T): T {
  const failures: string[] = []
  for (const base of cacheDirCandidates()) {
    try {
      return use(materialize(base, id, files))
    } catch (err) {
      failures.push(`${base}: ${(err as Error).message}`)
    }
  }
  throw new Error(`cannot load ${what} from any cache dir (set MAILBOX_CACHE_DIR to a writable dir on a mount that allows exec):\n  ${failures.join('\n  ')}`)
}

/** Set by the build (asset-id.ts): asset name -> the id of its cache dir. */
declare const MAILBOX_SEA_ASSET_IDS: Record<string, string>

export function assetId(asset: string): string {
  const id = MAILBOX_SEA_ASSET_IDS[asset]
  if (!id) throw new Error(`no id for the SEA asset ${asset}`)
  return id
}
