/**
 * One `serve` per data dir: `serve.pid` holds the owner's pid. It is created atomically
 * (write a temp file, then link it into place, which fails if the name exists). A pid file whose
 * process is gone (after a crash or `kill -9`) is stale and taken over.
 */
import {linkSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {MailboxError} from './errors.js'

export const pidFile = (dataDir: string) => join(dataDir, 'serve.pid')

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function readPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(dataDir), 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Takes the lock or throws `locked`; returns the release function. */
export function acquirePidLock(dataDir: string): () => void {
  const file = pidFile(dataDir)
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, `${process.pid}\n`, {mode: 0o600})
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(temp, file)
        return () => {
          if (readPid(dataDir) === process.pid) unlinkSync(file)
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        const owner = readPid(dataDir)
        if (owner !== undefined && owner !== process.pid && alive(owner)) {
          throw new MailboxError('locked', `another mailbox serve (pid ${owner}) is using ${dataDir}`)
        }
        unlinkSync(file) // stale: its process is gone
      }
    }
    throw new MailboxError('locked', `could not take ${file}`)
  } finally {
    unlinkSync(temp)
  }
}

/**
 * The lock for offline work on a data dir (`store copy`, `restore`): `serve` cannot start meanwhile,
 * and a running one is refused with what to do (`doing`: "stop it before <doing>").
 */
export function lockForOfflineWork(dataDir: string, doing: string): () => void {
  try {
    return acquirePidLock(dataDir)
  } catch (err) {
    if (err instanceof MailboxError && err.code === 'locked') throw new MailboxError('locked', `${err.message}: stop it before ${doing}`)
    throw err
  }
}
