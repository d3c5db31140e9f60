/**
 * A file written in full beside its destination and moved into place only when the caller says
 * so: `mailbox init` stages its config and unit, commits the store, then renames both, so a
 * failure before that leaves no file of it behind. fsync runs on libuv's pool, never blocking.
 */
import {open, rename, rm} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {MailboxError} from '../errors.js'

export interface StagedFile {
  /** the staged copy: complete, flushed to disk */
  readonly tempPath: string
  readonly path: string
  /** renames it into place (atomic within a file system) and makes the rename durable */
  commit(): Promise<void>
  /** removes the staged copy (after a failure); never throws */
  discard(): Promise<void>
}

export async function stageFile(path: string, text: string, mode = 0o644): Promise<StagedFile> {
  const dir = dirname(path)
  const tempPath = join(dir, `.${basename(path)}.${process.pid}.tmp`)
  try {
    const file = await open(tempPath, 'w', mode)
    try {
      await file.writeFile(text)
      await file.sync()
    } finally {
      await file.close()
    }
  } catch (err) {
    await rm(tempPath, {force: true})
    throw new MailboxError('unavailable', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return {
    tempPath,
    path,
    async commit() {
      await rename(tempPath, path)
      const handle = await open(dir, 'r')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
    },
    discard: () => rm(tempPath, {force: true}).catch(() => undefined),
  }
}
