/**
 * Making a finished file durable before it takes its final name: the file's bytes (fsync), then,
 * after the rename, the directory entry (fsync of the directory), so a crash leaves either the old
 * name or the new one holding the whole file, never a name holding a part.
 */
import {closeSync, fsyncSync, openSync} from 'node:fs'

function fsyncPath(path: string, flags: string): void {
  const fd = openSync(path, flags)
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export const fsyncFile = (path: string): void => fsyncPath(path, 'r+')

export const fsyncDir = (dir: string): void => fsyncPath(dir, 'r')
