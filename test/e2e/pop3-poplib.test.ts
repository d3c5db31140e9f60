/**
 * Python's poplib against a real `serve` (no --allow-insecure-auth): CAPA and plaintext login
 * refused before STLS, STLS then login, POP3S, STAT/LIST/UIDL/TOP/RETR of mail delivered over
 * SMTP (lines starting with a dot come back exactly), RETR sets \Seen and TOP does not, DELE
 * then QUIT deletes durably, DELE then a dropped connection deletes nothing, RSET, UIDL stable
 * across sessions, a wrong password, and -ERR for unknown, out-of-state and overlong commands.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {freePorts, listMessages, runPython, setupUsers, showRaw} from './smtp-helpers.js'
import {withTestStore} from '../helpers/test-store.js'
import {message, smtpDeliver} from './pop3-helpers.js'

/**
 * argv: pop3Port pop3sPort steps-as-JSON. Each step is [op, ...args]: a poplib method, or
 * connect / connect_ssl / stls / drop (close without QUIT) / raw (one command, one-line reply).
 * Prints, per step, {"ok": result} or {"error": "-ERR …"}; bytes are decoded latin1.
 */
const SCRIPT = String.raw`
import json, poplib, ssl, sys
port, port_ssl, steps = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
ctx = ssl._create_unverified_context()
def enc(v):
    if isinstance(v, bytes): return v.decode('latin1')
    if isinstance(v, (list, tuple)): return [enc(x) for x in v]
    if isinstance(v, dict): return {k: enc(x) for k, x in v.items()}
    return v
out = []
p = None
for step in steps:
    op, args = step[0], step[1:]
    try:
        if op == 'connect':
            p = poplib.POP3('127.0.0.1', port, timeout=10); r = p.getwelcome()
        elif op == 'connect_ssl':
            p = poplib.POP3_SSL('127.0.0.1', port_ssl, context=ctx, timeout=10); r = [p.getwelcome(), p.sock.version()]
        elif op == 'stls':
            r = p.stls(ctx)
        elif op == 'drop':
            p.close(); r = 'dropped'
        elif op == 'raw':
            r = p._shortcmd(args[0])
        elif op in ('retr', 'top'):
            resp, lines, octets = getattr(p, op)(*args)
            r = [resp, b'\r\n'.join(lines) + b'\r\n', octets]
        elif op == 'pass':
            r = p.pass_(*args)
        else:
            r = getattr(p, op)(*args)
        out.append({'ok': enc(r)})
    except poplib.error_proto as e:
        out.append({'error': enc(e.args[0])})
print(json.dumps(out))
`

type Step = [string, ...(string | number)[]]
type Result = {ok?: any; error?: string}

let dataDir: string
let served: Served
let smtp: number, pop3: number, pop3s: number

const pop = (steps: Step[]): Promise<Result[]> => runPython<Result[]>(SCRIPT, [pop3, pop3s, JSON.stringify(steps)])
/** connect, STLS, USER/PASS */
const session = (user: string, password: string): Step[] => [['connect'], ['stls'], ['user', user], ['pass', password]]
const ok = (r: Result | undefined) => {
  expect(r?.error, JSON.stringify(r)).toBeUndefined()
  return r!.ok
}

const DOTS = message('dots', '.first line starts with a dot\r\n..two dots\r\n.\r\nnot a dot\r\n. dot space\r\n')
const LONG = message('long', Array.from({length: 10}, (_, i) => `body line ${i + 1}\r\n`).join(''))

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[smtp, pop3, pop3s] = await freePorts(3)
  await setupUsers(dataDir, ['example.com'], [
    {address: 'alice@example.com', password: 'alice-pw'},
    {address: 'bob@example.com', password: 'bob-pw'},
    {address: 'carol@example.com', password: 'carol-pw'},
  ])
  served = await startServe(dataDir, ['--smtp-port', String(smtp), '--pop3-port', String(pop3), '--pop3s-port', String(pop3s)])
  await smtpDeliver(smtp, 'alice@example.com', [message('one'), DOTS, LONG, message('four')])
  await smtpDeliver(smtp, 'bob@example.com', [message('b1'), message('b2'), message('b3')])
  await smtpDeliver(smtp, 'carol@example.com', [message('c1'), message('c2')])
})

afterAll(async () => {
  await served?.stop()
})

describe('poplib → serve', () => {
  it('in the clear: CAPA offers STLS but no USER/SASL, USER and AUTH PLAIN are refused; after STLS login works', async () => {
    const plainAuth = Buffer.from('\0alice@example.com\0alice-pw').toString('base64')
    const r = await pop([
      ['connect'],
      ['capa'],
      ['user', 'alice@example.com'],
      ['raw', `AUTH PLAIN ${plainAuth}`],
      ['stls'],
      ['capa'],
      ['user', 'alice@example.com'],
      ['pass', 'alice-pw'],
      ['stat'],
      ['quit'],
    ])
    expect(ok(r[0])).toMatch(/^\+OK /)
    expect(Object.keys(ok(r[1])).sort()).toEqual(['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'STLS', 'TOP', 'UIDL'])
    expect(r[2]!.error).toMatch(/^-ERR \[AUTH\] .*STLS/)
    expect(r[3]!.error).toMatch(/^-ERR \[AUTH\] .*STLS/)
    expect(ok(r[4])).toBe('+OK Begin TLS negotiation')
    const secureCaps = ok(r[5])
    expect(secureCaps).toMatchObject({USER: [], SASL: ['PLAIN'], TOP: [], UIDL: []})
    expect(secureCaps).not.toHaveProperty('STLS')
    expect(ok(r[7])).toBe('+OK alice@example.com has 4 messages')
    expect(ok(r[8])[0]).toBe(4)
    expect(ok(r[9])).toMatch(/^\+OK /)
  })

  it('STAT, LIST, UIDL, TOP and RETR: exact bytes and sizes; RETR sets \\Seen, TOP does not', async () => {
    const r = await pop([
      ...session('alice@example.com', 'alice-pw'),
      ['stat'],
      ['list'],
      ['list', 2],
      ['uidl'],
      ['uidl', 3],
      ['retr', 1],
      ['retr', 2],
      ['retr', 3],
      ['top', 3, 2],
      ['top', 4, 0],
      ['quit'],
    ])
    const stored = await listMessages(dataDir, 'alice@example.com')
    const raws = await Promise.all(stored.map((m) => showRaw(dataDir, 'alice@example.com', m.uid)))
    const sizes = raws.map((raw) => Buffer.byteLength(raw))
    const uidValidity = await withTestStore(dataDir, async ({mail}) => (await mail.folder('alice@example.com', 'INBOX'))!.uidValidity)

    expect(ok(r[4])).toEqual([4, sizes.reduce((a, b) => a + b)])
    const [listHead, listLines] = ok(r[5])
    expect(listHead).toBe(`+OK 4 messages (${sizes.reduce((a, b) => a + b)} octets)`)
    expect(listLines).toEqual(sizes.map((s, i) => `${i + 1} ${s}`))
    expect(ok(r[6])).toBe(`+OK 2 ${sizes[1]}`)
    expect(ok(r[7])[1]).toEqual(stored.map((m, i) => `${i + 1} ${uidValidity}.${m.uid}`))
    expect(ok(r[8])).toBe(`+OK 3 ${uidValidity}.${stored[2]!.uid}`)

    for (const i of [0, 1, 2]) {
      const [head, bytes] = ok(r[9 + i])
      expect(head).toBe(`+OK ${sizes[i]} octets`)
      expect(Buffer.from(bytes, 'latin1').toString('utf8')).toBe(raws[i])
    }
    // poplib un-stuffed the dot lines: the message comes back exactly as it was sent over SMTP
    expect(Buffer.from(ok(r[10])[1], 'latin1').toString('utf8').endsWith(DOTS)).toBe(true)

    const top = Buffer.from(ok(r[12])[1], 'latin1').toString('utf8')
    const header = raws[2]!.slice(0, raws[2]!.indexOf('\r\n\r\n') + 4)
    expect(top).toBe(header + 'body line 1\r\nbody line 2\r\n')
    const top0 = Buffer.from(ok(r[13])[1], 'latin1').toString('utf8')
    expect(top0).toBe(raws[3]!.slice(0, raws[3]!.indexOf('\r\n\r\n') + 4))
    expect(ok(r[14])).toMatch(/^\+OK .*\(4 messages left\)$/)

    const after = await listMessages(dataDir, 'alice@example.com')
    expect(after.map((m) => m.flags.includes('\\Seen'))).toEqual([true, true, true, false])
  })

  it('POP3S on its own port: TLS from the first byte, USER/PASS offered and working', async () => {
    const r = await pop([['connect_ssl'], ['capa'], ['user', 'alice@example.com'], ['pass', 'alice-pw'], ['stat'], ['quit']])
    expect(ok(r[0])[0]).toMatch(/^\+OK /)
    expect(ok(r[0])[1]).toMatch(/^TLSv1\.[23]$/)
    expect(ok(r[1])).toMatchObject({USER: [], SASL: ['PLAIN']})
    expect(ok(r[1])).not.toHaveProperty('STLS')
    expect(ok(r[4])[0]).toBe(4)
  })

  it('a wrong password gets -ERR [AUTH] and the session may try again', async () => {
    const r = await pop([...session('alice@example.com', 'wrong'), ['user', 'alice@example.com'], ['pass', 'alice-pw'], ['stat'], ['quit']])
    expect(r[3]!.error).toBe('-ERR [AUTH] invalid user name or password')
    expect(ok(r[5])).toMatch(/^\+OK /)
    expect(ok(r[6])[0]).toBe(4)
  })

  it('unknown commands, commands in the wrong state and overlong lines get -ERR; the session goes on', async () => {
    const r = await pop([
      ['connect'],
      ['raw', 'FROB'],
      ['stat'],
      ['raw', 'NOOP ' + 'x'.repeat(9000)],
      ['stls'],
      ['user', 'alice@example.com'],
      ['pass', 'alice-pw'],
      ['raw', 'USER alice@example.com'],
      ['retr', 9],
      ['noop'],
      ['quit'],
    ])
    expect(r[1]!.error).toBe('-ERR unknown command "FROB"')
    expect(r[2]!.error).toBe('-ERR STAT is not valid in the AUTHORIZATION state')
    expect(r[3]!.error).toBe('-ERR line too long (limit 8192 bytes)')
    expect(ok(r[6])).toMatch(/^\+OK /)
    expect(r[7]!.error).toBe('-ERR USER is not valid in the TRANSACTION state')
    expect(r[8]!.error).toBe('-ERR no such message, only 4 in maildrop')
    expect(ok(r[9])).toBe('+OK')
    expect(ok(r[10])).toMatch(/^\+OK /)
  })

  it('UIDL is the same in every session', async () => {
    const a = await pop([...session('alice@example.com', 'alice-pw'), ['uidl'], ['quit']])
    const b = await pop([['connect_ssl'], ['user', 'alice@example.com'], ['pass', 'alice-pw'], ['uidl'], ['quit']])
    expect(ok(a[4])[1]).toHaveLength(4)
    expect(ok(b[3])[1]).toEqual(ok(a[4])[1])
  })

  it('DELE then QUIT deletes durably; a new session and `message list` see the rest', async () => {
    const before = await listMessages(dataDir, 'bob@example.com')
    const uidlBefore = ok((await pop([...session('bob@example.com', 'bob-pw'), ['uidl'], ['quit']]))[4])[1] as string[]
    const r = await pop([...session('bob@example.com', 'bob-pw'), ['dele', 1], ['dele', 3], ['stat'], ['list'], ['retr', 1], ['quit']])
    expect(ok(r[4])).toBe('+OK message 1 deleted')
    expect(ok(r[6])[0]).toBe(1) // STAT leaves deleted messages out
    expect(ok(r[7])[1]).toEqual([expect.stringMatching(/^2 \d+$/)])
    expect(r[8]!.error).toBe('-ERR message 1 already deleted')
    expect(ok(r[9])).toMatch(/^\+OK .*\(1 message left\)$/)

    const after = await pop([...session('bob@example.com', 'bob-pw'), ['stat'], ['uidl'], ['quit']])
    expect(ok(after[4])[0]).toBe(1)
    expect(ok(after[5])[1]).toEqual([uidlBefore[1]!.replace(/^2 /, '1 ')])
    const listed = await listMessages(dataDir, 'bob@example.com')
    expect(listed.map((m) => m.uid)).toEqual([before[1]!.uid])
  })

  it('DELE then a dropped connection deletes nothing; RSET undoes DELE', async () => {
    const dropped = await pop([...session('carol@example.com', 'carol-pw'), ['dele', 1], ['dele', 2], ['drop']])
    expect(ok(dropped[4])).toBe('+OK message 1 deleted')
    const r = await pop([...session('carol@example.com', 'carol-pw'), ['stat'], ['dele', 1], ['stat'], ['rset'], ['stat'], ['quit']])
    expect(ok(r[4])[0]).toBe(2)
    expect(ok(r[6])[0]).toBe(1)
    expect(ok(r[7])).toBe('+OK 1 message undeleted, maildrop has 2 messages')
    expect(ok(r[8])[0]).toBe(2)
    expect(ok(r[9])).toMatch(/\(2 messages left\)$/)
    expect(await listMessages(dataDir, 'carol@example.com')).toHaveLength(2)
  })
})
