/**
 * The responses of one long command (FETCH) gathered and written in one piece per batch: one
 * socket write per batch instead of two per message, message bytes copied straight from the store
 * into the batch's buffer (no Buffer per message to allocate and collect), and the client's pace
 * respected by waiting for the socket to drain between batches. Text is gathered as a string and
 * goes into the buffer only ahead of a literal; a literal bigger than a batch goes out as it is,
 * after what was gathered before it.
 *
 * Batch buffers come back to a pool shared by every session once the socket has let go of them
 * (its write callback). A new buffer per batch made ~100 MB of external memory per 100 MB
 * FETCH, and V8 answered with a mark-compact of 4-9 ms right after the command, which stalled the
 * next command's first byte by as much (measured with a GC observer in `serve` under `npm run
 * bench -- imap`).
 */
import type {Session} from './session.js'

/** free batch buffers, by size; of each size at most SPARE_BYTES together (a bound on memory held idle), and at least one */
const spares = new Map<number, Buffer[]>()
export const SPARE_BYTES = 8 * 1024 * 1024

function release(buffer: Buffer): void {
  let free = spares.get(buffer.length)
  if (!free) spares.set(buffer.length, (free = []))
  if (free.length < Math.max(1, Math.floor(SPARE_BYTES / buffer.length))) free.push(buffer)
}

export class ReplyBatch {
  /** made when a literal comes: a FETCH of flags alone never needs one */
  private buffer?: Buffer
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
    return (this.buffer ??= spares.get(this.size)?.pop() ?? Buffer.allocUnsafe(this.size))
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
  }

  /** writes what was gathered; the buffer belongs to the socket until it lets go (then to the pool) */
  write(): void {
    if (this.used) {
      const buffer = this.buf
      this.session.write(buffer.subarray(0, this.used), () => release(buffer))
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
