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
    expect(noop.untagged).toEqual([expect.stringMatching(/^\* 3 FETCH \(UID \d+ FLAGS \(.*\$Important.*\) MODSEQ \(\d+\)\)$/)])
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
