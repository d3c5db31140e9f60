/**
 * The DATA phase's framing (RFC 5321 §4.1.1.4, §4.5.2): the message ends at CRLF "." CRLF, a line
 * that starts with ".." loses its first dot, everything else is content, passed on as subarrays
 * of the chunks it came in (no copies; a chunk is cut only where a stuffing dot is dropped).
 *
 * Strict about the end, as smtp-server is since the SMTP smuggling reports (CVE-2023-51764 class):
 * only CRLF "." CRLF ends the message (and "." CRLF as the very first line). `\n.\n`, `\r\n.\n`
 * and `\n.\r\n` are content, so a message can never end where a downstream MTA with a laxer
 * reader would see an end, and commands hidden behind such a "dot" stay inside the message.
 * A stuffing dot is dropped after a bare LF too (smtp-server does the same); a lone dot followed by
 * anything but "." or CRLF stays content.
 *
 * The patterns may straddle chunk boundaries: `state` says how the content so far ended, and
 * the only bytes ever held back are a dot, or a dot and CR, at a line start (constants, not copies).
 */

const CR = 0x0d
const LF = 0x0a
const DOT = 0x2e
const LF_DOT = Buffer.from('\n.')
const HELD_DOT = Buffer.from('.')
const HELD_DOT_CR = Buffer.from('.\r')

const enum State {
  /** inside a line */
  Line,
  /** inside a line, the last byte CR */
  Cr,
  /** at a line start after CRLF (or at the start of the data): "." CRLF here ends it */
  LineStartCrlf,
  /** at a line start after a bare LF: a dot may be stuffing, never an end */
  LineStartLf,
  /** "." held after CRLF */
  CrlfDot,
  /** "." CR held after CRLF */
  CrlfDotCr,
  /** "." held after a bare LF */
  LfDot,
}

export class DataReader {
  private state = State.LineStartCrlf
  /** content bytes passed on so far */
  bytes = 0

  /** `content` gets the message in pieces (subarrays of the input chunks, valid as long as they are) */
  constructor(private readonly content: (piece: Buffer) => void) {}

  /**
   * Reads one chunk. Returns undefined while the message goes on; at its end, what came after the
   * terminator (possibly empty: pipelined commands).
   */
  feed(chunk: Buffer): Buffer | undefined {
    const len = chunk.length
    let pos = 0
    /** start of the content not yet passed on */
    let start = 0
    let state = this.state
    while (pos < len) {
      switch (state) {
        case State.LineStartCrlf:
        case State.LineStartLf:
          if (chunk[pos] === DOT) {
            this.emit(chunk, start, pos)
            start = pos
            state = state === State.LineStartCrlf ? State.CrlfDot : State.LfDot
            pos++
            // the dot is now "held" at chunk[start]: the cases below emit it or drop it
            continue
          }
          state = State.Line
          continue
        case State.CrlfDot:
        case State.LfDot: {
          const b = chunk[pos]!
          const heldHere = start < pos // the dot is chunk[pos - 1], else it came with the last chunk
          if (b === DOT) {
            // stuffing: the first dot goes, the second is content
            start = pos
            pos++
            state = State.Line
            continue
          }
          if (state === State.CrlfDot && b === CR) {
            if (pos + 1 >= len) {
              this.state = State.CrlfDotCr
              return void this.emit(chunk, start, heldHere ? pos - 1 : start)
            }
            if (chunk[pos + 1] === LF) return this.end(chunk, start, heldHere ? pos - 1 : start, pos + 2)
          }
          // a lone dot: content
          if (!heldHere) this.emitHeld(HELD_DOT)
          state = State.Line
          continue
        }
        case State.CrlfDotCr:
          // only at a chunk's start
          if (chunk[pos] === LF) return this.end(chunk, start, start, pos + 1)
          this.emitHeld(HELD_DOT_CR)
          state = State.Cr
          continue
        case State.Line:
        case State.Cr: {
          const i = chunk.indexOf(LF_DOT, pos)
          if (i === -1) {
            state = tailState(chunk, pos, state)
            pos = len
            continue
          }
          const afterCr = i > pos ? chunk[i - 1] === CR : state === State.Cr
          this.emit(chunk, start, i + 1)
          start = i + 1
          pos = i + 2
          state = afterCr ? State.CrlfDot : State.LfDot
          continue
        }
      }
    }
    this.state = state
    // a held dot stays out of what is passed on until the next chunk decides about it
    const held = state === State.CrlfDot || state === State.LfDot ? 1 : 0
    this.emit(chunk, start, len - held)
    return undefined
  }

  private emit(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return
    this.bytes += to - from
    this.content(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to))
  }

  private emitHeld(bytes: Buffer): void {
    this.bytes += bytes.length
    this.content(bytes)
  }

  private end(chunk: Buffer, start: number, contentEnd: number, after: number): Buffer {
    this.emit(chunk, start, contentEnd)
    this.state = State.LineStartCrlf
    return chunk.subarray(after)
  }
}

/** the state after content chunk[pos..] that holds no "\n." */
function tailState(chunk: Buffer, pos: number, state: State): State {
  const last = chunk[chunk.length - 1]
  if (last === CR) return State.Cr
  if (last !== LF) return State.Line
  const before = chunk.length - 2 >= pos ? chunk[chunk.length - 2] === CR : state === State.Cr
  return before ? State.LineStartCrlf : State.LineStartLf
}
