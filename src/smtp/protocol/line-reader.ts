/**
 * Command lines (RFC 5321 §4.1.1): CRLF-terminated, a bare LF accepted as smtp-server does.
 * Invariant: never more than `maxLine` bytes of one line are kept. A longer line is dropped as it
 * arrives, up to its end, and reported once as TOO_LONG: a client cannot make us buffer an
 * unbounded line.
 */

const LF = 0x0a
const CR = 0x0d

/** what `next` returns for a line over the limit (its bytes are gone) */
export const TOO_LONG = Symbol('line too long')

export class LineReader {
  private pending: Buffer | undefined
  /** dropping the rest of an over-long line until its LF */
  private discarding = false

  constructor(private readonly maxLine: number) {}

  /** bytes buffered and not yet read as lines */
  get buffered(): number {
    return this.pending?.length ?? 0
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk
  }

  /** the next whole line (without its line end), TOO_LONG, or undefined when more input is needed */
  next(): string | typeof TOO_LONG | undefined {
    const buf = this.pending
    if (!buf) return undefined
    const lf = buf.indexOf(LF)
    if (lf === -1) {
      if (buf.length > this.maxLine) {
        this.pending = undefined
        if (this.discarding) return undefined
        this.discarding = true
        return TOO_LONG
      }
      return undefined
    }
    this.pending = lf + 1 < buf.length ? buf.subarray(lf + 1) : undefined
    if (this.discarding) {
      this.discarding = false
      return this.next()
    }
    const end = lf > 0 && buf[lf - 1] === CR ? lf - 1 : lf
    if (end > this.maxLine) return TOO_LONG
    return buf.toString('utf8', 0, end)
  }

  /** everything buffered, for the DATA reader (or to discard), leaving nothing */
  take(): Buffer | undefined {
    const buf = this.pending
    this.pending = undefined
    this.discarding = false
    return buf
  }
}
