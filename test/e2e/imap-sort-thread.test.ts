/**
 * SORT, SORT=DISPLAY (RFC 5256, RFC 5957) and THREAD=ORDEREDSUBJECT / THREAD=REFERENCES
 * (RFC 5256) on the wire. The folders are ./sort-thread-fixtures.ts; every expected answer below
 * is what Dovecot 2.3 (the peer, ../shared/peer) answered for the same APPENDs, and the Tree
 * folder reproduces RFC 5256's own example `(2)(3 6 (4 23)(44 7 96))`. Python's imaplib sort()
 * and thread() run against the same server.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawImap, startImapServer, type ImapServer} from './imap-helpers.js'
import {PY_PRELUDE, python} from './imap-sync-helpers.js'
import {MERGING, rfcTree, SORTING, type Appended} from './sort-thread-fixtures.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}

let server: ImapServer
let client: RawImap

async function fill(folder: string, messages: Appended[]): Promise<void> {
  expect((await client.command(`CREATE ${folder}`)).status).toBe('OK')
  for (const m of messages) expect((await client.append(folder, m.raw, {args: m.internalDate, nonSync: true})).status).toBe('OK')
}

beforeAll(async () => {
  server = await startImapServer()
  client = await RawImap.login(server.ports.imap, alice)
  await fill('Sorting', SORTING)
  await fill('Tree', rfcTree())
  await fill('Merging', MERGING)
}, 30_000)

afterAll(async () => {
  client?.close()
  await server?.stop()
})

/** the untagged SORT/THREAD line of a command, with its tagged status */
async function answer(folder: string, command: string): Promise<string> {
  expect((await client.command(`SELECT ${folder}`)).status).toBe('OK')
  const r = await client.command(command)
  return [...r.untagged.filter((l) => /^\* (SORT|THREAD)\b/.test(l)), r.status === 'OK' ? 'OK' : `${r.status} ${r.text}`].join(' | ')
}

it('advertises SORT, SORT=DISPLAY and both THREAD algorithms', async () => {
  const caps = (await client.command('CAPABILITY')).untagged.find((l) => l.startsWith('* CAPABILITY '))!.split(' ')
  expect(caps).toEqual(expect.arrayContaining(['SORT', 'SORT=DISPLAY', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES']))
})

describe('SORT: every key as Dovecot orders the same folder', () => {
  it.each([
    // base subjects: "" (7), APPLE (3 "[list] Apple", 6 "re: [blob] re: apple"), BANANA (4, encoded "Fwd: Re:"), HELLO (1, 2 "(fwd)"), ZEBRA (5 "[fwd: …]")
    ['SORT (SUBJECT) UTF-8 ALL', '* SORT 7 3 6 4 1 2 5 | OK'],
    // the Date header in UTC (4 is -0800), 3 has none: its internal date; 2 and 6 tie: by number
    ['SORT (DATE) UTF-8 ALL', '* SORT 7 5 3 2 6 4 1 | OK'],
    ['SORT (REVERSE DATE) UTF-8 ALL', '* SORT 1 4 2 6 3 5 7 | OK'],
    ['SORT (ARRIVAL) UTF-8 ALL', '* SORT 4 3 2 6 5 7 1 | OK'],
    // the first address's local part: ADAM BEA CARL ELISE MAILER-DAEMON YAN ZED
    ['SORT (FROM) UTF-8 ALL', '* SORT 2 4 6 3 7 5 1 | OK'],
    // no To first; a group sorts by its name (5: undisclosed-recipients)
    ['SORT (TO) UTF-8 ALL', '* SORT 7 3 1 6 2 5 4 | OK'],
    ['SORT (CC) UTF-8 ALL', '* SORT 1 3 5 7 4 6 2 | OK'],
    ['SORT (SIZE) UTF-8 ALL', '* SORT 7 3 1 5 6 4 2 | OK'],
    // RFC 5957: the decoded display name (=?UTF-8?B?w4lsaXNl?= is Élise, sorted as E), else the address
    ['SORT (DISPLAYFROM) UTF-8 ALL', '* SORT 2 4 6 3 7 5 1 | OK'],
    ['SORT (DISPLAYTO) UTF-8 ALL', '* SORT 7 3 6 1 2 5 4 | OK'],
    ['SORT (SUBJECT REVERSE DATE) UTF-8 ALL', '* SORT 7 6 3 4 1 2 5 | OK'],
    ['UID SORT (REVERSE SUBJECT) UTF-8 2:6', '* SORT 5 2 4 3 6 | OK'],
    // RFC 5256's own example of an empty result
    ['SORT (SUBJECT) US-ASCII TEXT "not in mailbox"', '* SORT | OK'],
  ])('%s', async (command, expected) => {
    expect(await answer('Sorting', command)).toBe(expected)
  })

  it('follows the folder: messages appended, flagged and expunged since the last SORT', async () => {
    const raw = (subject: string) => `From: x@x.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@x.test>\r\n\r\nx\r\n`
    expect((await client.command('CREATE Live')).status).toBe('OK')
    for (const subject of ['b', 'd']) expect((await client.append('Live', raw(subject))).status).toBe('OK')
    expect(await answer('Live', 'SORT (SUBJECT) UTF-8 ALL')).toBe('* SORT 1 2 | OK')
    expect((await client.append('Live', raw('a'))).status).toBe('OK')
    expect(await answer('Live', 'SORT (SUBJECT) UTF-8 ALL')).toBe('* SORT 3 1 2 | OK')
    expect((await client.command('STORE 1 +FLAGS.SILENT (\\Deleted)')).status).toBe('OK')
    expect((await client.command('SORT (SUBJECT) UTF-8 UNDELETED')).untagged).toContain('* SORT 3 2')
    expect((await client.command('EXPUNGE')).status).toBe('OK')
    expect(await answer('Live', 'UID SORT (REVERSE SUBJECT) UTF-8 ALL')).toBe('* SORT 2 3 | OK')
    // threads by their first message's date (the internal date here: no Date header), not by subject
    expect(await answer('Live', 'THREAD ORDEREDSUBJECT UTF-8 ALL')).toBe('* THREAD (1)(2) | OK')
  })

  it('answers BAD to an unknown key, a dangling REVERSE, criteria without parentheses; NO [BADCHARSET] to an unknown charset', async () => {
    expect(await answer('Sorting', 'SORT (FOO) UTF-8 ALL')).toMatch(/^BAD /)
    expect(await answer('Sorting', 'SORT (REVERSE) UTF-8 ALL')).toMatch(/^BAD /)
    expect(await answer('Sorting', 'SORT (DATE REVERSE) UTF-8 ALL')).toMatch(/^BAD /)
    expect(await answer('Sorting', 'SORT () UTF-8 ALL')).toMatch(/^BAD /)
    expect(await answer('Sorting', 'SORT SUBJECT UTF-8 ALL')).toMatch(/^BAD /)
    expect(await answer('Sorting', 'SORT (SUBJECT) UTF-8')).toMatch(/^BAD /)
    expect(await answer('Sorting', 'SORT (SUBJECT) X-NO-SUCH-CHARSET ALL')).toMatch(/^NO \[BADCHARSET/)
    const fresh = await RawImap.login(server.ports.imap, alice)
    try {
      expect((await fresh.command('SORT (DATE) UTF-8 ALL')).status).toBe('BAD')
      expect((await fresh.command('UID THREAD REFERENCES UTF-8 ALL')).status).toBe('BAD')
    } finally {
      fresh.close()
    }
  })
})

describe('THREAD', () => {
  it('REFERENCES builds RFC 5256 example tree, in sequence numbers and UIDs', async () => {
    expect(await answer('Tree', 'THREAD REFERENCES UTF-8 2:4,6,7,23,44,96')).toBe('* THREAD (2)(3 6 (4 23)(44 7 96)) | OK')
    expect(await answer('Tree', 'UID THREAD REFERENCES UTF-8 2:4,6,7,23,44,96')).toBe('* THREAD (2)(3 6 (4 23)(44 7 96)) | OK')
    const rest = Array.from({length: 96}, (_, i) => i + 1).filter((n) => ![2, 3, 4, 6, 7, 23, 44, 96].includes(n))
    expect(await answer('Tree', 'THREAD REFERENCES UTF-8 ALL')).toBe(`* THREAD (2)(3 6 (4 23)(44 7 96))${rest.map((n) => `(${n})`).join('')} | OK`)
  })

  it('ORDEREDSUBJECT makes every later message of a base subject a child of the first', async () => {
    expect(await answer('Tree', 'THREAD ORDEREDSUBJECT UTF-8 2:4,6,7,23,44,96')).toBe('* THREAD (2)(3 (6)(4)(23)(44)(7)(96)) | OK')
    expect(await answer('Sorting', 'THREAD ORDEREDSUBJECT UTF-8 ALL')).toBe('* THREAD (7)(5)(3 6)(2 1)(4) | OK')
    expect(await answer('Merging', 'THREAD ORDEREDSUBJECT UTF-8 ALL')).toBe('* THREAD (11)(7 (6)(12))(2 1)(3)(4 5)(8)(9 10) | OK')
  })

  it('REFERENCES: dummies kept or promoted, In-Reply-To, duplicate ids, loops, subject gathering (as Dovecot)', async () => {
    expect(await answer('Merging', 'THREAD REFERENCES UTF-8 ALL')).toBe('* THREAD (11)((7)(6 12))((2)(1))(3)(4 5)(8)(10 9) | OK')
    expect(await answer('Merging', 'THREAD REFERENCES UTF-8 1:7')).toBe('* THREAD ((7)(6))((2)(1))(3)(4 5) | OK')
    // two replies with one base subject and no original: a dummy over both
    expect(await answer('Sorting', 'THREAD REFERENCES UTF-8 ALL')).toBe('* THREAD (7)(5)(3 6)((2)(1))(4) | OK')
    expect(await answer('Merging', 'THREAD REFERENCES UTF-8 SUBJECT "no such subject"')).toBe('* THREAD | OK')
  })

  it('answers BAD to an unknown algorithm', async () => {
    expect(await answer('Merging', 'THREAD FOO UTF-8 ALL')).toMatch(/^BAD /)
  })
})

it("Python imaplib's sort() and thread()", async () => {
  const out = await python<Record<string, string>>(
    PY_PRELUDE +
      String.raw`
M = connect()
ok(M.select('Sorting'))
out = {}
out['sort'] = ok(M.sort('(REVERSE DATE)', 'UTF-8', 'ALL'))[0].decode()
out['uidSort'] = ok(M.uid('SORT', '(SUBJECT)', 'UTF-8', 'ALL'))[0].decode()
ok(M.select('Tree'))
out['thread'] = ok(M.thread('REFERENCES', 'UTF-8', '2:4,6,7,23,44,96'))[0].decode()
out['ordered'] = ok(M.uid('THREAD', 'ORDEREDSUBJECT', 'UTF-8', '2:4,6,7,23,44,96'))[0].decode()
M.logout()
print(json.dumps(out))
`,
    [server.ports.imap, alice.address, alice.password],
  )
  expect(out).toEqual({sort: '1 4 2 6 3 5 7', uidSort: '7 3 6 4 1 2 5', thread: '(2)(3 6 (4 23)(44 7 96))', ordered: '(2)(3 (6)(4)(23)(44)(7)(96))'})
})
