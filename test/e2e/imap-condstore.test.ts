/**
 * CONDSTORE (RFC 7162) against a real `serve`: HIGHESTMODSEQ on SELECT and STATUS, FETCH MODSEQ
 * and (CHANGEDSINCE), STORE (UNCHANGEDSINCE) with [MODIFIED], SEARCH MODSEQ, ENABLE, flag updates
 * from another session carrying MODSEQ once enabled, and imapflow's use of it.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectFlow, deliver, RawImap, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'

let server: ImapServer
const alice = {address: 'alice@example.test', password: 'alice-pw'}

beforeAll(async () => {
  server = await startImapServer({users: [alice]})
  for (const n of [1, 2, 3]) await deliver(server.ports.smtp, alice.address, simpleMessage({subject: `message ${n}`}))
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

/** "2:4,7" → [2, 3, 4, 7] */
const expand = (set: string) =>
  set
    ? set.split(',').flatMap((part) => {
        const [a, b = a] = part.split(':').map(Number)
        return Array.from({length: b! - a! + 1}, (_, i) => a! + i)
      })
    : []
const modseqOf = (line: string) => Number(/MODSEQ \((\d+)\)/.exec(line)?.[1])
const highestOf = (lines: string[]) => Number(lines.map((l) => /^\* OK \[HIGHESTMODSEQ (\d+)\]/.exec(l)?.[1]).find(Boolean))

describe('CONDSTORE', () => {
  it('is advertised; SELECT reports HIGHESTMODSEQ; ENABLE and STATUS work', async () => {
    const c = await RawImap.login(server.ports.imap, alice)
    expect((await c.command('CAPABILITY')).untagged[0]).toMatch(/ CONDSTORE /)
    const highest = highestOf((await c.command('SELECT INBOX')).untagged)
    expect(highest).toBeGreaterThan(1)
    expect((await c.command('STATUS INBOX (HIGHESTMODSEQ MESSAGES)')).untagged).toEqual([`* STATUS "INBOX" (HIGHESTMODSEQ ${highest} MESSAGES 3)`])
    expect((await c.command('ENABLE CONDSTORE')).untagged).toEqual(['* ENABLED CONDSTORE'])
    expect((await c.command('ENABLE X-UNKNOWN')).untagged).toEqual(['* ENABLED'])
    await c.logout()
  })

  it('FETCH MODSEQ, and (CHANGEDSINCE) returns only what changed since', async () => {
    const c = await RawImap.login(server.ports.imap, alice)
    const highest = highestOf((await c.command('SELECT INBOX (CONDSTORE)')).untagged)
    const all = await c.command('FETCH 1:* (MODSEQ)')
    expect(all.untagged).toHaveLength(3)
    const modseqs = all.untagged.map(modseqOf)
    expect(Math.max(...modseqs)).toBe(highest)
    expect((await c.command(`FETCH 1:* (FLAGS) (CHANGEDSINCE ${highest})`)).untagged).toEqual([])
    const stored = await c.command('STORE 2 +FLAGS (\\Flagged)')
    expect(stored.untagged).toHaveLength(1)
    expect(stored.untagged[0]).toMatch(/^\* 2 FETCH \(UID \d+ FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$/)
    const after = modseqOf(stored.untagged[0]!)
    expect(after).toBeGreaterThan(highest)
    const changed = await c.command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${highest})`)
    expect(changed.untagged).toHaveLength(1)
    expect(changed.untagged[0]).toMatch(new RegExp(`^\\* 2 FETCH \\(UID \\d+ FLAGS \\(\\\\Flagged\\) MODSEQ \\(${after}\\)\\)$`))
    await c.logout()
  })

  it('STORE (UNCHANGEDSINCE) applies where nothing changed and reports the rest as [MODIFIED]', async () => {
    const c = await RawImap.login(server.ports.imap, alice)
    await c.command('SELECT INBOX')
    const mods = (await c.command('FETCH 1:3 (MODSEQ)')).untagged.map(modseqOf)
    const low = Math.min(...mods)
    // message 1 is unchanged since `low` if it has that MODSEQ; the others changed after it
    const seqAtLow = mods.indexOf(low) + 1
    const r = await c.command(`STORE 1:3 (UNCHANGEDSINCE ${low}) +FLAGS.SILENT (\\Answered)`)
    expect(r.status).toBe('OK')
    const others = [1, 2, 3].filter((n) => n !== seqAtLow && mods[n - 1]! > low)
    const modified = /^\[MODIFIED ([\d:,]+)\]/.exec(r.text)?.[1] ?? ''
    expect(expand(modified)).toEqual(others)
    // .SILENT with CONDSTORE still reports the new MODSEQ of what changed
    expect(r.untagged).toEqual([expect.stringMatching(new RegExp(`^\\* ${seqAtLow} FETCH \\(UID \\d+ MODSEQ \\(\\d+\\)\\)$`))])
    const flags = await c.command('FETCH 1:3 (FLAGS)')
    for (const line of flags.untagged) {
      const seq = Number(/^\* (\d+)/.exec(line)![1])
      expect(line.includes('\\Answered')).toBe(seq === seqAtLow)
    }
    await c.logout()
  })

  it('SEARCH MODSEQ answers with the highest MODSEQ found', async () => {
    const c = await RawImap.login(server.ports.imap, alice)
    const highest = highestOf((await c.command('SELECT INBOX')).untagged)
    const r = await c.command(`SEARCH MODSEQ ${highest}`)
    expect(r.untagged).toHaveLength(1)
    expect(r.untagged[0]).toMatch(new RegExp(`^\\* SEARCH \\d+ \\(MODSEQ ${highest}\\)$`))
    expect((await c.command(`SEARCH MODSEQ "/flags/\\\\draft" all ${highest + 1}`)).untagged).toEqual(['* SEARCH'])
    await c.logout()
  })

  it("another session's flag change reaches a CONDSTORE session with its MODSEQ", async () => {
    const a = await RawImap.login(server.ports.imap, alice)
    const b = await RawImap.login(server.ports.imap, alice)
    await a.command('SELECT INBOX (CONDSTORE)')
    await b.command('SELECT INBOX')
    await b.command('STORE 3 +FLAGS.SILENT ($Important)')
    const noop = await a.command('NOOP')
    // $Important is new to the folder: announced first (RFC 3501 §7.2.6)
    expect(noop.untagged).toEqual([
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] Flags permitted',
      expect.stringMatching(/^\* 3 FETCH \(UID \d+ FLAGS \(.*\$Important.*\) MODSEQ \(\d+\)\)$/),
    ])
    await a.logout()
    await b.logout()
  })

  it('imapflow sees HIGHESTMODSEQ and fetches with changedSince', async () => {
    const client = await connectFlow(server, alice)
    try {
      const box = await client.mailboxOpen('INBOX')
      expect(typeof box.highestModseq).toBe('bigint')
      const since = box.highestModseq!
      await client.messageFlagsAdd('1', ['$Seen-by-flow'])
      const changed = []
      for await (const m of client.fetch('1:*', {flags: true}, {changedSince: since})) changed.push(m)
      expect(changed.map((m) => m.seq)).toEqual([1])
      expect(changed[0]!.modseq! > since).toBe(true)
    } finally {
      await client.logout()
    }
  })
})

describe('QRESYNC', () => {
  it('must be enabled before SELECT (QRESYNC …); ENABLE QRESYNC also enables CONDSTORE', async () => {
    const c = await RawImap.login(server.ports.imap, alice)
    expect((await c.command('CAPABILITY')).untagged[0]).toMatch(/ QRESYNC /)
    expect((await c.command('SELECT INBOX (QRESYNC (1 1))')).status).toBe('BAD')
    expect((await c.command('ENABLE QRESYNC')).untagged).toEqual(['* ENABLED QRESYNC'])
    expect((await c.command('SELECT INBOX (QRESYNC (1 1))')).status).toBe('OK')
    // reselecting tells the client the previous folder is closed
    const again = await c.command('EXAMINE INBOX')
    expect(again.untagged[0]).toMatch(/^\* OK \[CLOSED\]/)
    await c.logout()
  })

  it('a client back after a while gets what vanished and what changed since its MODSEQ; a live one gets VANISHED', async () => {
    const setup = await RawImap.login(server.ports.imap, alice)
    await setup.command('SELECT INBOX')
    for (const n of [4, 5, 6]) await setup.append('INBOX', `Subject: q${n}\r\n\r\nq${n}\r\n`, {nonSync: true})
    const uidsOf = async (c: RawImap) => (await c.command('UID SEARCH ALL')).untagged[0]!.split(' ').slice(2).map(Number)
    const uids = await uidsOf(setup)
    const select = await setup.command('SELECT INBOX')
    const validity = Number(/UIDVALIDITY (\d+)/.exec(select.untagged.join('\n'))![1])
    const since = highestOf(select.untagged)

    // a live QRESYNC session sees the expunge as VANISHED, not EXPUNGE
    const live = await RawImap.login(server.ports.imap, alice)
    await live.command('ENABLE QRESYNC')
    await live.command('SELECT INBOX')

    const [a, b, c] = uids.slice(-3) as [number, number, number]
    await setup.command(`UID STORE ${a} +FLAGS.SILENT (\\Deleted)`)
    await setup.command(`UID EXPUNGE ${a}`)
    await setup.command(`UID STORE ${c} +FLAGS.SILENT (\\Flagged)`)

    const noop = await live.command('NOOP')
    expect(noop.untagged.some((l) => /EXPUNGE/.test(l))).toBe(false)
    expect(noop.untagged).toContain(`* VANISHED ${a}`)
    expect(noop.untagged.some((l) => new RegExp(`^\\* \\d+ FETCH \\(UID ${c} FLAGS \\(\\\\Flagged\\) MODSEQ \\(\\d+\\)\\)$`).test(l))).toBe(true)

    // a client that was away: SELECT (QRESYNC (uidvalidity modseq known-uids))
    const back = await RawImap.login(server.ports.imap, alice)
    await back.command('ENABLE QRESYNC')
    const resync = await back.command(`SELECT INBOX (QRESYNC (${validity} ${since} ${uids[0]}:${c}))`)
    expect(resync.status).toBe('OK')
    const vanished = resync.untagged.find((l) => l.startsWith('* VANISHED (EARLIER) '))!
    expect(expand(vanished.slice('* VANISHED (EARLIER) '.length))).toContain(a)
    expect(expand(vanished.slice('* VANISHED (EARLIER) '.length)).every((u) => u >= uids[0]! && u <= c && !uids.includes(u) || u === a)).toBe(true)
    const changed = resync.untagged.filter((l) => / FETCH \(/.test(l))
    expect(changed).toEqual([expect.stringMatching(new RegExp(`^\\* \\d+ FETCH \\(UID ${c} FLAGS \\(\\\\Flagged\\) MODSEQ \\(\\d+\\)\\)$`))])
    // a wrong UIDVALIDITY: a plain SELECT, nothing more
    const wrong = await back.command(`SELECT INBOX (QRESYNC (${validity + 1} ${since}))`)
    expect(wrong.untagged.some((l) => l.includes('VANISHED') || l.includes('FETCH'))).toBe(false)

    // UID FETCH … (CHANGEDSINCE m VANISHED)
    const fetched = await back.command(`UID FETCH ${a}:* (FLAGS) (CHANGEDSINCE ${since} VANISHED)`)
    expect(fetched.untagged[0]).toBe(`* VANISHED (EARLIER) ${a}`)
    expect(fetched.untagged.slice(1)).toEqual([expect.stringMatching(new RegExp(`^\\* \\d+ FETCH \\(UID ${c} FLAGS \\(\\\\Flagged\\) MODSEQ \\(\\d+\\)\\)$`))])
    // nothing vanished above b
    expect((await back.command(`UID FETCH ${b}:* (FLAGS) (CHANGEDSINCE ${since} VANISHED)`)).untagged.some((l) => l.includes('VANISHED'))).toBe(false)
    expect((await back.command('FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)')).status).toBe('BAD')
    for (const s of [setup, live, back]) await s.logout()
  })
})
