/**
 * Regressions for what a review of the IMAP server found: a client before login cannot make the
 * server buffer megabytes (literal limit 8 KiB, and literals of one command count together), a
 * LIST pattern cannot stall the process (no backtracking), expunges held back during FETCH are
 * delivered by the next UID command or IDLE, client text is never echoed so that it breaks the
 * response stream, 8-bit keywords are refused, deep nesting is BAD, and a failed STARTTLS
 * handshake logs no error.
 */
import {connect} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deliver, RawImap, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'

let server: ImapServer
const alice = {address: 'alice@example.test', password: 'alice-pw'}

beforeAll(async () => {
  server = await startImapServer({users: [alice], config: {imap: {maxLiteralSize: 100_000, maxAppendSize: 100_000}}})
  for (const n of [1, 2, 3]) await deliver(server.ports.smtp, alice.address, simpleMessage({subject: `m${n}`}))
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

describe('IMAP hardening', () => {
  it('before login, a literal over 8 KiB is refused (without a "+", or with BYE for LITERAL+); after it, literals of one command add up', async () => {
    const c = await RawImap.open(server.ports.imap)
    c.write('P1 LOGIN {9000}\r\n')
    expect((await c.next()).text).toBe('P1 NO [TOOBIG] Literal is larger than the limit (8192 octets)')
    c.write(`P2 LOGIN {20000+}\r\n${'x'.repeat(20000)} {20000+}\r\n${'y'.repeat(20000)}\r\n`)
    expect((await c.tagged('P2')).tagged).toBe('P2 NO [TOOBIG] Literal is larger than the limit (8192 octets)')
    expect((await c.next()).text).toMatch(/^\* BYE \[TOOBIG\] /)
    await c.closed
    const d = await RawImap.login(server.ports.imap, alice)
    const chunk = 'z'.repeat(60_000)
    d.write(`P3 APPEND INBOX {60000+}\r\n${chunk} {60000+}\r\n${chunk}\r\n`)
    expect((await d.tagged('P3')).tagged).toBe("P3 NO [TOOBIG] The command's literals together are larger than the limit (100000 octets)")
    expect((await d.next()).text).toMatch(/^\* BYE \[TOOBIG\] /)
    await d.closed
  })

  it('a LIST pattern full of wildcards against a long name answers at once', async () => {
    const c = await RawImap.login(server.ports.imap, alice)
    expect((await c.command(`CREATE ${'a'.repeat(200)}`)).status).toBe('OK')
    const r = await c.command('LIST "" "*a*a*a*a*a*a*a*a*a*a*a*a*a*b"', {timeoutMs: 5_000})
    expect(r.status).toBe('OK')
    expect(r.untagged).toEqual([])
    expect((await c.command(`LIST "" "${'x'.repeat(1500)}*"`)).status).toBe('OK')
    await c.logout()
  })

  it('an EXPUNGE held back during FETCH goes out with the next UID command, or at once in IDLE', async () => {
    const a = await RawImap.login(server.ports.imap, alice)
    const b = await RawImap.login(server.ports.imap, alice)
    await a.command('SELECT INBOX')
    await b.command('SELECT INBOX')
    const uids = (await b.command('UID SEARCH ALL')).untagged[0]!.split(' ').slice(2)
    await b.command(`UID STORE ${uids[0]} +FLAGS.SILENT (\\Deleted)`)
    await b.command(`UID EXPUNGE ${uids[0]}`)
    expect((await a.command('FETCH 1:* (FLAGS)')).untagged.some((l) => l.includes('EXPUNGE'))).toBe(false)
    expect((await a.command('UID FETCH 1:* (FLAGS)')).untagged).toContain('* 1 EXPUNGE')

    await b.command(`UID STORE ${uids[1]} +FLAGS.SILENT (\\Deleted)`)
    await b.command(`UID EXPUNGE ${uids[1]}`)
    expect((await a.command('SEARCH ALL')).untagged.some((l) => l.includes('EXPUNGE'))).toBe(false)
    a.writeLine('I1 IDLE')
    const idle = await a.waitFor((text) => text.includes('EXPUNGE'), 2_000)
    expect(idle).toContain('* 1 EXPUNGE')
    a.writeLine('DONE')
    expect((await a.tagged('I1')).status).toBe('OK')
    await a.logout()
    await b.logout()
  })

  it('client text cannot break the response stream; 8-bit keywords and deep nesting are BAD', async () => {
    const c = await RawImap.login(server.ports.imap, alice)
    await c.command('SELECT INBOX')
    c.write('F1 FETCH 1 BODY.PEEK[HEADER.FIELDS ({16+}\r\nX\r\n* BYE injected)]\r\n')
    const injected = await c.tagged('F1')
    expect(injected.status).toBe('BAD')
    expect(injected.untagged).toEqual([])
    // a legal field name with IMAP specials is echoed quoted, so the reply still parses
    const odd = await c.command('FETCH 1 BODY.PEEK[HEADER.FIELDS ("a)]x")]')
    expect(odd.untagged[0]).toMatch(/^\* 1 FETCH \(BODY\[HEADER\.FIELDS \("A\)\]X"\)\] \{2\}\r\n\r\n\)$/)
    expect((await c.command('STORE 1 +FLAGS (caf\u00e9)')).status).toBe('BAD')
    expect((await c.command(`SEARCH ${'('.repeat(5000)}ALL${')'.repeat(5000)}`)).status).toBe('BAD')
    const nots = await c.command(`SEARCH ${'NOT '.repeat(5000)}ALL`)
    expect(nots.status).toBe('BAD')
    expect(nots.text).not.toMatch(/SERVERBUG/)
    expect((await c.command('NOOP')).status).toBe('OK')
    await c.logout()
  })

  it('garbage instead of a TLS handshake after STARTTLS closes the connection and logs no error', async () => {
    const socket = connect(server.ports.imap, '127.0.0.1')
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    socket.resume() // read (and drop) the replies, or 'close' never comes
    socket.write('S1 STARTTLS\r\n')
    await new Promise((r) => setTimeout(r, 200))
    socket.write('this is not a TLS client hello\r\n'.repeat(4))
    await new Promise<void>((resolve) => {
      socket.on('close', () => resolve())
      socket.on('error', () => {})
    })
    await new Promise((r) => setTimeout(r, 100))
    expect(server.served.output()).not.toMatch(/"level":"error"/)
    const c = await RawImap.login(server.ports.imap, alice)
    await c.logout()
  })
})
