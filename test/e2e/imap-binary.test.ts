/**
 * BINARY (RFC 3516) on the wire: FETCH BINARY[part]<partial>, BINARY.PEEK and BINARY.SIZE give
 * a part's content with its transfer encoding removed (base64, quoted-printable), as a literal8
 * `~{n}` exactly when the decoded data holds a NUL; an unknown encoding is `NO [UNKNOWN-CTE]`;
 * APPEND takes a literal8 (synchronizing and LITERAL+) and keeps the bytes as sent; BODY[] never
 * carries a NUL in a plain literal. imapflow's BINARY fetch and literal8 APPEND on top.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectFlow, RawConnections, RawImap, startImapServer, type ImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}

let server: ImapServer
const raw = new RawConnections()

beforeAll(async () => {
  server = await startImapServer()
}, 30_000)

afterAll(() => {
  raw.closeAll()
  return server?.stop()
})

const login = () => raw.login(server.ports.imap, alice)

/** the binary attachment: NULs and high octets */
const BLOB = Buffer.from([0x00, 0x01, 0xff, 0x41, 0x00])

/** text/plain in quoted-printable, an application part in base64, one in x-uuencode */
const MULTIPART = [
  'From: Sender <sender@remote.test>',
  'To: alice@example.test',
  'Subject: binary parts',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Caf=C3=A9 soft=',
  'break, =3D sign  ',
  'end',
  '--b1',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  BLOB.toString('base64'),
  '--b1',
  'Content-Type: application/x-thing',
  'Content-Transfer-Encoding: x-uuencode',
  '',
  'begin 644 x',
  '--b1--',
  '',
].join('\r\n')

const TEXT = Buffer.from('Café softbreak, = sign\r\nend')

describe('FETCH BINARY', () => {
  let c: RawImap
  beforeAll(async () => {
    c = await login()
    expect((await c.command('CREATE Bin')).status).toBe('OK')
    expect((await c.append('Bin', MULTIPART)).status).toBe('OK')
    expect((await c.command('SELECT Bin')).status).toBe('OK')
  })

  it('decodes quoted-printable; BINARY.PEEK and BINARY.SIZE leave \\Seen alone', async () => {
    const r = await c.command('FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])')
    expect(r.status).toBe('OK')
    expect(r.untagged).toEqual([`* 1 FETCH (BINARY[1] {${TEXT.length}}\r\n${TEXT.toString()} BINARY.SIZE[1] ${TEXT.length})`])
    expect(r.responses[0]!.literals[0]).toEqual(TEXT)
    expect((await c.command('FETCH 1 FLAGS')).untagged).toEqual(['* 1 FETCH (FLAGS (\\Recent))'])
  })

  it('decodes base64 and sends data holding a NUL as a literal8', async () => {
    const r = await c.command('FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])')
    expect(r.untagged[0]!.startsWith(`* 1 FETCH (BINARY.SIZE[2] 5 BINARY[2] ~{5}\r\n`)).toBe(true)
    expect(r.responses[0]!.literals[0]).toEqual(BLOB)
  })

  it('a partial range applies to the decoded data; without a NUL in it, a plain literal', async () => {
    const r = await c.command('FETCH 1 BINARY.PEEK[2]<1.3>')
    expect(r.untagged[0]!.startsWith('* 1 FETCH (BINARY[2]<1> {3}\r\n')).toBe(true)
    expect(r.responses[0]!.literals[0]).toEqual(BLOB.subarray(1, 4))
  })

  it('an unknown transfer encoding is NO [UNKNOWN-CTE], for BINARY and BINARY.SIZE', async () => {
    for (const item of ['BINARY.PEEK[3]', 'BINARY.SIZE[3]']) {
      const r = await c.command(`FETCH 1 ${item}`)
      expect(r.status).toBe('NO')
      expect(r.text).toMatch(/^\[UNKNOWN-CTE\] /)
      expect(r.untagged).toEqual([])
    }
  })

  it('BINARY[] is the whole message; a missing part is empty; BINARY without .PEEK sets \\Seen', async () => {
    const whole = await c.command('FETCH 1 BINARY.PEEK[]')
    expect(whole.responses[0]!.literals[0]!.toString()).toBe(MULTIPART)
    expect((await c.command('FETCH 1 BINARY.PEEK[9]')).untagged).toEqual(['* 1 FETCH (BINARY[9] {0}\r\n)'])
    const r = await c.command('FETCH 1 BINARY[1]')
    expect(r.untagged).toEqual([`* 1 FETCH (BINARY[1] {${TEXT.length}}\r\n${TEXT.toString()} FLAGS (\\Seen \\Recent))`])
  })

  it('sections other than part numbers, and BINARY.SIZE with a range, are BAD', async () => {
    for (const item of ['BINARY[1.HEADER]', 'BINARY.PEEK[TEXT]', 'BINARY[0]', 'BINARY.SIZE[1]<0.3>', 'BINARY[1.MIME]']) {
      expect((await c.command(`FETCH 1 ${item}`)).status, item).toBe('BAD')
    }
  })
})

describe('APPEND with a literal8', () => {
  const raw = Buffer.concat([Buffer.from('Subject: nul\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n'), BLOB, Buffer.from('\r\n')])

  it('stores the bytes as sent, synchronizing and LITERAL+; BODY[] replaces NUL', async () => {
    const c = await login()
    expect((await c.command('CREATE BinAppend')).status).toBe('OK')
    c.write(`S1 APPEND BinAppend (\\Seen) ~{${raw.length}}\r\n`)
    expect((await c.next()).text).toMatch(/^\+ /)
    c.write(Buffer.concat([raw, Buffer.from('\r\n')]))
    const sync = await c.tagged('S1')
    expect(sync.tagged).toMatch(/^S1 OK \[APPENDUID \d+ 1\] APPEND completed$/)
    c.write(Buffer.concat([Buffer.from(`S2 APPEND BinAppend ~{${raw.length}+}\r\n`), raw, Buffer.from('\r\n')]))
    expect((await c.tagged('S2')).tagged).toMatch(/^S2 OK \[APPENDUID \d+ 2\] APPEND completed$/)

    expect((await c.command('SELECT BinAppend')).status).toBe('OK')
    for (const n of [1, 2]) {
      const r = await c.command(`FETCH ${n} (RFC822.SIZE BINARY.PEEK[] BINARY.PEEK[1])`)
      expect(r.untagged[0]!.startsWith(`* ${n} FETCH (RFC822.SIZE ${raw.length} BINARY[] ~{${raw.length}}\r\n`)).toBe(true)
      expect(r.responses[0]!.literals).toEqual([raw, Buffer.concat([BLOB, Buffer.from('\r\n')])])
    }
    // a plain literal may not carry NUL (RFC 3501 §4.3): BODY[] sends 0x80 in its place, size unchanged
    const body = await c.command('FETCH 1 BODY.PEEK[]')
    expect(body.untagged[0]!.startsWith(`* 1 FETCH (BODY[] {${raw.length}}\r\n`)).toBe(true)
    expect(body.responses[0]!.literals[0]).toEqual(Buffer.from(raw.map((b) => (b === 0 ? 0x80 : b))))
  })

  it('a literal8 over the literal limit is NO [TOOBIG] and never read', async () => {
    const c = await login()
    c.write('T1 APPEND INBOX ~{999999999999}\r\n')
    const r = await c.tagged('T1')
    expect(r.tagged).toMatch(/^T1 NO \[TOOBIG\] /)
    expect((await c.command('NOOP')).status).toBe('OK')
  })

  it('a "~" that does not announce a literal is BAD, not a literal8', async () => {
    const c = await login()
    expect((await c.command('APPEND INBOX (\\Seen) ~x')).status).toBe('BAD')
  })
})

describe('imapflow', () => {
  it('fetches a part with BINARY and appends a message holding NUL as a literal8', async () => {
    const client = await connectFlow(server, alice)
    try {
      expect(client.capabilities.has('BINARY')).toBe(true)
      const lock = await client.getMailboxLock('Bin')
      try {
        const msg = await client.fetchOne('1', {bodyParts: ['2']}, {binary: true})
        expect(msg && msg.bodyParts?.get('2')).toEqual(BLOB)
      } finally {
        lock.release()
      }
      const raw = Buffer.concat([Buffer.from('Subject: flow\r\n\r\n'), BLOB])
      const appended = await client.append('BinAppend', raw)
      expect(appended && appended.uid).toBeGreaterThan(0)
      await client.mailboxOpen('BinAppend')
      const back = await client.fetchOne(String(appended && appended.uid), {source: true}, {uid: true, binary: true})
      expect(back && back.source?.length).toBe(raw.length)
    } finally {
      await client.logout()
    }
  })
})
