/**
 * COMPRESS=DEFLATE (RFC 4978) on the wire: the exact replies (OK, NO [COMPRESSIONACTIVE], BAD
 * before login and for an unknown mechanism), a session that goes on compressed (SELECT, FETCH,
 * APPEND with a literal, LOGOUT), COMPRESS under STARTTLS, IDLE pushes that arrive at once (the
 * server flushes its deflater), a decompression bomb held to the line limit, a big FETCH read
 * slowly, Thunderbird's command pattern, imapflow (it negotiates COMPRESS by itself) and Python's
 * imaplib through a small deflate shim.
 */
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {IN_CI, onPath} from '../helpers/ci.js'
import {connectFlow, deliver, RawConnections, type ImapServer, simpleMessage, startImapServer} from './imap-helpers.js'
import {python} from './imap-sync-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
const bob = {address: 'bob@example.test', password: 'bob-pw'}
/** small enough that the bomb below is many times over it */
const MAX_LINE = 16 * 1024

let server: ImapServer
const raw = new RawConnections()

beforeAll(async () => {
  server = await startImapServer({config: {imap: {maxLineLength: MAX_LINE}}})
}, 30_000)

afterAll(async () => {
  raw.closeAll()
  await server?.stop()
})

const login = (user = alice) => raw.login(server.ports.imap, user)

const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.served.pid}/status`, 'utf8'))![1])

describe('COMPRESS DEFLATE, raw', () => {
  it('is advertised after login, answers the RFC 4978 example, and the session goes on compressed', async () => {
    const c = await login()
    expect((await c.command('CAPABILITY')).untagged[0]).toMatch(/ COMPRESS=DEFLATE\b/)
    const r = await c.compress()
    expect(r.tagged).toBe(`${r.tag} OK DEFLATE active`)
    const wireBefore = c.wireBytes
    const sel = await c.command('SELECT INBOX')
    expect(sel.status).toBe('OK')
    const big = `${'All work and no play makes Jack a dull boy. '.repeat(2000)}\r\n`
    const app = await c.append('INBOX', simpleMessage({subject: 'compressed append', body: big}))
    expect(app.tagged).toMatch(/OK \[APPENDUID \d+ \d+\]/)
    const f = await c.command('UID FETCH 1:* (BODY.PEEK[TEXT])')
    expect(f.status).toBe('OK')
    expect(f.responses.at(-1)!.literals[0]!.toString()).toBe(`${big}\r\n`)
    // the text came compressed: far fewer bytes on the wire than it has
    expect(c.wireBytes - wireBefore).toBeLessThan(big.length / 10)
    // RFC 4978 §3: a second COMPRESS while one is active
    const again = await c.command('COMPRESS DEFLATE')
    expect(again.tagged).toBe(`${again.tag} NO [COMPRESSIONACTIVE] DEFLATE is already active`)
    const out = await c.command('LOGOUT')
    expect(out.untagged).toEqual(['* BYE Logging out'])
    expect(out.status).toBe('OK')
    await c.closed
  })

  it('is BAD before login and for an unknown mechanism; a refused COMPRESS leaves the session uncompressed', async () => {
    const c = await raw.open(server.ports.imap)
    expect(c.greeting).not.toMatch(/COMPRESS/)
    const pre = await c.command('COMPRESS DEFLATE')
    expect(pre.status).toBe('BAD')
    expect((await c.command(`LOGIN ${alice.address} ${alice.password}`)).status).toBe('OK')
    const unknown = await c.command('COMPRESS LZW')
    expect(unknown.tagged).toBe(`${unknown.tag} BAD Unknown compression mechanism LZW`)
    expect((await c.command('COMPRESS')).status).toBe('BAD')
    expect((await c.command('NOOP')).status).toBe('OK')
    await c.logout()
  })

  it('does not obey plaintext a client sent after COMPRESS without waiting for the OK', async () => {
    const c = await login()
    c.write('P1 COMPRESS DEFLATE\r\nP2 LOGOUT\r\n')
    expect((await c.tagged('P1')).tagged).toBe('P1 OK DEFLATE active')
    c.startDeflate()
    const r = await c.command('NOOP')
    expect(r.untagged).toEqual([])
    expect(r.status).toBe('OK')
    expect(c.transcript()).not.toMatch(/P2|BYE/)
    await c.logout()
  })

  it('works under STARTTLS', async () => {
    const c = await raw.open(server.ports.imap)
    expect((await c.starttls()).status).toBe('OK')
    expect((await c.command(`LOGIN ${alice.address} ${alice.password}`)).status).toBe('OK')
    expect((await c.compress()).status).toBe('OK')
    expect((await c.command('LIST "" INBOX')).untagged).toEqual(['* LIST (\\HasNoChildren) "/" "INBOX"'])
    await c.logout()
  })

  it('pushes IDLE updates at once (the deflater is flushed, not left holding them)', async () => {
    const c = await login(bob)
    expect((await c.compress()).status).toBe('OK')
    const sel = await c.command('SELECT INBOX')
    const before = Number(/^\* (\d+) EXISTS/.exec(sel.untagged.find((l) => l.endsWith('EXISTS'))!)![1])
    c.writeLine('I1 IDLE')
    expect((await c.next()).text).toBe('+ idling')
    const other = await login(bob)
    expect((await other.append('INBOX', simpleMessage({to: bob.address, subject: 'during idle'}))).status).toBe('OK')
    expect((await c.waitFor(/EXISTS$/, 8000)).at(-1)).toBe(`* ${before + 1} EXISTS`)
    c.writeLine('DONE')
    expect((await c.tagged('I1')).status).toBe('OK')
    await c.logout()
  })

  it('a decompression bomb is read through within the line limit: BAD, and the session goes on', async () => {
    const c = await login()
    expect((await c.compress()).status).toBe('OK')
    const rssBefore = rssKb()
    // 128 MiB of one letter without a line end, about 125 KB deflated
    const sentBefore = c.wireBytesSent
    const mib = Buffer.alloc(1024 * 1024, 'a')
    c.write('B1 NOOP ', {flush: false})
    for (let i = 0; i < 128; i++) c.write(mib, {flush: false})
    c.write('\r\n')
    const r = await c.tagged('B1', 60_000)
    expect(r.tagged).toBe(`B1 BAD Command line too long (limit ${MAX_LINE} octets)`)
    expect(c.wireBytesSent - sentBefore).toBeLessThan(1024 * 1024)
    // nothing of it was kept: holding the inflated bytes would cost at least 128 MiB (the bound
    // leaves room for a garbage collector that lags on a loaded machine: 49 MiB was seen in CI)
    expect(rssKb() - rssBefore).toBeLessThan(96 * 1024)
    expect((await c.command('NOOP')).status).toBe('OK')
    await c.logout()
  }, 90_000)

  it('sends a big FETCH to a client that reads slowly (the deflater waits for the socket)', async () => {
    const c = await login()
    expect((await c.command('CREATE Slow')).status).toBe('OK')
    // incompressible bodies: the compressed reply is as big as the plain one
    const bodies = Array.from({length: 4}, () => randomBytes(768 * 1024).toString('base64').replace(/.{76}/g, '$&\r\n'))
    for (const body of bodies) expect((await c.append('Slow', simpleMessage({subject: 'slow', body}), {nonSync: true})).status).toBe('OK')
    expect((await c.compress()).status).toBe('OK')
    expect((await c.command('SELECT Slow')).status).toBe('OK')
    c.pause()
    c.writeLine('F1 FETCH 1:* BODY.PEEK[TEXT]')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    c.resume()
    const f = await c.tagged('F1', 30_000)
    expect(f.status).toBe('OK')
    expect(f.responses.map((r) => r.literals[0]!.toString())).toEqual(bodies.map((b) => `${b}\r\n`))
    // base64 of random bytes deflates to about 3/4 of its size, no further
    expect(c.wireBytes).toBeGreaterThan(0.7 * bodies.join('').length)
    await c.logout()
  }, 60_000)

  it("Thunderbird's pattern: CAPABILITY, LOGIN, COMPRESS right away, then everything compressed", async () => {
    const c = await raw.open(server.ports.imap)
    expect((await c.command('CAPABILITY')).status).toBe('OK')
    const li = await c.command(`login "${alice.address}" "${alice.password}"`)
    expect(li.tagged).toMatch(/OK \[CAPABILITY [^\]]* COMPRESS=DEFLATE[ \]]/)
    expect((await c.compress()).status).toBe('OK')
    for (const cmd of ['ID ("name" "Thunderbird" "version" "128.0")', 'ENABLE CONDSTORE', 'NAMESPACE', 'LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)', 'SELECT "INBOX" (CONDSTORE)', 'UID fetch 1:* (FLAGS)', 'getquotaroot "INBOX"'.replace(/.*/, 'NOOP')]) {
      const r = await c.command(cmd)
      expect(r.status, `${cmd}: ${r.tagged}`).toBe('OK')
    }
    c.writeLine('T9 IDLE')
    expect((await c.next()).text).toBe('+ idling')
    c.writeLine('DONE')
    expect((await c.tagged('T9')).status).toBe('OK')
    await c.logout()
  })
})

describe('COMPRESS DEFLATE, clients', () => {
  it('imapflow negotiates it by itself and works through it (fetch, append, IDLE)', async () => {
    const client = await connectFlow(server, alice)
    try {
      expect(client.capabilities.has('COMPRESS=DEFLATE')).toBe(true)
      expect((client as unknown as {_deflate?: unknown})._deflate).toBeTruthy()
      const lock = await client.getMailboxLock('INBOX')
      try {
        const appended = await client.append('INBOX', simpleMessage({subject: 'via imapflow compressed'}))
        expect(appended && typeof appended === 'object' && appended.uid).toBeGreaterThan(0)
        const msg = await client.fetchOne(String((appended as {uid: number}).uid), {envelope: true, source: true}, {uid: true})
        expect(msg && msg.envelope?.subject).toBe('via imapflow compressed')
        const exists = new Promise<number>((resolve) => client.on('exists', (e: {count: number}) => resolve(e.count)))
        const idling = client.idle()
        await deliver(server.ports.smtp, alice.address, simpleMessage({subject: 'idle push'}))
        const count = await Promise.race([exists, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('no EXISTS during IDLE')), 8000))])
        expect(count).toBeGreaterThan(1)
        void idling
      } finally {
        lock.release()
      }
    } finally {
      await client.logout().catch(() => client.close())
    }
  })

  it.skipIf(!IN_CI && !onPath('python3'))('Python imaplib through a deflate shim', async () => {
    const out = await python<{compress: string[]; select: string; subjects: string[]; logout: string}>(PY_COMPRESS, [server.ports.imap, alice.address, alice.password])
    expect(out.compress).toEqual(['OK', 'DEFLATE active'])
    expect(Number(out.select)).toBeGreaterThan(0)
    expect(out.subjects.length).toBe(Number(out.select))
    expect(out.logout).toBe('BYE')
  })
})

/** argv: port user password. imaplib has no COMPRESS; the subclass deflates what it sends and inflates what it reads once the OK came */
const PY_COMPRESS = String.raw`
import imaplib, json, sys, zlib
PORT, USER, PASS = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class Deflated(imaplib.IMAP4):
    z = None
    def compress(self):
        typ, data = self._simple_command('COMPRESS', 'DEFLATE')
        if typ == 'OK':
            self.z = zlib.compressobj(6, zlib.DEFLATED, -15)
            self.unz = zlib.decompressobj(-15)
            self.inbuf = b''
        return [typ, data[0].decode()]
    def send(self, data):
        if self.z:
            data = self.z.compress(data) + self.z.flush(zlib.Z_SYNC_FLUSH)
        super().send(data)
    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise self.abort('socket closed')
        self.inbuf += self.unz.decompress(chunk)
    def read(self, size):
        if not self.z:
            return super().read(size)
        while len(self.inbuf) < size:
            self._more()
        out, self.inbuf = self.inbuf[:size], self.inbuf[size:]
        return out
    def readline(self):
        if not self.z:
            return super().readline()
        while b'\n' not in self.inbuf:
            self._more()
        i = self.inbuf.index(b'\n') + 1
        out, self.inbuf = self.inbuf[:i], self.inbuf[i:]
        return out

imaplib.Commands.setdefault('COMPRESS', ('AUTH', 'SELECTED'))
M = Deflated('127.0.0.1', PORT, timeout=15)
M.login(USER, PASS)
out = {'compress': M.compress()}
typ, data = M.select('INBOX', readonly=True)
out['select'] = data[0].decode()
typ, data = M.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
out['subjects'] = [item[1].decode().strip() for item in data if isinstance(item, tuple)]
out['logout'] = M.logout()[0]
print(json.dumps(out))
`
