/**
 * A stored message as POP3 sends it (RFC 1939 §3): CRLF line endings, a `.` doubled at the start
 * of a line, a final CRLF before the terminating `.\r\n`; and the octet count LIST and STAT give
 * for it, which RFC 1939 §11 defines on those CRLF lines (byte-stuffing and terminator excluded).
 *
 * Stored mail is almost always CRLF already, so the common case sends the stored bytes untouched:
 * the first scan of a blob records whether it has bare LFs (kept in `WireCache`), and after that
 * a message without bare LFs costs one native search for "\n." before it goes out.
 */
import {crlfInfo, tailOf, type CrlfInfo} from '../mime/crlf.js'
import {headerEnd} from '../mime/header.js'

const LF = 0x0a
const CR = 0x0d
const DOT = 0x2e
const NL_DOT = Buffer.from('\n.')

/**
 * The bytes to send between the `+OK` line and the terminating `.\r\n`. Returns `raw` itself when
 * nothing needs changing. `info` (from `wireInfo` of the same bytes) lets a blob known to have no
 * bare LF skip the line-by-line scan.
 */
export function toWire(raw: Buffer, info?: CrlfInfo): Buffer {
  const at: number[] = []
  const insert: number[] = []
  if (info && !info.bareLf) {
    if (raw[0] === DOT) at.push(0), insert.push(DOT)
    for (let i = raw.indexOf(NL_DOT); i !== -1; i = raw.indexOf(NL_DOT, i + 2)) at.push(i + 1), insert.push(DOT)
  } else {
    // every line start may need a dot, every LF may need a CR before it; both come in offset order
    let start = 0
    while (start < raw.length) {
      if (raw[start] === DOT) at.push(start), insert.push(DOT)
      const lf = raw.indexOf(LF, start)
      if (lf === -1) break
      if (lf === 0 || raw[lf - 1] !== CR) at.push(lf), insert.push(CR)
      start = lf + 1
    }
  }
  const tail = tailOf(raw)
  if (at.length === 0 && !tail) return raw
  const out = Buffer.allocUnsafe(raw.length + at.length + (tail?.length ?? 0))
  let src = 0
  let dst = 0
  for (let k = 0; k < at.length; k++) {
    dst += raw.copy(out, dst, src, at[k])
    out[dst++] = insert[k]!
    src = at[k]!
  }
  dst += raw.copy(out, dst, src)
  if (tail) tail.copy(out, dst)
  return out
}

/** TOP: the header, the blank line after it, and the first `lines` lines of the body (as stored; `toWire` it). */
export function topOf(raw: Buffer, lines: number): Buffer {
  let end = headerEnd(raw, 0, raw.length)
  for (let n = 0; n < lines && end < raw.length; n++) {
    const lf = raw.indexOf(LF, end)
    end = lf === -1 ? raw.length : lf + 1
  }
  return raw.subarray(0, end)
}

/**
 * `CrlfInfo` by blob id, shared by every session of the server: blobs never change, so a
 * maildrop's sizes are computed once, not at every login. Least recently used entries go first.
 */
export class WireCache {
  private readonly entries = new Map<string, CrlfInfo>()

  constructor(private readonly max = 200_000) {}

  get(blobId: string): CrlfInfo | undefined {
    const info = this.entries.get(blobId)
    if (info) {
      this.entries.delete(blobId)
      this.entries.set(blobId, info)
    }
    return info
  }

  /** the cached info, or computed from `raw` and kept */
  of(blobId: string, raw: Buffer): CrlfInfo {
    const known = this.get(blobId)
    if (known) return known
    const info = crlfInfo(raw)
    this.entries.set(blobId, info)
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!)
    return info
  }
}
