/**
 * Changes reaching other sessions: imapflow's IDLE sees SMTP deliveries at once; the exact IDLE
 * wire form; two sessions on one folder (EXPUNGE numbering, no EXPUNGE during FETCH, EXPUNGE at
 * once during IDLE, flag changes as FETCH, own .SILENT stores not echoed).
 */
import type {ImapFlow} from 'imapflow'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectFlow, deliver, numbered, RawImap, type ImapServer, searchResult, simpleMessage, startImapServer} from './imap-helpers.js'

let server: ImapServer
const alice = {address: 'alice@example.test', password: 'alice-pw'}
const open: {close(): void}[] = []

beforeAll(async () => {
  server = await startImapServer()
}, 30_000)

afterAll(async () => {
  for (const c of open) c.close()
  await server?.stop()
})

async function raw(): Promise<RawImap> {
  const c = await RawImap.login(server.ports.imap, alice)
  open.push(c)
  return c
}

/** creates FOLDER with `n` messages (appended by `c`); returns their UIDs */
async function fill(c: RawImap, folder: string, n: number): Promise<number[]> {
  expect((await c.command(`CREATE ${folder}`)).status).toBe('OK')
  const uids: number[] = []
  for (let i = 1; i <= n; i++) {
    const r = await c.append(folder, simpleMessage({subject: `${folder} ${i}`}))
    expect(r.status, r.tagged).toBe('OK')
    uids.push(Number(/APPENDUID \d+ (\d+)/.exec(r.text)![1]))
  }
  return uids
}

/** a client's model of the folder: UIDs by sequence number, kept up to date by untagged responses */
function apply(model: number[], lines: string[]): number[] {
  const out = [...model]
  for (const [n, kind] of numbered(lines)) {
    if (kind === 'EXPUNGE') out.splice(n - 1, 1)
  }
  return out
}

describe('IDLE', () => {
  let flow: ImapFlow
  afterAll(async () => {
    await flow?.logout().catch(() => {})
  })

  it('an idling imapflow client gets "exists" within 1 s of an SMTP delivery', async () => {
    flow = await connectFlow(server, alice)
    await flow.mailboxOpen('INBOX')
    const before = flow.mailbox ? flow.mailbox.exists : -1
    const events: {count: number; prevCount: number; at: number}[] = []
    flow.on('exists', (e: {count: number; prevCount: number}) => events.push({...e, at: Date.now()}))
    const idling = flow.idle()
    // let IDLE reach the server
    await new Promise((r) => setTimeout(r, 200))
    await deliver(server.ports.smtp, alice.address, simpleMessage({subject: 'idle wake-up'}))
    const delivered = Date.now()
    while (!events.length && Date.now() - delivered < 1000) await new Promise((r) => setTimeout(r, 10))
    expect(events.length, 'no exists event within 1 s').toBe(1)
    expect(events[0]!.at - delivered).toBeLessThan(1000)
    expect(events[0]).toMatchObject({count: before + 1, prevCount: before})
    void idling
    const m = await flow.fetchOne('*', {envelope: true})
    expect(m && m.envelope!.subject).toBe('idle wake-up')
  })

  it('raw: the IDLE continuation is exactly "+ idling" and DONE ends it with a tagged OK', async () => {
    const c = await raw()
    expect((await c.command('SELECT INBOX')).status).toBe('OK')
    c.writeLine('I1 IDLE')
    const cont = await c.next()
    expect(cont.raw.toString('latin1')).toBe('+ idling\r\n')
    c.writeLine('DONE')
    const done = await c.tagged('I1')
    expect(done.untagged).toEqual([])
    expect(done.tagged).toBe('I1 OK IDLE terminated')
    // the session goes on
    expect((await c.command('NOOP')).status).toBe('OK')
    // IDLE also works without a selected folder, and anything but DONE is BAD
    expect((await c.command('UNSELECT')).status).toBe('OK')
    c.writeLine('I2 IDLE')
    expect((await c.next()).text).toBe('+ idling')
    c.writeLine('NOPE')
    const bad = await c.tagged('I2')
    expect(bad.status).toBe('BAD')
    expect((await c.command('NOOP')).status).toBe('OK')
    await c.logout()
  })
})

describe('two sessions on one folder', () => {
  let a: RawImap
  let b: RawImap
  let uids: number[]
  let modelA: number[]

  beforeAll(async () => {
    a = await raw()
    b = await raw()
    uids = await fill(b, 'Shared', 5)
    // B selects first and so holds \Recent; A sees plain flags
    expect((await b.command('SELECT Shared')).status).toBe('OK')
    const sel = await a.command('SELECT Shared')
    expect(sel.status).toBe('OK')
    expect(sel.untagged).toContain('* 5 EXISTS')
    expect(sel.untagged).toContain('* 0 RECENT')
    modelA = [...uids]
  })

  it('B expunges messages 2 and 4: B gets "* 2 EXPUNGE" "* 3 EXPUNGE"; A, in a FETCH, gets none', async () => {
    expect((await b.command('STORE 2,4 +FLAGS.SILENT (\\Deleted)')).untagged).toEqual([])
    const ex = await b.command('EXPUNGE')
    expect(ex.status).toBe('OK')
    expect(ex.untagged).toEqual(['* 2 EXPUNGE', '* 3 EXPUNGE'])

    // a FETCH must not renumber: no EXPUNGE, the ghosts simply have no data
    const f = await a.command('FETCH 1:5 (UID)')
    expect(f.status).toBe('OK')
    expect(f.untagged).toEqual([`* 1 FETCH (UID ${uids[0]})`, `* 3 FETCH (UID ${uids[2]})`, `* 5 FETCH (UID ${uids[4]})`])
    // neither does a STORE or a SEARCH
    const s = await a.command('SEARCH ALL')
    expect(numbered(s.untagged).filter(([, k]) => k === 'EXPUNGE')).toEqual([])
  })

  it('A gets the EXPUNGEs on its next NOOP, and its view then matches B', async () => {
    const noop = await a.command('NOOP')
    expect(noop.status).toBe('OK')
    expect(noop.untagged).toEqual(['* 2 EXPUNGE', '* 3 EXPUNGE'])
    modelA = apply(modelA, noop.untagged)
    expect(modelA).toEqual([uids[0], uids[2], uids[4]])
    const bView = searchResult((await b.command('UID SEARCH ALL')).untagged)
    expect(modelA).toEqual(bView)
    const f = await a.command('FETCH 1:* (UID)')
    expect(f.untagged).toEqual(modelA.map((u, i) => `* ${i + 1} FETCH (UID ${u})`))
  })

  it('flag changes by B reach A as "* n FETCH (UID u FLAGS (...))"', async () => {
    // $Label1 is new to the folder: both sessions get FLAGS and PERMANENTFLAGS first (RFC 3501 §7.2.6)
    const announced = ['* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)', '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] Flags permitted']
    expect((await b.command('STORE 2 +FLAGS (\\Flagged $Label1)')).untagged).toEqual([...announced, `* 2 FETCH (FLAGS (\\Flagged $Label1 \\Recent))`])
    const noop = await a.command('NOOP')
    expect(noop.untagged).toEqual([...announced, `* 2 FETCH (UID ${modelA[1]} FLAGS (\\Flagged $Label1))`])
    // told once only
    expect((await a.command('NOOP')).untagged).toEqual([])
  })

  it("A's own STORE is not echoed back: .SILENT gives nothing, and NOOP adds nothing", async () => {
    expect((await a.command('STORE 1 +FLAGS.SILENT (\\Seen)')).untagged).toEqual([])
    expect((await a.command('NOOP')).untagged).toEqual([])
    // without .SILENT: exactly one FETCH in the STORE's answer, none later
    expect((await a.command('STORE 3 +FLAGS (\\Answered)')).untagged).toEqual(['* 3 FETCH (FLAGS (\\Answered))'])
    expect((await a.command('NOOP')).untagged).toEqual([])
    // B hears of both (B holds \Recent on them)
    const noop = await b.command('NOOP')
    expect(noop.untagged.sort()).toEqual([`* 1 FETCH (UID ${modelA[0]} FLAGS (\\Seen \\Recent))`, `* 3 FETCH (UID ${modelA[2]} FLAGS (\\Answered \\Recent))`].sort())
  })

  it('a UID FETCH may carry EXPUNGEs (RFC 3501 §7.4.1 only forbids them for sequence-number commands)', async () => {
    expect((await b.command(`UID STORE ${modelA[2]} +FLAGS.SILENT (\\Deleted)`)).status).toBe('OK')
    expect((await b.command(`UID EXPUNGE ${modelA[2]}`)).untagged).toEqual(['* 3 EXPUNGE'])
    const f = await a.command('UID FETCH 1:* (FLAGS)')
    expect(f.status).toBe('OK')
    // the EXPUNGE comes before the tagged reply, after the data
    expect(f.untagged.at(-1)).toBe('* 3 EXPUNGE')
    modelA = apply(modelA, f.untagged)
    expect(modelA).toEqual(searchResult((await b.command('UID SEARCH ALL')).untagged))
  })

  it('A idling gets EXPUNGE and EXISTS immediately', async () => {
    a.writeLine('I1 IDLE')
    expect((await a.next()).text).toBe('+ idling')
    expect((await b.command('STORE 1 +FLAGS.SILENT (\\Deleted)')).status).toBe('OK')
    const t0 = Date.now()
    expect((await b.command('EXPUNGE')).untagged).toEqual(['* 1 EXPUNGE'])
    const got = await a.waitFor(/EXPUNGE/, 1000)
    expect(Date.now() - t0).toBeLessThan(1000)
    // the \\Deleted flag may have been reported first (it was a change of its own)
    expect(got.at(-1)).toBe('* 1 EXPUNGE')
    for (const line of got.slice(0, -1)) expect(line).toBe(`* 1 FETCH (UID ${modelA[0]} FLAGS (\\Seen \\Deleted))`)
    modelA = apply(modelA, got)

    const appended = await b.append('Shared', simpleMessage({subject: 'late arrival'}))
    const newUid = Number(/APPENDUID \d+ (\d+)/.exec(appended.text)![1])
    const exists = await a.waitFor(/EXISTS/, 1000)
    expect(exists).toEqual([`* ${modelA.length + 1} EXISTS`])
    modelA.push(newUid)
    // RECENT follows EXISTS
    expect((await a.next(1000)).text).toMatch(/^\* [01] RECENT$/)
    a.writeLine('DONE')
    const done = await a.tagged('I1')
    expect(done.status).toBe('OK')
    expect(done.untagged).toEqual([])
    const f = await a.command('FETCH 1:* (UID)')
    expect(f.untagged).toEqual(modelA.map((u, i) => `* ${i + 1} FETCH (UID ${u})`))
    expect(modelA).toEqual(searchResult((await b.command('UID SEARCH ALL')).untagged))
  })
})
