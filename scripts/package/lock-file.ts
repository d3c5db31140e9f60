/**
 * A lock file held by one process at a time, for work that must not run twice at once on a
 * machine: the package build (locate.ts) and the .deb test's system-wide install. The file is
 * created exclusively and holds its holder's pid; a lock whose holder is dead is taken over.
 * Synchronous on purpose: its callers are (a build started from a synchronous helper).
 */
import {closeSync, openSync, readFileSync, rmSync, writeSync} from 'node:fs'

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const holderOf = (path: string): number => {
  try {
    return Number(readFileSync(path, 'utf8')) || 0
  } catch {
    return 0 // released meanwhile
  }
}

/** Waits (checking every 250 ms, at most `timeoutMs`) until `path` is ours; returns its release. */
export function acquireLock(path: string, timeoutMs: number): () => void {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o644)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => rmSync(path, {force: true})
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = holderOf(path)
    // a holder that died without releasing; 0 is a lock being written (or just removed): wait
    if (holder && !alive(holder)) rmSync(path, {force: true})
    else if (Date.now() > deadline) throw new Error(`${path} is held by pid ${holder} for more than ${timeoutMs} ms`)
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250) // a synchronous sleep
  }
}
