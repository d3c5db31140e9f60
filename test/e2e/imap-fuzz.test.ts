/**
 * Hostile input never crashes the IMAP server: thousands of commands built from IMAP's own
 * grammar pieces, mangled at random (a fixed seed, so a failure replays), are sent by logged-in
 * sessions on a selected folder. Every command must get exactly one tagged reply, the session
 * must still answer NOOP afterwards, and the server must log no internal error.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deliver, RawImap, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'

let server: ImapServer
const alice = {address: 'alice@example.test', password: 'alice-pw'}

beforeAll(async () => {
  server = await startImapServer({users: [alice]})
  for (const n of [1, 2, 3]) await deliver(server.ports.smtp, alice.address, simpleMessage({subject: `fuzz ${n}`}))
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

/** mulberry32: small, seedable */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const COMMANDS = ['FETCH', 'UID FETCH', 'STORE', 'UID STORE', 'SEARCH', 'UID SEARCH', 'COPY', 'MOVE', 'UID EXPUNGE', 'LIST', 'LSUB', 'STATUS', 'SELECT', 'EXAMINE', 'CREATE', 'RENAME', 'DELETE', 'SUBSCRIBE', 'ENABLE', 'ID', 'APPEND', 'NAMESPACE', 'CHECK', 'XYZZY', 'UID', 'UID XYZZY']
const PIECES = [
  '1', '*', '1:*', '2:1', '0', '4294967296', '1,2,3', '1:', ':', ',', '$', '(', ')', '()', '((', '))', '[', ']', '<', '>', '<0.10>', '<5>',
  'BODY[]', 'BODY.PEEK[HEADER.FIELDS (FROM TO)]', 'BODY[1.2.3.MIME]', 'BODY[TEXT]<0.1>', 'BODY[HEADER.FIELDS ()]', 'BODY[0]', 'BINARY[1]',
  'FLAGS', '+FLAGS', '-FLAGS.SILENT', '(\\Seen)', '(\\Bogus)', '\\Deleted', '$Kw', 'ENVELOPE', 'BODYSTRUCTURE', 'RFC822', 'ALL', 'FAST', 'FULL', 'MODSEQ',
  '(CHANGEDSINCE 1)', '(UNCHANGEDSINCE 0)', 'CHARSET', 'UTF-8', 'KOI8-R', 'OR', 'NOT', 'HEADER', 'SINCE', '1-Jan-2020', '31-Foo-2020', 'LARGER', 'UID',
  'INBOX', '"INBOX"', 'Trash', '"a b"', '"\\"', '"unterminated', '&Jjo-', '&-', '&bad', '../x', 'INBOX/', '%', '*%', '""', 'NIL', '(MESSAGES UNSEEN)', '(BOGUS)',
  'RETURN', '(SUBSCRIBED)', '(SPECIAL-USE)', 'RETURN (CHILDREN STATUS (MESSAGES))', '{0+}\r\n', '{3+}\r\nabc', '{2+}\r\n\r\n', '\u00e9\u00e8', '\u0000', '\t', '  ',
]

function mangle(rnd: () => number): string {
  const cmd = COMMANDS[Math.floor(rnd() * COMMANDS.length)]!
  const n = Math.floor(rnd() * 6)
  const parts = [cmd]
  for (let i = 0; i < n; i++) parts.push(PIECES[Math.floor(rnd() * PIECES.length)]!)
  let line = parts.join(rnd() < 0.9 ? ' ' : '')
  if (rnd() < 0.1) line = line.slice(0, Math.floor(rnd() * line.length))
  line = line.replace(/\r?\n/g, rnd() < 0.5 ? '\r\n' : ' ')
  // a line ending in a literal marker announces bytes this client never sends: the server rightly waits
  return line.replace(/(\r\n)+$/, '').replace(/\{\d*\+?\}?$/, '')
}

describe('IMAP fuzz', () => {
  it('answers 3,000 mangled commands with one tagged reply each, and keeps going', {timeout: 120_000}, async () => {
    const rnd = random(20261126)
    for (let session = 0; session < 6; session++) {
      const c = await RawImap.login(server.ports.imap, alice)
      await c.command('SELECT INBOX')
      for (let i = 0; i < 500; i++) {
        const line = mangle(rnd)
        const r = await c.command(line, {timeoutMs: 5_000}).catch((err: Error) => {
          throw new Error(`no tagged reply to ${JSON.stringify(line)}: ${err.message}`)
        })
        expect(['OK', 'NO', 'BAD'], line).toContain(r.status)
        expect(r.text, line).not.toMatch(/SERVERBUG/)
      }
      expect((await c.command('NOOP')).status).toBe('OK')
      await c.logout()
    }
    expect(server.served.output()).not.toMatch(/"level":"error"|"level":50/)
  })
})
