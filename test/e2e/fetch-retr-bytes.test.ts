/**
 * The exact bytes of FETCH and RETR reply streams, pinned: the FETCH and POP3 write paths are tuned
 * for speed (batched writes, no per-message copies), and what goes on the wire must not change with
 * them. The messages go in by IMAP APPEND (stored as sent, no Received line with a time in it) and
 * cover CRLF and bare-LF lines, lines starting with dots, a NUL, 8-bit header text, a multipart with
 * a binary attachment (literal8 under BINARY) and a message bigger than one write batch. Each
 * stream's SHA-256 was taken from the server before that tuning.
 */
import {createHash} from 'node:crypto'
import {connect, type Socket} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {HOST, startImapServer, type ImapServer} from './imap-helpers.js'

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n')
const USER = {address: 'alice@example.test', password: 'alice-pw'}
/** holds messages around the size of FETCH's write batch (256 KiB), where a message is sent one way or another */
const BIG_USER = {address: 'bob@example.test', password: 'bob-pw'}
const BATCH = 256 * 1024
const sized = (n: number, tag: string) => {
  const head = Buffer.from(crlf(`From: f@example.net\nSubject: ${tag}\n\n`))
  const line = Buffer.from('.a line of the body, starting with a dot\r\n')
  const body = Buffer.alloc(n - head.length)
  for (let at = 0; at < body.length; at += line.length) line.copy(body, at)
  body[100] = 0 // a NUL: 0x80 in its place under BODY[]
  return Buffer.concat([head, body])
}
const BIG = [sized(BATCH - 40, 'just under a batch with its head'), sized(BATCH + 5, 'bigger than a batch'), sized(3000, 'small after big'), sized(BATCH * 2 + 1, 'two batches')]

const bytesOf = (i: number, n: number) => Buffer.from(Array.from({length: n}, (_, k) => (k * 7 + i * 13) & 0xff))

const MESSAGES: Buffer[] = [
  Buffer.from(crlf('From: a@example.net\nTo: alice@example.test\nSubject: dots\n\n.first\n..second\n.\nplain\n')),
  // what a Unix tool might hand over: bare LFs, a dot line, no final newline
  Buffer.from('From: b@example.net\nSubject: bare lf\n\nline 1\n.dot\nline 3\r\nline 4'),
  Buffer.concat([Buffer.from(crlf('From: c@example.net\nSubject: nul\n\nbefore ')), Buffer.from([0]), Buffer.from(crlf(' after\n'))]),
  Buffer.from(crlf('From: =?utf-8?q?J=C3=B6rg?= <j@example.net>\nSubject: Grüße aus Köln\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße\n'), 'utf8'),
  Buffer.from(
    crlf(
      [
        'From: d@example.net',
        'Subject: multipart',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b1"',
        '',
        'preamble',
        '--b1',
        'Content-Type: text/plain; charset=us-ascii',
        '',
        'text part',
        '.dotted',
        '--b1',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        '',
        ...(bytesOf(1, 600).toString('base64').match(/.{1,76}/g) ?? []),
        '--b1--',
        '',
      ].join('\n'),
    ),
  ),
  // bigger than one write batch of FETCH (64 KiB), dots at line starts all through
  Buffer.from(crlf(`From: e@example.net\nSubject: big\n\n${Array.from({length: 4000}, (_, i) => (i % 5 === 0 ? `.line ${i} ${'x'.repeat(40)}` : `line ${i} ${'y'.repeat(40)}`)).join('\n')}\n`)),
]

/** a raw client: sends a command and returns every byte up to and including its tagged reply */
class Raw {
  private buf = Buffer.alloc(0)
  private wake?: () => void
  private n = 0
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d])
      this.wake?.()
    })
  }

  static async open(port: number): Promise<Raw> {
    const socket = connect(port, HOST)
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
    const c = new Raw(socket)
    await c.until((b) => b.includes('\r\n'))
    c.buf = Buffer.alloc(0)
    return c
  }

  private async until(done: (b: Buffer) => boolean): Promise<void> {
    while (!done(this.buf)) await new Promise<void>((resolve) => (this.wake = resolve))
  }

  /** `end`: the last line of the reply starts with it (IMAP: the tag; POP3: `.` or `+OK`) */
  async send(line: string | Buffer, end: (tail: string) => boolean): Promise<Buffer> {
    this.socket.write(line)
    await this.until((b) => {
      if (!b.subarray(-2).equals(Buffer.from('\r\n'))) return false
      const start = b.lastIndexOf('\r\n', b.length - 3)
      return end(b.toString('latin1', start < 0 ? 0 : start + 2))
    })
    const out = this.buf
    this.buf = Buffer.alloc(0)
    return out
  }

  async imap(command: string | Buffer): Promise<Buffer> {
    const tag = `Q${++this.n}Z`
    return this.send(Buffer.concat([Buffer.from(`${tag} `), Buffer.from(command), Buffer.from('\r\n')]), (last) => last.startsWith(`${tag} `))
  }

  close(): void {
    this.socket.destroy()
  }
}

const sha = (b: Buffer) => `${b.length} ${createHash('sha256').update(b).digest('hex')}`

let server: ImapServer

beforeAll(async () => {
  server = await startImapServer({users: [USER, BIG_USER], pop3: true})
  for (const [user, messages] of [
    [USER, MESSAGES],
    [BIG_USER, BIG],
  ] as const) {
    const c = await Raw.open(server.ports.imap)
    try {
      expect((await c.imap(`LOGIN ${user.address} ${user.password}`)).toString()).toMatch(/ OK /)
      for (const m of messages) {
        const r = await c.imap(Buffer.concat([Buffer.from(`APPEND INBOX {${m.length}+}\r\n`), m]))
        expect(r.toString('latin1')).toMatch(/ OK /)
      }
    } finally {
      c.close()
    }
  }
})

afterAll(async () => {
  await server?.stop()
})

describe('reply bytes', () => {
  it('FETCH streams are byte for byte what they were', async () => {
    const c = await Raw.open(server.ports.imap)
    try {
      await c.imap(`LOGIN ${USER.address} ${USER.password}`)
      await c.imap('SELECT INBOX')
      const got: Record<string, string> = {}
      for (const command of [
        'FETCH 1:* BODY.PEEK[]',
        'FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[TEXT])',
        'FETCH 1:* (BODY.PEEK[]<5.100> BODY.PEEK[1] BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[TEXT]<0.7> RFC822.HEADER)',
        'FETCH 5 (BINARY.PEEK[2] BINARY.SIZE[2] BODY.PEEK[2.MIME] BINARY.PEEK[1] BODY.PEEK[2]<10.20>)',
        'UID FETCH 1:* (FLAGS BODY[])',
      ])
        got[command] = sha(await c.imap(command))
      expect(got).toEqual(FETCH_PINNED)
    } finally {
      c.close()
    }
  })

  it('BODY[] of messages around the write batch size: each literal whole, NUL as 0x80, in order', async () => {
    const c = await Raw.open(server.ports.imap)
    try {
      await c.imap(`LOGIN ${BIG_USER.address} ${BIG_USER.password}`)
      await c.imap('SELECT INBOX')
      const got = await c.imap('FETCH 1:* (UID BODY.PEEK[])')
      const expected = Buffer.concat([
        ...BIG.flatMap((m, i) => [Buffer.from(`* ${i + 1} FETCH (UID ${i + 1} BODY[] {${m.length}}\r\n`), Buffer.from(m).fill(0x80, 100 + m.indexOf('\r\n\r\n') + 4, 101 + m.indexOf('\r\n\r\n') + 4), Buffer.from(')\r\n')]),
      ])
      expect(got.subarray(0, expected.length).equals(expected)).toBe(true)
      expect(got.subarray(expected.length).toString()).toMatch(/^Q\d+Z OK /)
    } finally {
      c.close()
    }
  })

  it('POP3 RETR and TOP streams are byte for byte what they were', async () => {
    const c = await Raw.open(server.ports.pop3!)
    try {
      const ok = (last: string) => last.startsWith('+OK') || last.startsWith('-ERR')
      await c.send(`USER ${USER.address}\r\n`, ok)
      await c.send(`PASS ${USER.password}\r\n`, ok)
      const got: Record<string, string> = {}
      for (let n = 1; n <= MESSAGES.length; n++) {
        // half of them sent with the sizes STAT learns beforehand (no scan of the bytes), half without
        if (n === 4) await c.send('STAT\r\n', ok)
        got[`RETR ${n}`] = sha(await c.send(`RETR ${n}\r\n`, (last) => last === '.\r\n'))
      }
      got['TOP 5 3'] = sha(await c.send('TOP 5 3\r\n', (last) => last === '.\r\n'))
      expect(got).toEqual(POP3_PINNED)
    } finally {
      c.close()
    }
  })
})

/** length and SHA-256 of each reply stream, from the tagged command through its tagged reply */
const FETCH_PINNED: Record<string, string> = {
  'FETCH 1:* BODY.PEEK[]': '209388 dcccca86e8fdf326d02d6da4dbfe19aa5059e4bed4ceac2ea318b4d3ccf90d11',
  'FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[TEXT])': '209664 410424d621ac4b8eb38e82d6d97707807da08caae96142c9c259fa8fea30b452',
  'FETCH 1:* (BODY.PEEK[]<5.100> BODY.PEEK[1] BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[TEXT]<0.7> RFC822.HEADER)':
    '209821 7eb1e28d32aedb469d17c02ac7a5521fcf1562128f6f663b448898781dcd8ae4',
  'FETCH 5 (BINARY.PEEK[2] BINARY.SIZE[2] BODY.PEEK[2.MIME] BINARY.PEEK[1] BODY.PEEK[2]<10.20>)': '846 9bf271b808d6fbcba0d2ce5a6f10fa6478765c19f475b5aa1d69ca5c20be1946',
  'UID FETCH 1:* (FLAGS BODY[])': '209560 1978a1717f3491b35814c36fc7a7c93a5073ede615b8f282277f45b11d322174',
}

/** length and SHA-256 of each reply, from `+OK` through the terminating `.` line */
const POP3_PINNED: Record<string, string> = {
  'RETR 1': '111 164f803559998d87b14b3d9179737bfbcada4a62be4f00a3789b3e9aa32e994a',
  'RETR 2': '90 20f68b62c2c4906da4f64419337a3e8039be6e31d707e02713db9d4b0b9be4aa',
  'RETR 3': '71 20228b9debda7a125b8e4c3c382df2413f215327a9fb6a99c26ca283a0acfb2d',
  'RETR 4': '177 1c187a023fb750e7144abfb23e4725ac5c0fbe57f1868571c6b448d975375aef',
  'RETR 5': '1124 28d76948274c4913c8664cc2b9cec29bed658d7a35a05de1cc5ac792aae0dd80',
  'RETR 6': '208549 5a2f21f7ca43f49f31bd4f290ad96f3b25a818cf50547994ab709c11eb3161ba',
  'TOP 5 3': '199 0a186b95f438582e21e5a3c98f80331c9b46e8aefa93ef02cfe529dbf29b6942',
}
