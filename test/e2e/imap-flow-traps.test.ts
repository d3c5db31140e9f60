/**
 * Regression tests for client traps, on the wire: no `* 0 EXISTS` after an expunge empties the
 * folder, the exact UIDPLUS answers, AUTHENTICATE LOGIN/PLAIN variants, LOGINDISABLED before
 * STARTTLS, IMAPS, and users isolated from each other's folders whatever the name looks like.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {connectFlow, deliver, RawImap, type ImapServer, quote, simpleMessage, startImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
const bob = {address: 'bob@example.test', password: 'bob-pw'}
const b64 = (s: string) => Buffer.from(s).toString('base64')

let server: ImapServer
let strict: ImapServer
const open: {close(): void}[] = []

beforeAll(async () => {
  ;[server, strict] = await Promise.all([startImapServer(), startImapServer({insecureAuth: false})])
}, 30_000)

afterAll(async () => {
  for (const c of open) c.close()
  await Promise.all([server?.stop(), strict?.stop()])
})

async function login(user = alice, port = server.ports.imap): Promise<RawImap> {
  const c = await RawImap.login(port, user)
  open.push(c)
  return c
}

async function connect(port: number, tls = false): Promise<RawImap> {
  const c = await RawImap.open(port, {tls})
  open.push(c)
  return c
}

const uidOf = (text: string) => Number(/\[APPENDUID \d+ (\d+)\]/.exec(text)![1])

describe('no "* 0 EXISTS" after an expunge empties the folder', () => {
  it('holds for the expunging session (EXPUNGE, NOOP, IDLE) and for another session', async () => {
    const a = await login()
    const b = await login()
    expect((await a.command('CREATE Emptied')).status).toBe('OK')
    for (let i = 0; i < 2; i++) expect((await a.append('Emptied', simpleMessage({subject: `e${i}`}))).status).toBe('OK')
    expect((await a.command('SELECT Emptied')).untagged).toContain('* 2 EXISTS')
    expect((await b.command('SELECT Emptied')).untagged).toContain('* 2 EXISTS')
    const aFrom = a.transcriptBytes().length
    const bFrom = b.transcriptBytes().length

    expect((await a.command('STORE 1:* +FLAGS.SILENT (\\Deleted)')).status).toBe('OK')
    const ex = await a.command('EXPUNGE')
    expect(ex.untagged).toEqual(['* 1 EXPUNGE', '* 1 EXPUNGE'])
    expect((await a.command('NOOP')).untagged).toEqual([])
    a.writeLine('I1 IDLE')
    expect((await a.next()).text).toBe('+ idling')
    // something happens in the folder during IDLE: a message arrives and is expunged again
    const added = await b.append('Emptied', simpleMessage({subject: 'blip'}))
    expect(added.status).toBe('OK')
    expect(await a.waitFor(/EXISTS/, 2000)).toEqual(['* 1 EXISTS'])
    expect((await b.command(`UID STORE ${uidOf(added.text)} +FLAGS.SILENT (\\Deleted)`)).status).toBe('OK')
    expect((await b.command(`UID EXPUNGE ${uidOf(added.text)}`)).status).toBe('OK')
    expect((await a.waitFor(/EXPUNGE/, 2000)).at(-1)).toBe('* 1 EXPUNGE')
    await new Promise((r) => setTimeout(r, 200))
    a.writeLine('DONE')
    expect((await a.tagged('I1')).status).toBe('OK')
    expect((await a.command('NOOP')).status).toBe('OK')
    expect((await b.command('NOOP')).status).toBe('OK')
    expect((await a.command('CHECK')).status).toBe('OK')

    const aRest = a.transcriptBytes().subarray(aFrom).toString('latin1')
    const bRest = b.transcriptBytes().subarray(bFrom).toString('latin1')
    expect(aRest).toContain('* 1 EXPUNGE')
    expect(bRest).toContain('* 1 EXPUNGE')
    expect(aRest).not.toMatch(/\* 0 EXISTS/)
    expect(bRest).not.toMatch(/\* 0 EXISTS/)
    // SELECT of the empty folder must say 0 EXISTS, that is where it belongs
    expect((await a.command('SELECT Emptied')).untagged).toContain('* 0 EXISTS')
  })
})

describe('UIDPLUS', () => {
  it('APPEND answers [APPENDUID uidvalidity uid]', async () => {
    const c = await login()
    expect((await c.command('CREATE Plus')).status).toBe('OK')
    const st = await c.command('STATUS Plus (UIDVALIDITY UIDNEXT)')
    const [, v, next] = /UIDVALIDITY (\d+) UIDNEXT (\d+)/.exec(st.untagged[0]!)!.map(Number) as [number, number, number]
    const r = await c.append('Plus', simpleMessage({subject: 'p1'}))
    expect(r.tagged).toBe(`${r.tag} OK [APPENDUID ${v} ${next}] APPEND completed`)
    const r2 = await c.append('Plus', simpleMessage({subject: 'p2'}), {args: '(\\Seen) "01-Feb-2021 10:00:00 +0100"', nonSync: true})
    expect(r2.tagged).toBe(`${r2.tag} OK [APPENDUID ${v} ${next + 1}] APPEND completed`)
    const r3 = await c.append('Plus', simpleMessage({subject: 'p3'}))
    expect(r3.text).toBe(`[APPENDUID ${v} ${next + 2}] APPEND completed`)
  })

  it('COPY answers [COPYUID v src dst] tagged; MOVE untagged, before its EXPUNGEs', async () => {
    const c = await login()
    const dst = await c.command('STATUS Archive (UIDVALIDITY UIDNEXT)')
    const [, v, next] = /UIDVALIDITY (\d+) UIDNEXT (\d+)/.exec(dst.untagged[0]!)!.map(Number) as [number, number, number]
    expect((await c.command('SELECT Plus')).status).toBe('OK')
    const copy = await c.command('COPY 1:3 Archive')
    expect(copy.untagged).toEqual([])
    expect(copy.text).toBe(`[COPYUID ${v} 1:3 ${next}:${next + 2}] COPY completed`)
    const uidCopy = await c.command('UID COPY 1,3 Archive')
    expect(uidCopy.text).toBe(`[COPYUID ${v} 1,3 ${next + 3}:${next + 4}] UID COPY completed`)

    const move = await c.command('UID MOVE 2:3 Archive')
    expect(move.status).toBe('OK')
    expect(move.untagged).toEqual([`* OK [COPYUID ${v} 2:3 ${next + 5}:${next + 6}] Moved`, '* 2 EXPUNGE', '* 2 EXPUNGE'])
    expect(move.tagged).toMatch(/^A\d+ OK /)
    // a copy to nowhere: TRYCREATE
    expect((await c.command('COPY 1 "No Such Folder"')).text).toMatch(/^\[TRYCREATE\] /)
  })
})

describe('AUTHENTICATE', () => {
  it('LOGIN with an initial response: the server asks only for the password', async () => {
    const c = await connect(server.ports.imap)
    c.writeLine(`L1 AUTHENTICATE LOGIN ${b64(alice.address)}`)
    const cont = await c.next()
    expect(cont.raw.toString('latin1')).toBe('+ UGFzc3dvcmQ6\r\n')
    c.writeLine(b64(alice.password))
    const done = await c.tagged('L1')
    expect(done.status).toBe('OK')
    expect(done.text).toMatch(/^\[CAPABILITY IMAP4rev1 [^\]]*\] Logged in$/)
    expect((await c.command('SELECT INBOX')).status).toBe('OK')
  })

  it('LOGIN without an initial response asks for the user name, then the password', async () => {
    const c = await connect(server.ports.imap)
    c.writeLine('L1 AUTHENTICATE LOGIN')
    expect((await c.next()).raw.toString('latin1')).toBe('+ VXNlcm5hbWU6\r\n')
    c.writeLine(b64(alice.address))
    expect((await c.next()).raw.toString('latin1')).toBe('+ UGFzc3dvcmQ6\r\n')
    c.writeLine(b64(alice.password))
    expect((await c.tagged('L1')).status).toBe('OK')
  })

  it('PLAIN with SASL-IR, and without (empty continuation "+ ")', async () => {
    const ir = await connect(server.ports.imap)
    const r = await ir.command(`AUTHENTICATE PLAIN ${b64(`\0${alice.address}\0${alice.password}`)}`)
    expect(r.untagged).toEqual([])
    expect(r.status).toBe('OK')

    const c = await connect(server.ports.imap)
    c.writeLine('P1 AUTHENTICATE PLAIN')
    expect((await c.next()).raw.toString('latin1')).toBe('+ \r\n')
    c.writeLine(b64(`\0${bob.address}\0${bob.password}`))
    expect((await c.tagged('P1')).status).toBe('OK')

    // wrong password, cancel, and garbage
    const w = await connect(server.ports.imap)
    expect((await w.command(`AUTHENTICATE PLAIN ${b64(`\0${alice.address}\0nope`)}`)).text).toMatch(/^\[AUTHENTICATIONFAILED\] /)
    w.writeLine('P2 AUTHENTICATE PLAIN')
    expect((await w.next()).text).toBe('+ ')
    w.writeLine('*')
    expect((await w.tagged('P2')).status).toBe('BAD')
    expect((await w.command('AUTHENTICATE PLAIN !!notbase64!!')).status).toBe('BAD')
    expect((await w.command('AUTHENTICATE CRAM-MD5')).status).toBe('NO')
    expect((await w.command(`LOGIN ${quote(bob.address)} ${quote(bob.password)}`)).status).toBe('OK')
  })
})

describe('TLS', () => {
  it('without --allow-insecure-auth: LOGINDISABLED, LOGIN refused; after STARTTLS LOGIN works', async () => {
    const c = await connect(strict.ports.imap)
    expect(c.greeting).toMatch(/^\* OK \[CAPABILITY [^\]]*\bSTARTTLS\b[^\]]*\bLOGINDISABLED\b[^\]]*\]/)
    expect(c.greeting).not.toMatch(/AUTH=/)
    const caps = await c.command('CAPABILITY')
    expect(caps.untagged[0]).toMatch(/\bLOGINDISABLED\b/)
    const refused = await c.command(`LOGIN ${quote(alice.address)} ${quote(alice.password)}`)
    expect(refused.status).toBe('NO')
    expect(refused.text).toMatch(/^\[PRIVACYREQUIRED\] /)
    expect((await c.command(`AUTHENTICATE PLAIN ${b64(`\0${alice.address}\0${alice.password}`)}`)).status).toBe('NO')
    // still not logged in
    expect((await c.command('SELECT INBOX')).status).toBe('BAD')

    const tls = await c.starttls()
    expect(tls.status).toBe('OK')
    expect(c.secure).toBe(true)
    const after = await c.command('CAPABILITY')
    expect(after.untagged[0]).toMatch(/\bAUTH=PLAIN\b/)
    expect(after.untagged[0]).not.toMatch(/\bSTARTTLS\b|\bLOGINDISABLED\b/)
    expect((await c.command(`LOGIN ${quote(alice.address)} ${quote(alice.password)}`)).status).toBe('OK')
    expect((await c.command('STARTTLS')).status).toBe('BAD')
    expect((await c.command('SELECT INBOX')).status).toBe('OK')
  })

  it('commands pipelined after STARTTLS in the clear are not obeyed', async () => {
    const c = await connect(strict.ports.imap)
    c.write(`S1 STARTTLS\r\nS2 LOGIN ${quote(alice.address)} ${quote(alice.password)}\r\n`)
    expect((await c.tagged('S1')).status).toBe('OK')
    await c.upgradeTls()
    // S2 is never answered: the next response is S3's, and the session is not logged in
    const noop = await c.command('NOOP', {tag: 'S3'})
    expect(noop.untagged).toEqual([])
    expect(noop.tagged).toBe('S3 OK NOOP completed')
    expect((await c.command('SELECT INBOX')).status).toBe('BAD')
    expect(c.transcript()).not.toMatch(/^S2 /m)
  })

  it('the IMAPS port speaks TLS from the first byte, raw and with imapflow', async () => {
    const c = await connect(strict.ports.imaps, true)
    expect(c.secure).toBe(true)
    expect(c.greeting).toMatch(/^\* OK \[CAPABILITY [^\]]*AUTH=PLAIN/)
    expect(c.greeting).not.toMatch(/STARTTLS|LOGINDISABLED/)
    expect((await c.command(`LOGIN ${quote(alice.address)} ${quote(alice.password)}`)).status).toBe('OK')

    const flow = await connectFlow(strict, alice, {tls: true})
    try {
      expect(flow.secureConnection).toBe(true)
      const box = await flow.mailboxOpen('INBOX')
      expect(box.path).toBe('INBOX')
    } finally {
      await flow.logout()
    }
    // and imapflow with STARTTLS on the plain port
    const st = await connectFlow(strict, bob, {starttls: true})
    try {
      expect(await st.status('INBOX', {messages: true})).toMatchObject({messages: 0})
    } finally {
      await st.logout()
    }
  })
})

describe('users are isolated', () => {
  it("bob cannot reach alice's folders, whatever the name", async () => {
    await deliver(server.ports.smtp, alice.address, simpleMessage({subject: 'for alice only', body: 'secret-alice-body'}))
    const a = await login(alice)
    expect((await a.command('CREATE Secret')).status).toBe('OK')
    expect((await a.append('Secret', simpleMessage({subject: 'secret'}))).status).toBe('OK')
    const aliceInbox = await a.command('STATUS INBOX (MESSAGES)')

    const b = await login(bob)
    expect((await b.command('SELECT Secret')).text).toMatch(/^\[NONEXISTENT\] /)
    expect((await b.command('STATUS Secret (MESSAGES)')).status).toBe('NO')
    const names = [
      '../alice@example.test/INBOX',
      '../alice@example.test/Secret',
      'alice@example.test/INBOX',
      '/alice@example.test/INBOX',
      'INBOX/../Secret',
      'INBOX/../x',
      '~alice/INBOX',
      '#shared/alice/INBOX',
      '../../INBOX',
      'Secret/..',
    ]
    for (const name of names) {
      for (const cmd of [`SELECT ${quote(name)}`, `EXAMINE ${quote(name)}`, `STATUS ${quote(name)} (MESSAGES)`]) {
        const r = await b.command(cmd)
        // an error, or at most one of bob's own (empty) folders: never alice's mail
        if (r.status === 'OK') {
          expect(r.untagged.join('\n'), `${cmd}: ${r.untagged.join(' | ')}`).toMatch(/\* 0 EXISTS|\(MESSAGES 0\)/)
        } else {
          expect(r.status, cmd).toBe('NO')
        }
      }
      // creating such a name makes (at most) a folder of bob's own
      const created = await b.command(`CREATE ${quote(name)}`)
      if (created.status === 'OK') {
        const sel = await b.command(`SELECT ${quote(name)}`)
        expect(sel.untagged).toContain('* 0 EXISTS')
        expect((await b.append(name, simpleMessage({subject: 'bob was here'}))).status).toBe('OK')
        // (deleting the selected folder ends the session with BYE)
        expect((await b.command('UNSELECT')).status).toBe('OK')
      }
      expect((await b.command(`DELETE ${quote(name)}`)).status, name).toMatch(/OK|NO/)
    }
    // bob's LIST shows bob's folders only (the ones he may have just made included)
    const list = await b.command('LIST "" "*"')
    expect(list.untagged.join('\n')).not.toMatch(/Secret"?$/m)
    const bobSearch = await b.command('SELECT INBOX')
    expect(bobSearch.untagged).toContain('* 0 EXISTS')
    expect((await b.command('SEARCH BODY "secret-alice-body"')).untagged).toEqual(['* SEARCH'])

    // alice's mail is untouched, and nothing of bob's ended up with her
    expect((await a.command('STATUS INBOX (MESSAGES)')).untagged).toEqual(aliceInbox.untagged)
    expect((await a.command('STATUS Secret (MESSAGES)')).untagged).toEqual(['* STATUS "Secret" (MESSAGES 1)'])
    const aliceList = await a.command('LIST "" "*"')
    expect(aliceList.untagged.join('\n')).not.toMatch(/bob|\.\./)
  })
})

describe('a user removed while logged in', () => {
  it('cannot create folders or append afterwards, and the selected session is disconnected', async () => {
    const carol = {address: 'carol@example.test', password: 'carol-pw'}
    const add = await runCli(['user', 'add', carol.address, '--password-stdin'], {dataDir: server.dataDir, input: `${carol.password}\n`})
    expect(add.code, add.stderr).toBe(0)
    const idle = await login(carol)
    const other = await login(carol)
    expect((await idle.command('SELECT INBOX')).status).toBe('OK')
    const removed = await runCli(['user', 'remove', carol.address, '--force'], {dataDir: server.dataDir})
    expect(removed.code, removed.stderr).toBe(0)
    const create = await other.command('CREATE Leftover')
    expect(create.status).toBe('NO')
    expect((await other.append('INBOX', 'Subject: x\r\n\r\nx\r\n')).status).toBe('NO')
    expect((await other.command('LIST "" "*"')).untagged).toEqual([])
    // the selected folder is gone: the session is told so and closed
    await idle.write('N1 NOOP\r\n')
    await idle.closed
    expect(idle.transcript()).toMatch(/\* BYE /)
  })
})
