/**
 * COMPRESS=DEFLATE (RFC 4978): a raw deflate stream (RFC 1951, no zlib header) in each direction
 * between the socket and the session, the way STARTTLS puts a TLS socket between them.
 *
 * Output: responses are written into the deflater, which pipes into the socket (so the socket's
 * backpressure reaches `writableNeedDrain` here, and a big FETCH waits in `Session.drain` as it
 * does uncompressed). The deflater holds bytes back until its window fills, so every response
 * burst ends with a sync flush (`flush()`): the client never waits for bytes we keep.
 *
 * Input: the socket pipes into the inflater; the session reads the inflated bytes and pauses the
 * inflater (not the socket) when it has enough queued, which stops inflation and, through the
 * pipe, reading. So a decompression bomb costs CPU in proportion to what is read but no memory
 * beyond the framing's line and literal limits.
 */
import type {Socket} from 'node:net'
import {constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw} from 'node:zlib'
import {destroyWithin} from '../socket-close.js'

/** zlib's default chunk: what the inflater hands over at a time */
const CHUNK = 16 * 1024

export class Compression {
  readonly deflate: DeflateRaw
  readonly inflate: InflateRaw
  /** bytes were written since the last flush */
  private unflushed = false

  constructor(
    private readonly socket: Socket,
    level: number,
    onInput: (chunk: Buffer) => void,
    onBadInput: (err: Error) => void,
  ) {
    this.deflate = createDeflateRaw({level, chunkSize: CHUNK})
    this.inflate = createInflateRaw({chunkSize: CHUNK})
    this.deflate.pipe(socket)
    // a failing deflater is our bug, not the client's: nothing more can be said on this connection
    this.deflate.on('error', () => socket.destroy())
    socket.pipe(this.inflate)
    this.inflate.on('data', onInput)
    this.inflate.on('error', onBadInput)
    // the socket is gone: so are the streams (a paused deflater would otherwise keep its buffers)
    socket.once('close', () => this.destroy())
  }

  write(data: string | Buffer): void {
    this.unflushed = true
    this.deflate.write(data)
  }

  /** Z_SYNC_FLUSH: everything written so far reaches the socket; nothing at all when nothing was written */
  flush(): void {
    if (!this.unflushed) return
    this.unflushed = false
    this.deflate.flush(constants.Z_SYNC_FLUSH)
  }

  /** the input is not read any more (the session has ended, or it was not valid deflate data) */
  stopInput(): void {
    this.socket.unpipe(this.inflate)
    this.inflate.destroy()
    // still read (and drop) what comes, so the client's close is seen
    this.socket.resume()
  }

  /** Ends the session's output: the deflater finishes, its pipe ends the socket, which is destroyed `lingerMs` after in any case. */
  close(lingerMs: number): void {
    this.stopInput()
    if (this.socket.destroyed) return this.destroy()
    this.deflate.end()
    destroyWithin(this.socket, lingerMs)
  }

  private destroy(): void {
    this.inflate.destroy()
    this.deflate.destroy()
  }
}
