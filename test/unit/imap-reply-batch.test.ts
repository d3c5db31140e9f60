import {describe, expect, it} from 'vitest'
import {ReplyBatch, SPARE_BYTES} from '../../src/imap/reply-batch.js'
import type {Session} from '../../src/imap/session.js'

/** a session that records what is written, whose store holds `blobs` */
function fakeSession(blobs: Record<string, Buffer>) {
  const writes: Buffer[] = []
  let drains = 0
  const session = {
    write: (data: string | Buffer) => void writes.push(Buffer.from(data)),
    drain: async () => void drains++,
    bus: {
      call: async (_: string, {blobId, target, offset}: {blobId: string; target: Buffer; offset: number}) => {
        const bytes = blobs[blobId]!
        if (bytes.length <= target.length - offset) bytes.copy(target, offset)
        return {size: bytes.length}
      },
    },
  }
  return {session: session as unknown as Session, writes, drains: () => drains}
}

const fill = (n: number, c: string) => Buffer.alloc(n, c)

describe('ReplyBatch', () => {
  it('keeps the order of text, literals and stored messages, whatever their sizes', async () => {
    const blobs = {small: fill(10, 's'), fits: fill(60, 'f'), huge: fill(500, 'h')}
    const {session, writes} = fakeSession(blobs)
    const batch = new ReplyBatch(session, 100)
    const expected: Buffer[] = []
    const text = (t: string) => (batch.text(t), expected.push(Buffer.from(t)))
    const bytes = (b: Buffer) => (batch.bytes(b), expected.push(b))
    text('* 1 FETCH (BODY[] {10}\r\n')
    expect(await batch.blob('', 'small', 10)).toBe(true)
    expected.push(blobs.small)
    text(')\r\n* 2 FETCH (X {60}\r\n')
    bytes(fill(60, 'x')) // does not fit after what waits: what waits goes first
    text(')\r\n')
    expect(await batch.blob('* 3 FETCH (BODY[] {60}\r\n', 'fits', 60)).toBe(true)
    expected.push(Buffer.from('* 3 FETCH (BODY[] {60}\r\n'), blobs.fits)
    bytes(fill(300, 'y')) // bigger than a batch: written as it is, after the rest
    text('é'.repeat(80)) // more bytes than characters
    expect(await batch.blob('* 4 FETCH (BODY[] {500}\r\n', 'huge', 500)).toBe(false) // the caller sends it
    text('end\r\n')
    batch.write()
    expect(Buffer.concat(writes)).toEqual(Buffer.concat(expected))
    // what is bigger than a batch went out on its own
    expect(writes.some((w) => w.equals(fill(300, 'y')))).toBe(true)
  })

  it('a stored message of another size than said adds nothing', async () => {
    const {session, writes} = fakeSession({m: fill(20, 'm')})
    const batch = new ReplyBatch(session, 100)
    batch.text('a')
    expect(await batch.blob('head', 'm', 21)).toBe(false)
    batch.text('b')
    batch.write()
    expect(Buffer.concat(writes).toString()).toBe('ab')
  })

  it('the first response goes out at once, later ones in batches of about half the buffer', async () => {
    const {session, writes, drains} = fakeSession({})
    const batch = new ReplyBatch(session, 100)
    const due: boolean[] = []
    for (let i = 0; i < 8; i++) {
      batch.text('0123456789')
      due.push(batch.due)
      if (batch.due) await batch.flush()
    }
    expect(due).toEqual([true, false, false, false, false, true, false, false])
    expect(drains()).toBe(2)
    batch.write()
    expect(Buffer.concat(writes).toString()).toBe('0123456789'.repeat(8))
  })

  it('a batch buffer is filled again only once the socket has let go of it, then from the pool', () => {
    const held: {data: Buffer; release: () => void}[] = []
    const session = {write: (data: Buffer, release: () => void) => void held.push({data, release}), drain: async () => {}} as unknown as Session
    // a size of its own (the pool is by size and shared by every session), above Node's 4 KiB pool slabs
    const size = 8191
    const send = (c: string) => {
      const batch = new ReplyBatch(session, size)
      batch.bytes(fill(50, c))
      batch.write()
      return held[held.length - 1]!
    }
    const first = send('a')
    const second = send('b')
    // still the socket's: a second batch got a buffer of its own, and the first's bytes are intact
    expect(second.data.buffer).not.toBe(first.data.buffer)
    expect(first.data).toEqual(fill(50, 'a'))
    first.release()
    expect(send('c').data.buffer).toBe(first.data.buffer)
  })

  it('the pool keeps at most SPARE_BYTES of buffers of one size', () => {
    const held: {data: Buffer; release: () => void}[] = []
    const session = {write: (data: Buffer, release: () => void) => void held.push({data, release}), drain: async () => {}} as unknown as Session
    // two of this size fit the bound, a third does not
    const size = SPARE_BYTES / 2
    const send = () => {
      const batch = new ReplyBatch(session, size)
      batch.bytes(fill(10, 'x'))
      batch.write()
      return held[held.length - 1]!.data.buffer
    }
    const first = [send(), send(), send()]
    expect(new Set(first).size).toBe(3)
    for (const h of held.splice(0)) h.release()
    // whichever two were kept come back; the third batch needs a new buffer
    const again = [send(), send(), send()]
    expect(again.filter((b) => first.includes(b))).toHaveLength(2)
  })

  it('NULs can be fixed in the copied bytes', async () => {
    const {session, writes} = fakeSession({m: Buffer.from([1, 0, 2, 0])})
    const batch = new ReplyBatch(session, 100)
    expect(await batch.blob('h', 'm', 4, (b) => b.fill(0x80, 1, 2))).toBe(true)
    batch.write()
    expect([...Buffer.concat(writes)]).toEqual([0x68, 1, 0x80, 2, 0])
  })
})
