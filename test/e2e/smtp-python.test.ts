/**
 * Python's smtplib against a real `serve`: EHLO features on MX and submission, AUTH refused before
 * STARTTLS, STARTTLS verified against the generated certificate (DATA/tls/cert.pem), login with
 * PLAIN and LOGIN, and 8BITMIME deliveries checked in the store.
 */
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {counts, freePorts, headerFields, listMessages, runPython, setupUsers, showRaw} from './smtp-helpers.js'

/**
 * argv: mode mxPort subPort certFile
 * prints one JSON object with what each step answered
 */
const SCRIPT = String.raw`
import json, smtplib, ssl, sys, base64
mode, mx, sub, cafile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out = {}

def features(s, name='py.client.test'):
    code, msg = s.ehlo(name)
    return code, msg.decode().split('\n')[1:]

BODY = (
    'From: Py Sender <py@python.test>\r\n'
    'To: alice@example.com\r\n'
    'Subject: from smtplib ' + mode + '\r\n'
    'MIME-Version: 1.0\r\n'
    'Content-Type: text/plain; charset=utf-8\r\n'
    'Content-Transfer-Encoding: 8bit\r\n'
    '\r\n'
    'line one\r\n'
    '.starts with a dot\r\n'
    'Übermäßig schön — ελληνικά\r\n'
).encode('utf-8')

if mode == 'mx':
    s = smtplib.SMTP('127.0.0.1', mx, timeout=10)
    out['ehlo'] = features(s)
    refused = s.sendmail('py@python.test', ['alice@example.com'], BODY, mail_options=['BODY=8BITMIME'])
    out['refused'] = refused
    s.quit()
elif mode == 'submission':
    s = smtplib.SMTP('127.0.0.1', sub, timeout=10)
    out['plainEhlo'] = features(s)
    code, msg = s.docmd('AUTH', 'PLAIN ' + base64.b64encode(b'\0alice@example.com\0alice-pw').decode())
    out['authBeforeTls'] = [code, msg.decode()]
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True  # the certificate names 127.0.0.1
    out['starttls'] = list(s.starttls(context=ctx))
    out['starttls'][1] = out['starttls'][1].decode()
    out['tlsVersion'] = s.sock.version()
    out['tlsEhlo'] = features(s)
    code, msg = s.login('alice@example.com', 'alice-pw')
    out['login'] = [code, msg.decode()]
    # a submitted From header must be the user's own (the server refuses a forged one)
    out['refused'] = s.sendmail('alice@example.com', ['bob@example.com'], BODY.replace(b'To: alice@', b'To: bob@').replace(b'From: Py Sender <py@python.test>', b'From: Alice <alice@example.com>'), mail_options=['BODY=8BITMIME'])
    s.quit()
    # a second session forcing AUTH LOGIN
    s = smtplib.SMTP('127.0.0.1', sub, timeout=10)
    s.starttls(context=ctx)
    s.ehlo('py.client.test')
    s.user, s.password = 'bob@example.com', 'bob-pw'
    code, msg = s.auth('LOGIN', s.auth_login, initial_response_ok=False)
    out['authLogin'] = [code, msg.decode()]
    out['refused2'] = s.sendmail('bob@example.com', ['alice@example.com'], BODY.replace(b'From: Py Sender <py@python.test>', b'From: bob@example.com'))
    s.quit()
print(json.dumps(out))
`

let dataDir: string
let served: Served
let mx: number, submission: number

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[mx, submission] = await freePorts(2)
  await setupUsers(dataDir, ['example.com'], [
    {address: 'alice@example.com', password: 'alice-pw'},
    {address: 'bob@example.com', password: 'bob-pw'},
  ])
  served = await startServe(dataDir, ['--smtp-port', String(mx), '--submission-port', String(submission)])
})

afterAll(async () => {
  await served?.stop()
})

const certFile = () => join(dataDir, 'tls', 'cert.pem')
const keywords = (lines: string[]) => lines.map((l) => l.trim())

describe('python smtplib → serve', () => {
  it('MX: EHLO features (no AUTH) and an 8BITMIME delivery stored intact', async () => {
    const r = await runPython(SCRIPT, ['mx', mx, submission, certFile()])
    const [code, lines] = r.ehlo as [number, string[]]
    expect(code).toBe(250)
    const kw = keywords(lines)
    for (const f of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'STARTTLS', 'SIZE 26214400']) expect(kw).toContain(f)
    expect(kw.filter((l) => /^AUTH\b/i.test(l))).toEqual([])
    expect(kw).not.toContain('DSN')
    expect(r.refused).toEqual({})

    const list = await listMessages(dataDir, 'alice@example.com')
    expect(list).toHaveLength(1)
    expect(list[0]!.subject).toBe('from smtplib mx')
    expect(list[0]!.from).toMatch(/^"?Py Sender"? <py@python\.test>$/)
    const raw = await showRaw(dataDir, 'alice@example.com', list[0]!.uid)
    const fields = headerFields(raw)
    expect(fields[0]).toBe('Return-Path: <py@python.test>')
    expect(fields[1]).toMatch(/^Received: from py\.client\.test \(\[127\.0\.0\.1\]\)\r\n\tby \S+ \(mailbox\) with ESMTP id [0-9a-z]+\r\n\tfor <alice@example\.com>;/)
    expect(raw).toContain('\r\n\r\nline one\r\n.starts with a dot\r\nÜbermäßig schön — ελληνικά\r\n')
  })

  it('submission: no AUTH before STARTTLS (530 5.7.0), AUTH PLAIN LOGIN after; PLAIN and LOGIN both deliver', async () => {
    const r = await runPython(SCRIPT, ['submission', mx, submission, certFile()])
    const plain = keywords(r.plainEhlo[1])
    expect(plain).toContain('STARTTLS')
    expect(plain.filter((l) => /^AUTH\b/i.test(l))).toEqual([])
    expect(r.authBeforeTls[0]).toBe(530)
    expect(r.authBeforeTls[1]).toMatch(/^5\.7\.0 /)

    expect(r.starttls[0]).toBe(220)
    expect(r.tlsVersion).toMatch(/^TLSv1\.[23]$/)
    const tls = keywords(r.tlsEhlo[1])
    expect(tls).toContain('AUTH PLAIN LOGIN')
    expect(tls).not.toContain('STARTTLS')
    expect(tls).toContain('SIZE 26214400')
    expect(r.login[0]).toBe(235)
    expect(r.login[1]).toMatch(/^2\.7\.0 /)
    expect(r.refused).toEqual({})
    expect(r.authLogin[0]).toBe(235)
    expect(r.refused2).toEqual({})

    const bob = await listMessages(dataDir, 'bob@example.com')
    expect(bob.map((m) => m.subject)).toEqual(['from smtplib submission'])
    const raw = await showRaw(dataDir, 'bob@example.com', bob[0]!.uid)
    expect(headerFields(raw)[0]).toBe('Return-Path: <alice@example.com>')
    expect(headerFields(raw)[1]).toMatch(/ with ESMTPSA id /)
    expect(raw).toContain('\r\n.starts with a dot\r\nÜbermäßig schön — ελληνικά\r\n')

    const alice = await listMessages(dataDir, 'alice@example.com')
    const viaLogin = alice.find((m) => m.from === 'bob@example.com')
    expect(viaLogin?.subject).toBe('from smtplib submission')
    expect((await counts(dataDir)).messages).toBe(3)
  })
})
