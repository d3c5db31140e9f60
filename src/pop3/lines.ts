/**
 * Splits a POP3 client's byte stream into command lines. A line longer than the limit is
 * reported once (`too-long`) as soon as it passes the limit, and the rest of it is skipped as
 * it arrives: memory per connection stays bounded by the limit whatever the client sends.
 */
const LF = 0x0a
const CR = 0x0d

export type Line = {kind: 'line'; text: Buffer} | {kind: 'too-long'}

export class LineSplitter {
  private parts: Buffer[] = []
  private length = 0
  private skipping = false

  /** `max`: bytes of a line, CRLF excluded */
  constructor(private readonly max: number) {}

  push(chunk: Buffer): Line[] {
    const out: Line[] = []
    let start = 0
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start)
      const end = lf === -1 ? chunk.length : lf
      if (!this.skipping) {
        this.parts.push(chunk.subarray(start, end))
        this.length += end - start
        // +1: the CR of the CRLF may be in this piece
        if (this.length > this.max + 1) {
          this.reset()
          this.skipping = true
          out.push({kind: 'too-long'})
        }
      }
      if (lf === -1) break
      if (this.skipping) this.skipping = false
      else out.push(this.take())
      start = lf + 1
    }
    return out
  }

  /** forgets a partial line (after STLS nothing sent in the clear may be used) */
  reset(): void {
    this.parts = []
    this.length = 0
    this.skipping = false
  }

  private take(): Line {
    let text = this.parts.length === 1 ? Buffer.from(this.parts[0]!) : Buffer.concat(this.parts)
    this.parts = []
    this.length = 0
    if (text.length && text[text.length - 1] === CR) text = text.subarray(0, text.length - 1)
    return text.length > this.max ? {kind: 'too-long'} : {kind: 'line', text}
  }
}
