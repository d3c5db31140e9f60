/**
 * Memory under hostile load: many concurrent large DATA transfers must not grow the server's
 * resident memory beyond a bound set by `smtp.maxBufferedBytes`, and every message must still be
 * accepted and stored intact.
 *
 * The bound: the budget of message bytes in memory (B), plus one message over it (the session
 * holding the oldest reservation always proceeds: M = maxMessageSize), each held up to three times
 * around its commit (the received pieces while they are joined, the joined message, LMDB's dirty
 * pages), plus a fixed allowance for the rest (stream buffers, GC slack, LMDB's write buffers):
 *   peak RSS growth < 3 × (B + M) + 96 MiB
 * The test sets B = 32 MiB and M = 17 MiB, so the bound is 243 MiB against 24 × 16 MiB = 384 MiB
 * in flight (the unbounded server grew by more than twice that).
 *
 * Heavier local runs: MEMORY_TEST_SESSIONS (24), MEMORY_TEST_MIB (16, per message) and
 * MEMORY_TEST_BUDGET_MIB (32; the server's default is 128).
 */
import {createHash} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {dirname, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {freePort, startServe, tempDataDir} from '../helpers/cli.js'
import {setupUsers, withStore} from './smtp-helpers.js'
import {mailboxMessagesRange, mailboxKey} from '../../src/store/keys.js'

const MIB = 1024 * 1024
const SESSIONS = Number(process.env.MEMORY_TEST_SESSIONS ?? 24)
const MESSAGE_MIB = Number(process.env.MEMORY_TEST_MIB ?? 16)
const BUDGET = Number(process.env.MEMORY_TEST_BUDGET_MIB ?? 32) * MIB
const MAX_MESSAGE = (MESSAGE_MIB + 1) * MIB
const BOUND = 3 * (BUDGET + MAX_MESSAGE) + 96 * MIB

/** VmRSS of a process, in bytes */
function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for ${pid}`)
  return Number(m[1]) * 1024
}

/** a message body of `size` bytes of 78-octet lines, none starting with a dot */
function body(size: number): Buffer {
  const line = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklm\r\n')
  const out = Buffer.allocUnsafe(size - (size % line.length))
  for (let i = 0; i < out.length; i += line.length) line.copy(out, i)
  return out
}

/** reads SMTP replies off a raw socket, one complete (last) line at a time */
function replies(socket: Socket): () => Promise<string> {
  let buf = ''
  const lines: string[] = []
  const waiting: ((line: string) => void)[] = []
  let closed = false
  socket.setEncoding('latin1')
  socket.on('data', (d: string) => {
    buf += d
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '')
      buf = buf.slice(nl + 1)
      if (/^\d{3}-/.test(line)) continue
      const w = waiting.shift()
      if (w) w(line)
      else lines.push(line)
    }
  })
  socket.on('close', () => {
    closed = true
    for (const w of waiting.splice(0)) w('closed')
  })
  return () => (lines.length ? Promise.resolve(lines.shift()!) : closed ? Promise.resolve('closed') : new Promise((r) => waiting.push(r)))
}

/** an SMTP session over a raw socket, up to the 354 after DATA */
async function openData(port: number): Promise<{socket: Socket; next: () => Promise<string>}> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  const next = replies(socket)
  const expectReply = async (code: string) => {
    const line = await next()
    if (!line.startsWith(code)) throw new Error(`expected ${code}, got ${line}`)
  }
  await expectReply('220')
  for (const [cmd, code] of [['EHLO client.test', '250'], ['MAIL FROM:<sender@example.net>', '250'], ['RCPT TO:<alice@example.com>', '250'], ['DATA', '354']]) {
    socket.write(`${cmd}\r\n`)
    await expectReply(code!)
  }
  return {socket, next}
}

/** writes with backpressure */
async function write(socket: Socket, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; at += 256 * 1024) {
    if (!socket.write(data.subarray(at, at + 256 * 1024))) await new Promise((r) => socket.once('drain', r))
  }
}

/** one SMTP transaction; resolves with the reply to the message */
async function send(port: number, message: Buffer): Promise<string> {
  const {socket, next} = await openData(port)
  try {
    await write(socket, message)
    socket.write('.\r\n')
    return await next()
  } finally {
    socket.end('QUIT\r\n')
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('SMTP memory under load', () => {
  it(`keeps RSS growth under 3 × (budget + max message) + 96 MiB with ${SESSIONS} concurrent ${MESSAGE_MIB} MiB messages`, {timeout: 180_000}, async () => {
    const dataDir = tempDataDir()
    await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
    const config = join(dirname(dataDir), 'mailbox.json')
    writeFileSync(config, JSON.stringify({smtp: {maxBufferedBytes: BUDGET, maxMessageSize: MAX_MESSAGE}}))
    const port = await freePort()
    const served = await startServe(dataDir, ['--smtp-port', String(port), '--config', config])

    const base = body(MESSAGE_MIB * MIB - 4096)
    const messages = Array.from({length: SESSIONS}, (_, i) => Buffer.concat([Buffer.from(`Subject: big ${i}\r\nFrom: sender@example.net\r\n\r\n`), base]))
    // warm up (code paths, the first LMDB pages), then take the baseline
    expect(await send(port, Buffer.from('Subject: warm-up\r\n\r\nhello\r\n'))).toMatch(/^250 /)
    await new Promise((r) => setTimeout(r, 300))
    const baseline = rssOf(served.pid)
    let peak = baseline
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssOf(served.pid))
      } catch {
        // the server is gone: the assertions below say so
      }
    }, 20)
    const started = Date.now()
    let results: string[]
    try {
      results = await Promise.all(messages.map((m) => send(port, m)))
    } finally {
      clearInterval(sampler)
    }
    const seconds = (Date.now() - started) / 1000
    const growth = peak - baseline
    console.log(
      `${SESSIONS} × ${MESSAGE_MIB} MiB in ${seconds.toFixed(1)} s: RSS ${(baseline / MIB).toFixed(0)} → peak ${(peak / MIB).toFixed(0)} MiB, ` +
        `growth ${(growth / MIB).toFixed(0)} MiB (bound ${(BOUND / MIB).toFixed(0)} MiB)`,
    )
    for (const r of results) expect(r).toMatch(/^250 /)

    // every message stored intact: the stored bytes end with what was sent
    const stored = await withStore(dataDir, (store) => {
      const inbox = store.mailboxes.get(mailboxKey('alice@example.com', 'INBOX'))!
      const hashes: string[] = []
      for (const {value} of store.messages.getRange(mailboxMessagesRange(inbox.id))) {
        const raw = store.blobs.get(value.blobId)!
        const subject = /^Subject: (big \d+)\r$/m.exec(raw.subarray(0, 4096).toString('latin1'))
        if (subject) hashes.push(sha256(raw.subarray(raw.indexOf('Subject: big '))))
      }
      return hashes
    })
    expect(stored.sort()).toEqual(messages.map(sha256).sort())
    expect(growth).toBeLessThan(BOUND)
    expect(await served.stop()).toBe(0)
  })

  it('keeps a session it paused for the budget alive past the idle timeout, and answers it once older ones commit', {timeout: 60_000}, async () => {
    const dataDir = tempDataDir()
    await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
    const config = join(dirname(dataDir), 'mailbox.json')
    writeFileSync(config, JSON.stringify({smtp: {maxBufferedBytes: MIB, socketTimeoutMs: 1500}}))
    const port = await freePort()
    const served = await startServe(dataDir, ['--smtp-port', String(port), '--config', config, '--log-level', 'debug'])
    const bigA = Buffer.concat([Buffer.from('Subject: big A\r\n\r\n'), body(2 * MIB)])
    const bigB = Buffer.concat([Buffer.from('Subject: big B\r\n\r\n'), body(2 * MIB)])
    const trickle = Buffer.from('still sending\r\n')

    // A is first: it holds twice the budget and goes on (the oldest is never paused), slowly
    const a = await openData(port)
    await write(a.socket, bigA)
    await new Promise((r) => setTimeout(r, 300))
    // B comes second and is paused; while A trickles on for 4 s (well past the 1.5 s idle
    // timeout) B's client cannot send, and the server must not time B out for it
    const b = await openData(port)
    const bDone = write(b.socket, bigB).then(() => {
      b.socket.write('.\r\n')
      return b.next()
    })
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 400))
      a.socket.write(trickle)
    }
    a.socket.write('.\r\n')
    expect(await a.next()).toMatch(/^250 /)
    expect(await bDone).toMatch(/^250 /)
    a.socket.end('QUIT\r\n')
    b.socket.end('QUIT\r\n')
    expect(served.output()).toContain('message paused for the memory budget')

    const stored = await withStore(dataDir, (store) => {
      const inbox = store.mailboxes.get(mailboxKey('alice@example.com', 'INBOX'))!
      return [...store.messages.getRange(mailboxMessagesRange(inbox.id))].map(({value}) => store.blobs.get(value.blobId)!)
    })
    const trickled = Buffer.concat(Array.from({length: 10}, () => trickle))
    expect(stored.map((raw) => sha256(raw.subarray(raw.indexOf('Subject: big ')))).sort()).toEqual(
      [sha256(Buffer.concat([bigA, trickled])), sha256(bigB)].sort(),
    )
    expect(await served.stop()).toBe(0)
  })
})
