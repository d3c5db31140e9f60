/**
 * Splits the client's byte stream into commands: lines ending in CRLF (a bare LF is accepted),
 * with literals `{n}` (the server answers "+" before the client sends the bytes) and `{n+}`
 * (LITERAL+, sent at once). A literal8 (`~{n}`, `~{n+}`, RFC 3516) is framed the same way, with
 * the same limits: its `~` stays at the end of the text piece, for the parser. A command is handed
 * over as its text pieces with the literal bytes between them, so the parser never has to look
 * for literal markers.
 *
 * Limits are enforced here, before anything is buffered: a line longer than `maxLineLength` ends
 * the command with an error once the line is over (skipped byte by byte, and so are the LITERAL+
 * literals it announces, within `literalLimit`). A literal larger than `literalLimit` (or
 * literals adding up to more than `commandLiteralLimit` in one command) is never read: a synchronizing one is refused at
 * once (no "+" is sent, so the client sends nothing more of that command); a LITERAL+ one is
 * refused at once as well and ends the input (`fatal`): its bytes are coming regardless, and
 * skipping them would let one command keep the connection waiting for as long as the client
 * likes, so the session answers, says BYE and closes (RFC 7888 §4 allows either).
 */

/** a line over maxLineLength, one literal over literalLimit, or a command's literals together over commandLiteralLimit */
export type RefusalReason = 'line-too-long' | 'literal-too-big' | 'command-too-big'

export interface FramingEvents {
  command(parts: (string | Buffer)[]): void
  /** raw mode (IDLE's DONE, AUTHENTICATE responses): one whole line */
  line(text: string): void
  /** the client waits for "+" before sending a synchronizing literal */
  continueLiteral(size: number): void
  /**
   * a command that was dropped: its tag as far as known, and why. `fatal`: nothing after it can
   * be framed (the bytes of a LITERAL+ literal that will not be read follow), the connection must end
   */
  refused(tag: string, reason: RefusalReason, fatal: boolean): void
}

export interface FramingLimits {
  maxLineLength: number
  maxLiteralSize: number
  /** all literals of one command together; maxLiteralSize when absent */
  maxAppendSize?: number
}

const LITERAL_AT_END = /\{(\d{1,20})(\+)?\}$/
/** enough of a skipped line's end to find a literal marker */
const TAIL = 32

export class Framing {
  /** bytes of the current line, not yet ended */
  private pending: Buffer[] = []
  private pendingLength = 0
  /** text pieces and literals of the command being assembled */
  private parts: (string | Buffer)[] = []
  private commandLength = 0
  /** literal bytes of the command so far: many literals in one command count together */
  private commandLiterals = 0
  /**
   * the largest literal (and literal total per command) accepted now; the session keeps it small
   * until login, so an unauthenticated client cannot make us buffer megabytes
   */
  literalLimit: number
  /** the literals of one command together (MULTIAPPEND, CATENATE), kept as small as `literalLimit` until login */
  commandLiteralLimit: number
  /** bytes still expected for the current literal */
  private literalLeft = 0
  private literalChunks: Buffer[] = []
  /** the command is being dropped: skip its bytes to its end, then report it */
  private dropping?: {tag: string; reason: RefusalReason; skipLine: boolean; tail: string}
  /** lines go to `line()` as they are, without command parsing */
  rawLines = false
  /** bumped by reset(): a push() in progress (the chunk that carried STARTTLS) stops there */
  private epoch = 0
  /** after a fatal refusal: the rest of the input is not read */
  private ended = false

  /**
   * `literalsFollow`: every literal's bytes follow its line without a "+" (ManageSieve: RFC 5804 §4
   * has clients send `{n+}` only, and a client that sends `{n}` sends the bytes all the same)
   */
  constructor(
    private readonly limits: FramingLimits,
    private readonly events: FramingEvents,
    private readonly options: {literalsFollow?: boolean} = {},
  ) {
    this.literalLimit = limits.maxLiteralSize
    this.commandLiteralLimit = limits.maxAppendSize ?? limits.maxLiteralSize
  }

  /** Forgets everything buffered (after STARTTLS, the plaintext that came with the command must not be obeyed). */
  reset(): void {
    this.epoch++
    this.pending = []
    this.pendingLength = 0
    this.parts = []
    this.commandLength = 0
    this.commandLiterals = 0
    this.literalLeft = 0
    this.literalChunks = []
    this.dropping = undefined
  }

  push(chunk: Buffer): void {
    if (this.ended) return
    let at = 0
    const epoch = this.epoch
    // a command handed over below may reset us (STARTTLS): the rest of this chunk was sent in the clear and must not be obeyed
    while (at < chunk.length && epoch === this.epoch && !this.ended) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, chunk.length - at)
        if (!this.dropping) this.literalChunks.push(chunk.subarray(at, at + take))
        this.literalLeft -= take
        at += take
        if (this.literalLeft === 0 && !this.dropping) {
          this.parts.push(Buffer.concat(this.literalChunks))
          this.literalChunks = []
        }
        continue
      }
      const lf = chunk.indexOf(0x0a, at)
      const end = lf === -1 ? chunk.length : lf
      if (this.dropping?.skipLine) {
        this.dropping.tail = (this.dropping.tail + chunk.toString('latin1', Math.max(at, end - TAIL), end)).slice(-TAIL)
        at = end + 1
        if (lf !== -1) this.endOfSkippedLine()
        continue
      }
      // the CR of a CRLF does not count against the limit
      if (this.pendingLength + (end - at) > this.limits.maxLineLength + 1) {
        const head = Buffer.concat([...this.pending, chunk.subarray(at, Math.min(end, at + 200))]).toString('latin1')
        const tail = Buffer.concat([...this.pending.slice(-1), chunk.subarray(Math.max(at, end - TAIL), end)]).toString('latin1').slice(-TAIL)
        this.pending = []
        this.pendingLength = 0
        this.dropping = {tag: this.parts.length ? tagFrom(this.parts) : tagFrom([head]), reason: 'line-too-long', skipLine: true, tail}
        at = end + 1
        if (lf !== -1) this.endOfSkippedLine()
        continue
      }
      if (lf === -1) {
        this.pending.push(chunk.subarray(at))
        this.pendingLength += chunk.length - at
        return
      }
      this.pending.push(chunk.subarray(at, end))
      let line = Buffer.concat(this.pending)
      this.pending = []
      this.pendingLength = 0
      at = lf + 1
      if (line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1)
      this.onLine(line.toString('utf8'))
    }
  }

  private onLine(text: string): void {
    if (this.rawLines && !this.parts.length && !this.dropping) {
      this.events.line(text)
      return
    }
    const literal = LITERAL_AT_END.exec(text)
    if (this.dropping) {
      // the rest of a dropped command: follow its LITERAL+ literals so their bytes are not read as
      // commands; at a synchronizing one the client waits for "+", so the command ends here
      if (literal && this.nonSync(literal)) this.skipLiteral(Number(literal[1]))
      else this.endOfDroppedLine()
      return
    }
    this.commandLength += text.length
    if (!literal) {
      this.parts.push(text)
      const parts = this.parts
      this.parts = []
      this.commandLength = 0
      this.commandLiterals = 0
      this.events.command(parts)
      return
    }
    const size = Number(literal[1])
    const nonSync = this.nonSync(literal)
    this.parts.push(text.slice(0, literal.index))
    this.commandLiterals += size
    if (size > this.literalLimit || this.commandLiterals > this.commandLiteralLimit || this.commandLength > this.limits.maxLineLength * 4) {
      const tag = tagFrom(this.parts)
      this.parts = []
      this.commandLength = 0
      this.commandLiterals = 0
      // synchronizing: the client sends nothing more until it hears from us. LITERAL+: the bytes
      // are on their way and will not be read, so nothing after them can be framed
      if (nonSync) this.ended = true
      this.events.refused(tag, size > this.literalLimit ? 'literal-too-big' : 'command-too-big', nonSync)
      return
    }
    this.literalLeft = size
    if (size === 0) this.parts.push(Buffer.alloc(0))
    if (!nonSync) this.events.continueLiteral(size)
  }

  /** The end of a line skipped for its length: a LITERAL+ marker at its end still announces bytes that are not commands. */
  private endOfSkippedLine(): void {
    const dropping = this.dropping!
    dropping.skipLine = false
    // a raw line (a SASL response, IDLE's DONE) announces no literal
    const literal = this.rawLines ? null : LITERAL_AT_END.exec(dropping.tail.replace(/\r$/, ''))
    dropping.tail = ''
    if (literal && this.nonSync(literal)) this.skipLiteral(Number(literal[1]))
    else this.endOfDroppedLine()
  }

  /** the literal's bytes come without waiting for "+" */
  private nonSync(literal: RegExpExecArray): boolean {
    return literal[2] === '+' || this.options.literalsFollow === true
  }

  /** a LITERAL+ literal of a dropped command: skipped within the literal limit, the end of the input beyond it */
  private skipLiteral(size: number): void {
    if (size <= this.literalLimit) {
      this.literalLeft = size
      return
    }
    const {tag, reason} = this.dropping!
    this.dropping = undefined
    this.ended = true
    this.events.refused(tag, reason, true)
  }

  private endOfDroppedLine(): void {
    if (this.literalLeft > 0 || !this.dropping || this.dropping.skipLine) return
    const {tag, reason} = this.dropping
    this.dropping = undefined
    this.parts = []
    this.commandLength = 0
    this.commandLiterals = 0
    this.events.refused(tag, reason, false)
  }
}

function tagFrom(parts: (string | Buffer)[]): string {
  const first = typeof parts[0] === 'string' ? parts[0] : ''
  const m = /^([^\s(){%*"\\\]+]+) /.exec(first)
  return m ? m[1]! : '*'
}
