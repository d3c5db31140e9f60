/**
 * The responses of one long command (FETCH) gathered in one buffer and written in one piece when
 * it is full: one socket write per batch instead of two per message, message bytes copied straight
 * from the store into the batch (no Buffer per message to allocate and collect), and the client's
 * pace respected by waiting for the socket to drain between batches. A literal bigger than a batch
 * goes out as it is, after what was gathered before it.
 */
import type {Session} from './session.js'

export class ReplyBatch {
  private buf: Buffer
  private used = 0
  /** flushed (written) once this many bytes wait; the first response goes out at once */
  private threshold = 1

  constructor(
    private readonly session: Session,
    private readonly size: number,
  ) {
    this.buf = Buffer.allocUnsafe(size)
  }

  get room(): number {
    return this.size - this.used
  }

  text(text: string): void {
    const n = Buffer.byteLength(text)
    if (n > this.room) this.write()
    if (n > this.room) return this.session.write(text)
    this.used += this.buf.write(text, this.used)
  }

  bytes(bytes: Buffer): void {
    if (bytes.length > this.room) this.write()
    if (bytes.length > this.room) return this.session.write(bytes)
    this.used += bytes.copy(this.buf, this.used)
  }

  /**
   * `head` then a stored message's `size` bytes copied from the store (undefined: the message is
   * gone). False when it cannot be done that way (bigger than a batch, or not `size` bytes after
   * all): nothing was added, and the caller sends it the ordinary way.
   */
  async blob(head: string, blobId: string, size: number, fix?: (bytes: Buffer) => void): Promise<boolean> {
    const n = Buffer.byteLength(head)
    if (n + size > this.size) return false
    if (n + size > this.room) this.write()
    const start = this.used
    this.buf.write(head, start)
    const got = (await this.session.bus.call('mailstore.blobInto', {blobId, target: this.buf, offset: start + n})).size
    if (got !== size) return false
    fix?.(this.buf.subarray(start + n, start + n + size))
    this.used = start + n + size
    return true
  }

  /** writes what was gathered when a batch is full (or it is the first response), then lets the socket drain */
  async due(): Promise<void> {
    if (this.used < this.threshold) return
    this.threshold = this.size >> 1
    this.write()
    await this.session.drain()
  }

  /** writes what was gathered; the buffer then belongs to the socket, and the next batch gets a new one */
  write(): void {
    if (!this.used) return
    this.session.write(this.buf.subarray(0, this.used))
    this.buf = Buffer.allocUnsafe(this.size)
    this.used = 0
  }
}
