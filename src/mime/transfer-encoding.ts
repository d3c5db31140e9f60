/**
 * Content-Transfer-Encoding removed (RFC 2045 §6), for IMAP BINARY (RFC 3516): base64 and
 * quoted-printable decoded, the identity encodings passed through. Both decoders are one linear
 * pass over the bytes, whatever the input (a malformed `=` escape is kept as it is, as RFC 2045
 * §6.7 suggests; characters outside the base64 alphabet are skipped).
 */

const IDENTITY = new Set(['7bit', '8bit', 'binary', ''])

/** The decoded bytes, or undefined when the encoding is not one this server knows (UNKNOWN-CTE). */
export function decodeTransferEncoding(body: Buffer, encoding: string): Buffer | undefined {
  const cte = encoding.trim().toLowerCase()
  if (IDENTITY.has(cte)) return body
  if (cte === 'base64') return Buffer.from(body.toString('latin1'), 'base64')
  if (cte === 'quoted-printable') return decodeQuotedPrintable(body)
  return undefined
}

const hex = (c: number | undefined): number => {
  if (c === undefined) return -1
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

const isBlank = (c: number | undefined): boolean => c === 0x20 || c === 0x09

export function decodeQuotedPrintable(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length)
  let n = 0
  /** where the run of spaces and tabs not yet known to be trailing started in `out` */
  let blankFrom = -1
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!
    if (c === 0x0d || c === 0x0a) {
      // whitespace at the end of a line was added in transport (RFC 2045 §6.7 rule 3)
      if (blankFrom >= 0) n = blankFrom
      blankFrom = -1
      out[n++] = c
      continue
    }
    if (c === 0x3d) {
      // a soft line break: "=" with optional blanks, then the line end
      let j = i + 1
      while (isBlank(body[j])) j++
      if (body[j] === 0x0d || body[j] === 0x0a || j === body.length) {
        if (body[j] === 0x0d && body[j + 1] === 0x0a) j++
        i = j
        blankFrom = -1
        continue
      }
      const hi = hex(body[i + 1])
      const lo = hex(body[i + 2])
      blankFrom = -1
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo
        i += 2
      } else {
        out[n++] = c
      }
      continue
    }
    if (isBlank(c)) {
      if (blankFrom < 0) blankFrom = n
    } else {
      blankFrom = -1
    }
    out[n++] = c
  }
  if (blankFrom >= 0) n = blankFrom
  return out.subarray(0, n)
}
