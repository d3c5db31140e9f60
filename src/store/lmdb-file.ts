/**
 * Is a file an LMDB data file, whole? Checked from its two meta pages before lmdb-js is let near
 * it: lmdb-js crashes the process (SIGSEGV) on a file that is empty or not LMDB at all, and a file
 * shorter than its last used page (a copy cut off) would fault when that page is read.
 *
 * The layout is lmdb-js's LMDB (64-bit): pages 0 and 1 are meta pages, each a 24-byte page header
 * and then MDB_meta { u32 magic, u32 version, ptr address, u64 mapsize, MDB_db free (its first
 * u32 is the page size), MDB_db main (48 bytes each), u64 last_pg, u64 txnid }. The meta with the
 * higher txnid is the current one.
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'

const MAGIC = 0xbeefc0de
const DATA_VERSION = 2
const META = 24
const OFFSETS = {magic: META, version: META + 4, pageSize: META + 24, lastPage: META + 120, txnid: META + 128}
const MIN_PAGE = 512
const HEADER_READ = 64 * 1024

interface Meta {
  pageSize: number
  lastPage: number
  txnid: bigint
}

function metaAt(buf: Buffer, at: number): Meta | string {
  if (buf.length < at + OFFSETS.txnid + 8) return 'not an LMDB file (too short)'
  if (buf.readUInt32LE(at + OFFSETS.magic) !== MAGIC) return 'not an LMDB file'
  if ((buf.readUInt32LE(at + OFFSETS.version) & 0xffff) !== DATA_VERSION) return 'an LMDB file of another format version'
  return {pageSize: buf.readUInt32LE(at + OFFSETS.pageSize), lastPage: Number(buf.readBigUInt64LE(at + OFFSETS.lastPage)), txnid: buf.readBigUInt64LE(at + OFFSETS.txnid)}
}

/** why `path` is no whole LMDB file, or undefined when it is one */
export function lmdbFileProblem(path: string): string | undefined {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    if (size === 0) return 'the file is empty'
    const buf = Buffer.alloc(Math.min(size, HEADER_READ))
    readSync(fd, buf, 0, buf.length, 0)
    const first = metaAt(buf, 0)
    if (typeof first === 'string') return first
    const {pageSize} = first
    if (pageSize < MIN_PAGE || pageSize > HEADER_READ / 2 || (pageSize & (pageSize - 1)) !== 0) return 'not an LMDB file (no valid page size)'
    const second = metaAt(buf, pageSize)
    if (typeof second === 'string') return second
    const current = second.txnid > first.txnid ? second : first
    const needed = (current.lastPage + 1) * pageSize
    if (size < needed) return `the file is cut off (${size} bytes of ${needed})`
    return undefined
  } finally {
    closeSync(fd)
  }
}
