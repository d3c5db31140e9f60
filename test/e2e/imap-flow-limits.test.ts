/**
 * Bad input and limits on a raw connection: unknown and malformed commands (BAD, the session goes
 * on), commands in the wrong state, over-long lines, literals over the limit (synchronizing: NO
 * [TOOBIG] with no "+"; LITERAL+: NO [TOOBIG] at once, then BYE and close; a refused literal
 * whose tag cannot be read: BYE and close — never a wait), wrong passwords and throttling,
 * and invalid UTF-8.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawImap, type ImapServer, quote, simpleMessage, startImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
let server: ImapServer
let throttled: ImapServer
const open: {close(): void}[] = []

beforeAll(async () => {
  ;[server, throttled] = await Promise.all([
    startImapServer({config: {imap: {maxLineLength: 2000, maxLiteralSize: 100_000}, auth: {failureDelayMs: 20}}}),
    startImapServer({config: {auth: {maxFailuresPerAddress: 3, maxFailuresPerUser: 30, failureDelayMs: 20}}}),
  ])
}, 30_000)

afterAll(async () => {
  for (const c of open) c.close()
  await Promise.all([server?.stop(), throttled?.stop()])
})

async function connect(port = server.ports.imap): Promise<RawImap> {
  const c = await RawImap.open(port)
  open.push(c)
  return c
}

async function login(): Promise<RawImap> {
  const c = await RawImap.login(server.ports.imap, alice)
  open.push(c)
  return c
}

async function stillWorks(c: RawImap): Promise<void> {
  const r = await c.command('NOOP')
  expect(r.tagged).toBe(`${r.tag} OK NOOP completed`)
}

describe('bad commands', () => {
  it('an unknown command is BAD and the session continues', async () => {
    const c = await connect()
    const r = await c.command('FROBNICATE 1 2 3')
    expect(r.tagged).toBe(`${r.tag} BAD Unknown command FROBNICATE`)
    expect(r.untagged).toEqual([])
    await stillWorks(c)
    expect((await c.command('UID FROB 1')).status).toBe('BAD')
    await stillWorks(c)
  })

  it('malformed commands are BAD: unbalanced parentheses, bad sequence sets, missing arguments', async () => {
    const c = await connect()
    expect((await c.command('LOGIN')).status).toBe('BAD')
    expect((await c.command(`LOGIN ${quote(alice.address)}`)).status).toBe('BAD')
    expect((await c.command('LOGIN "unterminated')).status).toBe('BAD')
    expect((await c.command(`LOGIN ${quote(alice.address)} ${quote(alice.password)}`)).status).toBe('OK')
    expect((await c.command('SELECT')).status).toBe('BAD')
    expect((await c.command('SELECT INBOX extra')).status).toBe('BAD')
    expect((await c.command('SELECT INBOX')).status).toBe('OK')
    expect((await c.append('INBOX', simpleMessage({subject: 'one'}))).status).toBe('OK')
    const bad = [
      'FETCH 1 (FLAGS',
      'FETCH 1 (FLAGS))',
      'FETCH 1 FLAGS)',
      'FETCH 1:x FLAGS',
      'FETCH x FLAGS',
      'FETCH 0 FLAGS',
      'FETCH 1,,2 FLAGS',
      'FETCH',
      'FETCH 1',
      'FETCH 1 NOSUCHITEM',
      'FETCH 1 BODY[1.FOO]',
      'FETCH 1 BODY[HEADER.FIELDS]',
      'FETCH 1 BODY[0]',
      'STORE 1 FLAGS',
      'STORE 1 +FLAGZ (\\Seen)',
      'STORE 1:x +FLAGS (\\Seen)',
      'SEARCH',
      'SEARCH NOSUCHKEY',
      'SEARCH (FROM x',
      'SEARCH SINCE 32-Foo-2020',
      'UID SEARCH UID 1:x',
      'COPY 1:x Trash',
      'COPY 1',
      'STATUS INBOX',
      'STATUS INBOX (NOSUCH)',
      'STATUS INBOX ()',
      'LIST "" ',
      'CREATE',
      'RENAME INBOX',
      'APPEND',
      'APPEND INBOX',
      'UID EXPUNGE x',
    ]
    for (const cmd of bad) {
      const r = await c.command(cmd)
      expect(r.status, `${cmd} → ${r.tagged}`).toBe('BAD')
      expect(r.untagged, cmd).toEqual([])
    }
    await stillWorks(c)
    expect((await c.command('FETCH 1 (FLAGS)')).untagged).toEqual(['* 1 FETCH (FLAGS (\\Recent))'])
  })

  it('commands in the wrong state are BAD', async () => {
    const c = await connect()
    expect((await c.command('SELECT INBOX')).tagged).toMatch(/^A\d+ BAD SELECT is not valid before login$/)
    expect((await c.command('LIST "" "*"')).status).toBe('BAD')
    expect((await c.command('FETCH 1 FLAGS')).status).toBe('BAD')
    expect((await c.command('IDLE')).status).toBe('BAD')
    expect((await c.command(`LOGIN ${quote(alice.address)} ${quote(alice.password)}`)).status).toBe('OK')
    expect((await c.command('FETCH 1 FLAGS')).tagged).toMatch(/^A\d+ BAD FETCH is not valid without a selected folder$/)
    expect((await c.command('STORE 1 +FLAGS (\\Seen)')).status).toBe('BAD')
    expect((await c.command('EXPUNGE')).status).toBe('BAD')
    expect((await c.command('CLOSE')).status).toBe('BAD')
    expect((await c.command(`LOGIN ${quote(alice.address)} ${quote(alice.password)}`)).status).toBe('BAD')
    expect((await c.command('AUTHENTICATE PLAIN')).status).toBe('BAD')
    expect((await c.command('STARTTLS')).status).toBe('BAD')
    await stillWorks(c)
  })
})

describe('limits (maxLineLength 2000, maxLiteralSize 100000)', () => {
  it('a line over the limit is BAD and the session continues, also when it arrives in pieces', async () => {
    const c = await login()
    const near = await c.command(`LIST "" ${quote('x'.repeat(1900))}`)
    expect(near.status).toBe('OK')
    const r = await c.command(`NOOP ${'x'.repeat(3000)}`)
    expect(r.tagged).toBe(`${r.tag} BAD Command line too long (limit 2000 octets)`)
    await stillWorks(c)

    // in pieces, slowly
    const long = Buffer.from(`L1 LIST "" "${'y'.repeat(5000)}"\r\n`)
    for (let i = 0; i < long.length; i += 1500) {
      c.write(long.subarray(i, i + 1500))
      await new Promise((res) => setTimeout(res, 20))
    }
    const piecewise = await c.tagged('L1')
    expect(piecewise.tagged).toBe('L1 BAD Command line too long (limit 2000 octets)')
    expect(piecewise.untagged).toEqual([])
    await stillWorks(c)
  })

  it('APPEND with a synchronizing literal over the limit: NO [TOOBIG] and no "+"', async () => {
    const c = await login()
    const before = (await c.command('STATUS INBOX (MESSAGES)')).untagged[0]
    c.write('T1 APPEND INBOX {100001}\r\n')
    const answer = await c.next()
    expect(answer.text).toBe('T1 NO [TOOBIG] Literal is larger than the limit (100000 octets)')
    // the client does not send the literal, and the session goes on
    await stillWorks(c)
    expect(c.transcript()).not.toMatch(/^\+/m)

    // exactly the limit is fine (APPENDLIMIT=100000 is announced)
    expect((await c.command('CAPABILITY')).untagged[0]).toMatch(/\bAPPENDLIMIT=100000\b/)
    const head = simpleMessage({subject: 'at the limit', body: ''})
    const body = Buffer.alloc(100_000 - Buffer.byteLength(head), 'a')
    for (let i = 76; i < body.length; i += 78) body.write('\r\n', i - 1)
    const ok = await c.append('INBOX', Buffer.concat([Buffer.from(head), body]))
    expect(ok.status, ok.tagged).toBe('OK')
    expect((await c.command('STATUS INBOX (MESSAGES)')).untagged[0]).not.toBe(before)
  })

  it('APPEND with LITERAL+ over the limit: NO [TOOBIG] at once, then BYE and close; none of the literal runs', async () => {
    const c = await login()
    const before = (await c.command('STATUS INBOX (MESSAGES)')).untagged[0]
    // a literal full of command lines: none of them may be obeyed
    const literal = Buffer.from('Z1 LOGOUT\r\nZ2 DELETE Trash\r\n'.repeat(6000))
    expect(literal.length).toBeGreaterThan(100_000)
    c.write(Buffer.concat([Buffer.from(`T2 APPEND INBOX {${literal.length}+}\r\n`), literal.subarray(0, 50_000)]))
    // the reply does not wait for the rest of the literal
    const r = await c.tagged('T2', 5000)
    expect(r.tagged).toBe('T2 NO [TOOBIG] Literal is larger than the limit (100000 octets)')
    expect((await c.next(5000)).text).toMatch(/^\* BYE \[TOOBIG\] /)
    c.write(literal.subarray(50_000))
    await c.closed
    expect(c.transcript()).not.toMatch(/^Z\d /m)
    expect(c.transcript()).not.toMatch(/^\+/m)
    const d = await login()
    expect((await d.command('STATUS INBOX (MESSAGES)')).untagged[0]).toBe(before)
    expect((await d.command('STATUS Trash (MESSAGES)')).status).toBe('OK')
    // and a LITERAL+ APPEND under the limit works
    expect((await d.append('INBOX', simpleMessage({subject: 'after'}), {nonSync: true})).status).toBe('OK')
  })

  it('LITERAL+ over the pre-login limit (LOGIN): NO [TOOBIG] at once, then BYE and close', async () => {
    const c = await connect()
    c.write('T4 LOGIN {99999+}\r\nalice')
    expect((await c.next(5000)).text).toMatch(/^T4 NO \[TOOBIG\] Literal is larger than the limit \(8192 octets\)$/)
    expect((await c.next(5000)).text).toMatch(/^\* BYE \[TOOBIG\] /)
    await c.closed
  })

  it('a synchronizing literal over the limit whose tag cannot be read: BYE and close, not an untagged NO and a wait', async () => {
    for (const line of ['{99999}', '+tag LOGIN {99999}', '(x) {99999}']) {
      const c = await connect()
      c.write(`${line}\r\n`)
      const r = await c.next(5000)
      expect(r.text, line).toMatch(/^\* BYE \[TOOBIG\] /)
      await c.closed
    }
  })

  it('an oversized literal in another command (LOGIN) is refused the same way', async () => {
    const c = await connect()
    c.write('T3 LOGIN {200000}\r\n')
    expect((await c.next()).text).toMatch(/^T3 NO \[TOOBIG\] /)
    await stillWorks(c)
    expect((await c.command(`LOGIN ${quote(alice.address)} ${quote(alice.password)}`)).status).toBe('OK')
  })
})

describe('invalid UTF-8', () => {
  it('in quoted strings is an error or a no-match, never a crash', async () => {
    const c = await connect()
    const junk = [Buffer.from([0xff, 0xfe]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x82])]
    for (const j of junk) {
      const r = await c.command(Buffer.concat([Buffer.from('LOGIN "'), j, Buffer.from('@example.test" "'), j, Buffer.from('"')]))
      expect(['NO', 'BAD']).toContain(r.status)
    }
    expect((await c.command(`LOGIN ${quote(alice.address)} ${quote(alice.password)}`)).status).toBe('OK')
    for (const j of junk) {
      const q = (cmd: string, after = '') => Buffer.concat([Buffer.from(`${cmd} "`), j, Buffer.from(`"${after}`)])
      for (const cmd of [q('SELECT'), q('CREATE'), q('STATUS', ' (MESSAGES)'), q('LIST ""'), q('DELETE')]) {
        const r = await c.command(cmd)
        expect(r.status).not.toBe(undefined)
        if (r.status === 'OK' && cmd.toString('latin1').startsWith('CREATE')) expect((await c.command(q('DELETE'))).status).toBe('OK')
      }
      expect((await c.command('SELECT INBOX')).status).toBe('OK')
      const s = await c.command(q('SEARCH CHARSET UTF-8 SUBJECT'))
      expect(s.status).toMatch(/OK|NO|BAD/)
      const b = await c.command(q('SEARCH BODY'))
      expect(b.status).toMatch(/OK|NO|BAD/)
      // a raw 8-bit atom too
      expect((await c.command(Buffer.concat([Buffer.from('STORE 1 +FLAGS ('), j, Buffer.from(')')]))).status).toMatch(/OK|NO|BAD/)
    }
    await stillWorks(c)
    // the server is alive for everybody
    const d = await login()
    await stillWorks(d)
    expect(server.served.child.exitCode).toBe(null)
    expect(server.served.output()).not.toMatch(/SERVERBUG|"level":"(error|fatal)"/)
  })
})

describe('authentication failures', () => {
  it('a wrong password is NO [AUTHENTICATIONFAILED]; repeated failures are throttled with NO [UNAVAILABLE]', async () => {
    const c = await connect(throttled.ports.imap)
    const wrong = await c.command(`LOGIN ${quote(alice.address)} "wrong"`)
    expect(wrong.tagged).toBe(`${wrong.tag} NO [AUTHENTICATIONFAILED] Authentication failed`)
    const unknown = await c.command(`LOGIN "nobody@example.test" "x"`)
    expect(unknown.text).toMatch(/^\[AUTHENTICATIONFAILED\] /)
    const codes: string[] = []
    for (let i = 0; i < 6; i++) {
      const r = await c.command(`LOGIN ${quote(alice.address)} "wrong-${i}"`)
      expect(r.status).toBe('NO')
      codes.push(/^\[(\w+)\]/.exec(r.text)![1]!)
      if (codes.at(-1) === 'UNAVAILABLE') break
    }
    expect(codes.at(-1)).toBe('UNAVAILABLE')
    // now even the right password is refused from this address, on any connection
    const right = await c.command(`LOGIN ${quote(alice.address)} ${quote(alice.password)}`)
    expect(right.tagged).toBe(`${right.tag} NO [UNAVAILABLE] Too many failed logins; try again later`)
    const d = await connect(throttled.ports.imap)
    expect((await d.command(`AUTHENTICATE PLAIN ${Buffer.from(`\0${alice.address}\0${alice.password}`).toString('base64')}`)).text).toMatch(/^\[UNAVAILABLE\] /)
    await stillWorks(c)
  })
})
