/**
 * QUOTA (RFC 9208) on the wire: the user's quota from `user add --quota` as the root "" with
 * the STORAGE resource in KiB (rounded up, as Dovecot), the message limit from `--max-messages`
 * as the MESSAGE resource, no root for a user without either, SETQUOTA refused, APPEND
 * (MULTIAPPEND) and COPY over a limit answered NO [OVERQUOTA] (a MOVE adds nothing), SMTP
 * refusing a full mailbox at RCPT, STATUS DELETED and DELETED-STORAGE; then imapflow's
 * getQuota() and Python imaplib's getquotaroot() on the same server.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, tempDataDir} from '../helpers/cli.js'
import {addUsers, connectFlow, RawImap, startImapServer, type ImapServer} from './imap-helpers.js'
import {PY_PRELUDE, python} from './imap-sync-helpers.js'
import {codeOf, RawSmtp} from './smtp-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
/** no quota */
const bob = {address: 'bob@other.test', password: 'bob-pw'}
/** alice's quota: 10 KiB exactly */
const QUOTA = 10 * 1024
/** a message limit only */
const carol = {address: 'carol@example.test', password: 'carol-pw'}
const CAROL_MESSAGES = 3
/** both limits: QUOTA bytes and DAVE_MESSAGES messages */
const dave = {address: 'dave@example.test', password: 'dave-pw'}
const DAVE_MESSAGES = 50

let server: ImapServer
const open: {close(): void}[] = []

beforeAll(async () => {
  const dataDir = tempDataDir()
  const cli = async (args: string[], input?: string) => {
    const r = await runCli(args, {dataDir, input})
    if (r.code !== 0) throw new Error(`mailbox ${args.join(' ')}: ${r.stderr}`)
  }
  await cli(['domain', 'add', 'example.test'])
  await Promise.all([
    cli(['user', 'add', alice.address, '--password-stdin', '--quota', String(QUOTA)], `${alice.password}\n`),
    addUsers(dataDir, ['other.test'], [bob]),
    cli(['user', 'add', carol.address, '--password-stdin', '--max-messages', String(CAROL_MESSAGES)], `${carol.password}\n`),
    cli(['user', 'add', dave.address, '--password-stdin', '--quota', String(QUOTA), '--max-messages', String(DAVE_MESSAGES)], `${dave.password}\n`),
  ])
  // the users are in place: serve adds only a domain of its own
  server = await startImapServer({dataDir, users: [], domains: ['serve.test']})
}, 30_000)

afterAll(async () => {
  for (const c of open) c.close()
  await server?.stop()
})

/** one raw session per user for the whole file (a login costs an argon2 hash) */
const sessions = new Map<string, Promise<RawImap>>()
function login(user = alice): Promise<RawImap> {
  let c = sessions.get(user.address)
  if (!c) {
    c = RawImap.login(server.ports.imap, user)
    void c.then((conn) => open.push(conn), () => {})
    sessions.set(user.address, c)
  }
  return c
}

/** a message of exactly `size` bytes */
function messageOf(size: number, subject = 'sized'): string {
  const head = `From: a@remote.test\r\nTo: alice@example.test\r\nSubject: ${subject}\r\n\r\n`
  return head + 'x'.repeat(size - head.length - 2) + '\r\n'
}

describe('QUOTA on the wire', () => {
  it('is advertised with RES-STORAGE and RES-MESSAGE, without QUOTASET', async () => {
    const c = await login()
    const caps = (await c.command('CAPABILITY')).untagged[0]!.split(' ')
    expect(caps).toContain('QUOTA')
    expect(caps).not.toContain('QUOTASET')
    expect(caps.filter((cap) => cap.startsWith('QUOTA='))).toEqual(['QUOTA=RES-STORAGE', 'QUOTA=RES-MESSAGE'])
  })

  it('a message limit alone is the MESSAGE resource; APPEND, MULTIAPPEND and COPY past it are NO [OVERQUOTA], a MOVE is not; SMTP refuses at RCPT', async () => {
    const c = await login(carol)
    const quota = async () => (await c.command('GETQUOTA ""')).untagged
    let r = await c.command('GETQUOTAROOT INBOX')
    expect(r.untagged).toEqual(['* QUOTAROOT INBOX ""', `* QUOTA "" (MESSAGE 0 ${CAROL_MESSAGES})`])
    for (const subject of ['one', 'two']) expect((await c.append('INBOX', messageOf(500, subject))).status).toBe('OK')
    expect(await quota()).toEqual([`* QUOTA "" (MESSAGE 2 ${CAROL_MESSAGES})`])

    // MULTIAPPEND (RFC 3502) of two with room for one: neither is stored
    const [m1, m2] = [Buffer.from(messageOf(400, 'm1')), Buffer.from(messageOf(400, 'm2'))]
    c.write(Buffer.concat([Buffer.from(`M1 APPEND INBOX {${m1.length}+}\r\n`), m1, Buffer.from(` {${m2.length}+}\r\n`), m2, Buffer.from('\r\n')]))
    expect((await c.tagged('M1')).tagged).toMatch(/^M1 NO \[OVERQUOTA\] /)
    expect(await quota()).toEqual([`* QUOTA "" (MESSAGE 2 ${CAROL_MESSAGES})`])

    expect((await c.append('INBOX', messageOf(500, 'three'))).status).toBe('OK') // exactly at the limit
    r = await c.append('Drafts', messageOf(100, 'four'))
    expect(r.tagged).toMatch(/^\S+ NO \[OVERQUOTA\] /)
    expect((await c.command('CREATE Kept')).status).toBe('OK')
    expect((await c.command('SELECT INBOX')).status).toBe('OK')
    expect((await c.command('COPY 1 Kept')).tagged).toMatch(/^\S+ NO \[OVERQUOTA\] /)
    expect((await c.command('MOVE 1 Kept')).status).toBe('OK')
    expect(await quota()).toEqual([`* QUOTA "" (MESSAGE 3 ${CAROL_MESSAGES})`])
    expect((await c.command('STATUS Kept (MESSAGES)')).untagged).toEqual(['* STATUS "Kept" (MESSAGES 1)'])

    // SMTP: the same refusal as a full mailbox, at RCPT; another recipient is still taken
    const smtp = await RawSmtp.open(server.ports.smtp)
    try {
      await smtp.ehlo()
      expect((await smtp.cmd('MAIL FROM:<a@remote.test>')).code).toBe(250)
      const refused = await smtp.cmd(`RCPT TO:<${carol.address}>`)
      expect(codeOf(refused), refused.raw).toBe('552 5.2.2')
      expect((await smtp.cmd(`RCPT TO:<${alice.address}>`)).code).toBe(250)
    } finally {
      smtp.close()
    }
  })

  it('both limits: STORAGE, then MESSAGE, in one QUOTA response', async () => {
    const c = await login(dave)
    expect((await c.command('GETQUOTAROOT INBOX')).untagged).toEqual(['* QUOTAROOT INBOX ""', `* QUOTA "" (STORAGE 0 10 MESSAGE 0 ${DAVE_MESSAGES})`])
    expect((await c.append('INBOX', messageOf(3000))).status).toBe('OK')
    expect((await c.command('GETQUOTA ""')).untagged).toEqual([`* QUOTA "" (STORAGE 3 10 MESSAGE 1 ${DAVE_MESSAGES})`])
    // the storage quota still refuses on its own
    expect((await c.append('INBOX', messageOf(8000))).tagged).toMatch(/^\S+ NO \[OVERQUOTA\] /)
  })

  it('GETQUOTAROOT and GETQUOTA report the user root "" in KiB, rounded up; APPEND and COPY over it are NO [OVERQUOTA]', async () => {
    const c = await login()
    // RFC 9208 §4.1.2's example, with alice's figures: nothing stored yet
    let r = await c.command('GETQUOTAROOT INBOX')
    expect(r.untagged).toEqual(['* QUOTAROOT INBOX ""', '* QUOTA "" (STORAGE 0 10)'])
    expect(r.tagged).toMatch(/^\S+ OK /)

    expect((await c.append('INBOX', messageOf(3000))).status).toBe('OK')
    // 3000 bytes are 2.93 KiB: 3, as Dovecot rounds
    r = await c.command('GETQUOTA ""')
    expect(r.untagged).toEqual(['* QUOTA "" (STORAGE 3 10)'])
    // the root covers every folder; the name comes back as the client wrote it
    expect((await c.command('GETQUOTAROOT inbox')).untagged).toEqual(['* QUOTAROOT inbox ""', '* QUOTA "" (STORAGE 3 10)'])
    expect((await c.command('GETQUOTAROOT "Sent"')).untagged).toEqual(['* QUOTAROOT Sent ""', '* QUOTA "" (STORAGE 3 10)'])
    expect((await c.command('CREATE "a b"')).status).toBe('OK')
    expect((await c.command('GETQUOTAROOT "a b"')).untagged[0]).toBe('* QUOTAROOT "a b" ""')

    // over the quota: 3000 + 8000 > 10240
    r = await c.append('INBOX', messageOf(8000))
    expect(r.tagged).toMatch(/^\S+ NO \[OVERQUOTA\] /)
    expect((await c.command('SELECT INBOX')).status).toBe('OK')
    expect((await c.append('INBOX', messageOf(4000))).status).toBe('OK')
    expect((await c.command('GETQUOTA ""')).untagged).toEqual(['* QUOTA "" (STORAGE 7 10)'])
    // copying both (7000 more bytes) would go over
    expect((await c.command('COPY 1:* "a b"')).tagged).toMatch(/^\S+ NO \[OVERQUOTA\] /)
    // a MOVE adds nothing to what the user holds
    expect((await c.command('MOVE 2 "a b"')).status).toBe('OK')
    expect((await c.command('GETQUOTA ""')).untagged).toEqual(['* QUOTA "" (STORAGE 7 10)'])
  })

  it('unknown roots and folders are NO; SETQUOTA is refused (the administrator sets quotas)', async () => {
    const c = await login()
    expect((await c.command('GETQUOTA "#user/alice"')).tagged).toMatch(/^\S+ NO \[NONEXISTENT\] /)
    expect((await c.command('GETQUOTAROOT Nowhere')).tagged).toMatch(/^\S+ NO \[NONEXISTENT\] /)
    const set = await c.command('SETQUOTA "" (STORAGE 512)')
    expect(set.untagged).toEqual([])
    expect(set.tagged).toMatch(/^\S+ NO \[NOPERM\] /)
    expect((await c.command('SETQUOTA ""')).status).toBe('BAD')
    expect((await c.command('GETQUOTAROOT')).status).toBe('BAD')
    expect((await c.command('GETQUOTA "" extra')).status).toBe('BAD')
    expect((await c.command('GETQUOTA ""')).untagged).toEqual(['* QUOTA "" (STORAGE 7 10)'])
  })

  it('a user without a quota has no quota root', async () => {
    const c = await login(bob)
    const r = await c.command('GETQUOTAROOT INBOX')
    expect(r.untagged).toEqual(['* QUOTAROOT INBOX'])
    expect(r.status).toBe('OK')
    expect((await c.command('GETQUOTA ""')).tagged).toMatch(/^\S+ NO \[NONEXISTENT\] /)
  })

  it('STATUS DELETED and DELETED-STORAGE count the \\Deleted messages (RFC 9208 §4.2)', async () => {
    const c = await login(bob)
    expect((await c.command('CREATE Counted')).status).toBe('OK')
    for (const size of [1500, 2100, 700]) expect((await c.append('Counted', messageOf(size), {args: '(\\Deleted)'})).status).toBe('OK')
    expect((await c.append('Counted', messageOf(5000))).status).toBe('OK')
    const r = await c.command('STATUS Counted (MESSAGES DELETED DELETED-STORAGE)')
    // 4300 bytes flagged \Deleted: 4.2 KiB, 5 rounded up
    expect(r.untagged).toEqual(['* STATUS "Counted" (MESSAGES 4 DELETED 3 DELETED-STORAGE 5)'])
    const none = await c.command('STATUS INBOX (DELETED DELETED-STORAGE)')
    expect(none.untagged[0]).toMatch(/\(DELETED 0 DELETED-STORAGE 0\)$/)
    // LIST-STATUS takes the same items
    const list = await c.command('LIST "" Counted RETURN (STATUS (DELETED))')
    expect(list.untagged).toContain('* STATUS "Counted" (DELETED 3)')
  })
})

describe('client libraries', () => {
  it("imapflow's getQuota() reads the STORAGE resource", async () => {
    const client = await connectFlow(server, alice)
    try {
      const quota = await client.getQuota('INBOX')
      expect(quota).toMatchObject({path: 'INBOX', storage: {usage: 7 * 1024, limit: QUOTA, status: '70%'}})
      expect(quota).not.toHaveProperty('message')
    } finally {
      await client.logout()
    }
  })

  it("imapflow's getQuota() reads the MESSAGE resource beside STORAGE", async () => {
    const client = await connectFlow(server, dave)
    try {
      const quota = await client.getQuota('INBOX')
      expect(quota).toMatchObject({path: 'INBOX', storage: {usage: 3 * 1024, limit: QUOTA, status: '30%'}, message: {usage: 1, limit: DAVE_MESSAGES, status: '2%'}})
    } finally {
      await client.logout()
    }
  })

  it("Python imaplib's getquotaroot() and getquota()", async () => {
    const out = await python<{root: unknown; quota: unknown; setquota: unknown}>(
      PY_PRELUDE +
        String.raw`
M = connect()
typ, data = M.getquotaroot('INBOX')
root = [typ, [[x.decode() for x in d] for d in data]]
typ, data = M.getquota('""')
quota = [typ, [x.decode() for x in data]]
# a NO comes back as the result (only BAD raises)
typ, data = M.setquota('""', '(STORAGE 512)')
# imaplib files a tagged reply's response code under its name
setquota = [typ, data[0].decode(), M.response('NOPERM')[1] != [None]]
M.logout()
print(json.dumps({'root': root, 'quota': quota, 'setquota': setquota}))
`,
      [server.ports.imap, alice.address, alice.password],
    )
    expect(out.root).toEqual(['OK', [['INBOX ""'], ['"" (STORAGE 7 10)']]])
    expect(out.quota).toEqual(['OK', ['"" (STORAGE 7 10)']])
    expect(out.setquota).toEqual(['NO', expect.stringMatching(/administrator/), true])
  })

  it("Python imaplib's getquota() with the MESSAGE resource", async () => {
    const out = await python<{quota: unknown}>(
      PY_PRELUDE +
        String.raw`
M = connect()
typ, data = M.getquota('""')
quota = [typ, [x.decode() for x in data]]
M.logout()
print(json.dumps({'quota': quota}))
`,
      [server.ports.imap, carol.address, carol.password],
    )
    expect(out.quota).toEqual(['OK', [`"" (MESSAGE 3 ${CAROL_MESSAGES})`]])
  })
})
