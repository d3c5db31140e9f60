/**
 * A stored message as POP3 sends it (RFC 1939 §3): CRLF line endings, a `.` doubled at the start
 * of a line, a final CRLF before the terminating `.\r\n`. Its octet count (RFC 1939 §11: the
 * CRLF lines, byte-stuffing and terminator excluded) is `crlfInfo` of src/mime/crlf.ts.
 *
 * Stored mail is almost always CRLF already, so the common case sends the stored bytes untouched:
 * a message known to have no bare LFs costs one native search for "\n." before it goes out.
 */
import {tailOf, type CrlfInfo} from '../mime/crlf.js'
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
