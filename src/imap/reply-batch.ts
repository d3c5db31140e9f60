/**
 * The responses of one long command (FETCH) gathered and written in one piece per batch: one
 * socket write per batch instead of two per message, message bytes copied straight from the store
 * into the batch's buffer (no Buffer per message to allocate and collect), and the client's pace
 * respected by waiting for the socket to drain between batches. Text is gathered as a string and
 * goes into the buffer only ahead of a literal; a literal bigger than a batch goes out as it is,
 * after what was gathered before it.
 */
import type {Session} from './session.js'

export class ReplyBatch {
  /** made when a literal comes: a FETCH of flags alone never needs one */
  private buffer?: Buffer
  /** the buffer last written, taken back once the socket has sent it all */
  private sent?: Buffer
  private used = 0
  /** text after the buffer's bytes */
  private pending = ''
  /** written once this many bytes wait; the first response goes out at once */
  private threshold = 1

  constructor(
    private readonly session: Session,
    private readonly size: number,
  ) {}

  private get buf(): Buffer {
    return (this.buffer ??= Buffer.allocUnsafe(this.size))
  }

  text(text: string): void {
    this.pending += text
  }

  bytes(bytes: Buffer): void {
    this.settle()
    if (bytes.length > this.size - this.used) this.write()
    if (bytes.length > this.size - this.used) return this.session.write(bytes)
    this.used += bytes.copy(this.buf, this.used)
  }

  /**
   * `head` then a stored message's `size` bytes copied from the store (a message gone throws
   * not-found). False when it cannot be done that way (bigger than a batch, or not `size` bytes
   * after all): nothing was added, and the caller sends it the ordinary way.
   */
  async blob(head: string, blobId: string, size: number, fix?: (bytes: Buffer) => void): Promise<boolean> {
    this.settle()
    const n = Buffer.byteLength(head)
    if (n + size > this.size) return false
    if (n + size > this.size - this.used) this.write()
    const start = this.used
    this.buf.write(head, start)
    const got = (await this.session.bus.call('mailstore.blobInto', {blobId, target: this.buf, offset: start + n})).size
    if (got !== size) return false
    fix?.(this.buf.subarray(start + n, start + n + size))
    this.used = start + n + size
    return true
  }

  /** a batch is full (or it is the first response): time to write it and let the socket drain */
  get due(): boolean {
    return this.used + this.pending.length >= this.threshold
  }

  async flush(): Promise<void> {
    this.threshold = this.size >> 1
    this.write()
    await this.session.drain()
    // nothing waits in the socket: no buffer is held by it any more, the last one can be filled
    // again (a new 256 KiB buffer per batch made 100 MB of garbage per 100 MB sent)
    if (this.session.sentAll && !this.buffer) this.buffer = this.sent
    this.sent = undefined
  }

  /** writes what was gathered; the buffer then belongs to the socket, and the next batch gets a new one */
  write(): void {
    if (this.used) {
      this.session.write(this.buf.subarray(0, this.used))
      this.sent = this.buffer
      this.buffer = undefined
      this.used = 0
    }
    if (this.pending) {
      this.session.write(this.pending)
      this.pending = ''
    }
  }

  /** the pending text into the buffer when it fits (what follows must come after it) */
  private settle(): void {
    if (!this.pending) return
    const n = Buffer.byteLength(this.pending)
    if (n > this.size - this.used) return this.write()
    this.used += this.buf.write(this.pending, this.used)
    this.pending = ''
  }
}
