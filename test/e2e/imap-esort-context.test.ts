/**
 * ESORT and CONTEXT=SORT (RFC 5267 §3.2, §4) on the wire: `SORT RETURN (…)` answers as Dovecot
 * 2.3 (the peer, ../shared/peer) answered for the same APPENDs, and a `SORT RETURN (UPDATE)`
 * result stays live with ADDTO / REMOVEFROM at real positions in the sorted list as messages
 * arrive, stop or start matching and are expunged, in IDLE too. (Dovecot has no CONTEXT=SORT;
 * the positions follow RFC 5267 §4.3.3's own example, whose preferred form is `ADDTO (1 2731:2733)`.)
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawConnections, RawImap, startImapServer, type ImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
let server: ImapServer
const raw = new RawConnections()

const message = (date: string, n: number) => `Date: ${date}\r\nFrom: a@example.org\r\nSubject: m${n}\r\n\r\nbody ${n}\r\n`

const login = () => raw.login(server.ports.imap, alice)

/** appends and returns the new message's UID */
async function append(c: RawImap, folder: string, raw: string): Promise<number> {
  const r = await c.append(folder, raw)
  expect(r.status).toBe('OK')
  return Number(/APPENDUID \d+ (\d+)/.exec(r.text)![1])
}

async function ok(c: RawImap, command: string, tag?: string): Promise<string[]> {
  const r = await c.command(command, tag ? {tag} : {})
  expect(r.status, `${command} → ${r.tagged}`).toBe('OK')
  return r.untagged
}

const esearch = (lines: string[]) => lines.filter((l) => l.startsWith('* ESEARCH'))

beforeAll(async () => {
  server = await startImapServer({config: {imap: {maxSearchContexts: 2}}})
}, 30_000)

afterAll(() => {
  raw.closeAll()
  return server?.stop()
})

describe('ESORT (RFC 5267 §3.2), as Dovecot 2.3 answers', () => {
  let c: RawImap
  let uids: number[]
  beforeAll(async () => {
    c = await login()
    await ok(c, 'CREATE Esort')
    // by date: 4 2 1 3 5 6
    const hours = [10, 9, 11, 8, 12, 13]
    uids = []
    for (const [i, h] of hours.entries()) uids.push(await append(c, 'Esort', message(`Mon, 1 Jan 2024 ${h}:00:00 +0000`, i + 1)))
    await ok(c, 'SELECT Esort')
  })

  it('MIN and MAX are the first and last in sort order; ALL lists the sort order, only ascending neighbours as ranges', async () => {
    expect(await ok(c, 'SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL', 'A1')).toEqual(['* ESEARCH (TAG "A1") MIN 4 MAX 6 ALL 4,2,1,3,5:6 COUNT 6'])
    expect(await ok(c, 'SORT RETURN (ALL) (REVERSE DATE) UTF-8 ALL', 'A2')).toEqual(['* ESEARCH (TAG "A2") ALL 6,5,3,1:2,4'])
    const u = (n: number) => uids[n - 1]
    expect(await ok(c, 'UID SORT RETURN () (REVERSE DATE) UTF-8 ALL', 'A3')).toEqual([`* ESEARCH (TAG "A3") UID ALL ${u(6)},${u(5)},${u(3)},${u(1)}:${u(2)},${u(4)}`])
    expect(await ok(c, 'SORT RETURN (MIN) (DATE) UTF-8 NOT ALL', 'A4')).toEqual(['* ESEARCH (TAG "A4")'])
    expect(await ok(c, 'SORT RETURN (COUNT) (DATE) UTF-8 NOT ALL', 'A5')).toEqual(['* ESEARCH (TAG "A5") COUNT 0'])
  })

  it('PARTIAL pages through the sorted result (RFC 9394; negative ranges count from its end)', async () => {
    expect(await ok(c, 'SORT RETURN (PARTIAL 1:2) (DATE) UTF-8 ALL', 'P1')).toEqual(['* ESEARCH (TAG "P1") PARTIAL (1:2 4,2)'])
    // (Dovecot puts PARTIAL where ALL would stand; the order of return data is free, RFC 4731 §3.1)
    expect(await ok(c, 'SORT RETURN (COUNT PARTIAL 2:4 MIN) (DATE) UTF-8 ALL', 'P2')).toEqual(['* ESEARCH (TAG "P2") MIN 4 COUNT 6 PARTIAL (2:4 2,1,3)'])
    expect(await ok(c, 'SORT RETURN (PARTIAL -1:-2) (DATE) UTF-8 ALL', 'P3')).toEqual(['* ESEARCH (TAG "P3") PARTIAL (-1:-2 5:6)'])
    expect(await ok(c, 'SORT RETURN (PARTIAL 7:9) (DATE) UTF-8 ALL', 'P4')).toEqual(['* ESEARCH (TAG "P4") PARTIAL (7:9 NIL)'])
    expect((await c.command('SORT RETURN (PARTIAL 1:2 ALL) (DATE) UTF-8 ALL')).status).toBe('BAD')
  })

  it('SAVE keeps MIN or MAX alone when only those are asked for, else the whole result (RFC 5182)', async () => {
    expect((await c.command('SORT RETURN (SAVE) (DATE) UTF-8 ALL', {tag: 'S1'})).untagged).toEqual([])
    expect(await ok(c, 'SORT RETURN (SAVE MIN) (DATE) UTF-8 ALL', 'S2')).toEqual(['* ESEARCH (TAG "S2") MIN 4'])
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH 4'])
    expect(await ok(c, 'SORT RETURN (SAVE MAX COUNT) (DATE) UTF-8 ALL', 'S3')).toEqual(['* ESEARCH (TAG "S3") MAX 6 COUNT 6'])
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH 1 2 3 4 5 6'])
    // a failing SORT with SAVE empties $
    expect((await c.command('SORT RETURN (SAVE) (NOSUCHKEY) UTF-8 ALL')).status).toBe('BAD')
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH'])
  })

  it('CONTEXT is a hint (RFC 5267 §4.2): taken and ignored; alone it means ALL, as in Dovecot', async () => {
    expect(await ok(c, 'SEARCH RETURN (CONTEXT COUNT) ALL', 'X1')).toEqual(['* ESEARCH (TAG "X1") COUNT 6'])
    expect(await ok(c, 'SORT RETURN (CONTEXT MIN) (DATE) UTF-8 ALL', 'X2')).toEqual(['* ESEARCH (TAG "X2") MIN 4'])
    expect(await ok(c, 'SORT RETURN (CONTEXT) (DATE) UTF-8 ALL', 'X3')).toEqual(['* ESEARCH (TAG "X3") ALL 4,2,1,3,5:6'])
  })

  it('a MODSEQ key adds the highest MODSEQ (RFC 7162 §3.1.5); unknown options are BAD; plain SORT is unchanged', async () => {
    expect((await ok(c, 'SORT RETURN (MIN) (DATE) UTF-8 MODSEQ 1', 'M1')).at(-1)).toMatch(/^\* ESEARCH \(TAG "M1"\) MIN 4 MODSEQ \d+$/)
    expect((await c.command('SORT RETURN (FOO) (DATE) UTF-8 ALL')).status).toBe('BAD')
    expect((await c.command('SORT RETURN (MIN)')).status).toBe('BAD')
    expect(await ok(c, 'SORT (DATE) UTF-8 ALL')).toEqual(['* SORT 4 2 1 3 5 6'])
  })
})

describe('CONTEXT=SORT (RFC 5267 §4.3)', () => {
  let c: RawImap
  let other: RawImap
  const u: number[] = []
  beforeAll(async () => {
    c = await login()
    other = await login()
    await ok(c, 'CREATE LiveSort')
    u[1] = await append(c, 'LiveSort', message('Wed, 10 Jan 2024 10:00:00 +0000', 1))
    u[2] = await append(c, 'LiveSort', message('Sat, 20 Jan 2024 10:00:00 +0000', 2))
    await ok(c, 'SELECT LiveSort')
    await ok(other, 'SELECT LiveSort')
  })

  it('RETURN (UPDATE) answers as usual; arrivals come as ADDTO at their sorted positions, after the EXISTS', async () => {
    expect(await ok(c, 'UID SORT RETURN (UPDATE) (DATE) UTF-8 UNDELETED', 'C01')).toEqual(['* ESEARCH (TAG "C01") UID'])
    expect(await ok(c, 'SORT RETURN (UPDATE COUNT) (REVERSE DATE) UTF-8 ALL', 'S02')).toEqual(['* ESEARCH (TAG "S02") COUNT 2'])
    // three older messages: they go first by date, last by reverse date
    for (const n of [3, 4, 5]) u[n] = await append(other, 'LiveSort', message(`Mon, ${n - 2} Jan 2024 10:00:00 +0000`, n))
    expect(await ok(c, 'NOOP')).toEqual([
      '* 5 EXISTS',
      expect.stringMatching(/^\* \d+ RECENT$/),
      // RFC 5267 §4.3.3's preferred form: 2734:2735 + ADDTO (1 2731:2733)
      `* ESEARCH (TAG "C01") UID ADDTO (1 ${u[3]}:${u[5]})`,
      // by reverse date: 2 1 5 4 3
      '* ESEARCH (TAG "S02") ADDTO (3 5,4,3)',
    ])
  })

  it('messages that stop or start matching are REMOVEFROM / ADDTO at their positions', async () => {
    // C01 is u3 u4 u5 u1 u2: u4 is at 2, then u1 at 3 once u4 is out
    await ok(other, `UID STORE ${u[4]},${u[1]} +FLAGS.SILENT (\\Deleted)`)
    expect(esearch(await ok(c, 'NOOP'))).toEqual([`* ESEARCH (TAG "C01") UID REMOVEFROM (2 ${u[4]} 3 ${u[1]})`])
    await ok(other, `UID STORE ${u[1]} -FLAGS.SILENT (\\Deleted)`)
    expect(esearch(await ok(c, 'NOOP'))).toEqual([`* ESEARCH (TAG "C01") UID ADDTO (3 ${u[1]})`])
  })

  it('an expunge: REMOVEFROM at the position, with the number before the EXPUNGE', async () => {
    // S02 is 2 1 5 4 3: message 4 is at position 4
    expect(await ok(c, 'EXPUNGE')).toEqual(['* ESEARCH (TAG "S02") REMOVEFROM (4 4)', '* 4 EXPUNGE'])
  })

  it('updates arrive during IDLE', async () => {
    c.writeLine('I1 IDLE')
    expect((await c.next()).text).toBe('+ idling')
    u[6] = await append(other, 'LiveSort', message('Mon, 15 Jan 2024 10:00:00 +0000', 6))
    // C01 u3 u5 u1 u2 gets u6 between u1 and u2; S02 (2 1 4 3) gets message 5 after 2
    const lines = await c.waitFor((t) => t.includes('TAG "S02"'), 5000)
    expect(esearch(lines)).toEqual([`* ESEARCH (TAG "C01") UID ADDTO (4 ${u[6]})`, '* ESEARCH (TAG "S02") ADDTO (2 5)'])
    c.writeLine('DONE')
    expect((await c.tagged('I1')).status).toBe('OK')
  })

  it('SEARCH and SORT contexts share one tag space and the maxSearchContexts limit', async () => {
    expect((await c.command('SORT RETURN (UPDATE) (DATE) UTF-8 ALL', {tag: 'S02'})).status).toBe('BAD')
    expect((await c.command('SEARCH RETURN (UPDATE) ALL', {tag: 'C01'})).status).toBe('BAD')
    const refused = await c.command('SORT RETURN (UPDATE MIN) (DATE) UTF-8 ALL', {tag: 'S09'})
    expect(refused.untagged).toEqual(['* NO [NOUPDATE "S09"] Too many contexts', '* ESEARCH (TAG "S09") MIN 3'])
    expect(refused.status).toBe('OK')
  })

  it('CANCELUPDATE ends a SORT context; the others go on', async () => {
    expect(await c.command('CANCELUPDATE "C01"').then((r) => r.status)).toBe('OK')
    // message 2 (u2) is first by reverse date
    await ok(other, `UID STORE ${u[2]} +FLAGS.SILENT (\\Deleted)`)
    await ok(other, `UID EXPUNGE ${u[2]}`)
    expect((await ok(c, 'NOOP')).filter((l) => !l.includes('FETCH'))).toEqual(['* ESEARCH (TAG "S02") REMOVEFROM (1 2)', '* 2 EXPUNGE'])
  })

  it('contexts end with the selection', async () => {
    await ok(c, 'SELECT LiveSort')
    expect((await c.command('CANCELUPDATE "S02"')).status).toBe('NO')
    await append(other, 'LiveSort', message('Mon, 1 Jan 2024 09:00:00 +0000', 7))
    expect(esearch(await ok(c, 'NOOP'))).toEqual([])
  })
})

it('advertises ESORT and CONTEXT=SORT', async () => {
  const c = await login()
  const caps = (await ok(c, 'CAPABILITY'))[0]!.split(' ')
  expect(caps).toEqual(expect.arrayContaining(['ESORT', 'CONTEXT=SORT', 'CONTEXT=SEARCH']))
})
