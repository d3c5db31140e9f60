/**
 * The DKIM signer against two independent verifiers, mailauth's dkimVerify and Debian's dkimpy
 * (DNS answered from the keys' own records): canonicalization corner cases, From oversigning, long bodies hashed in
 * slices, linear time on whitespace a client controls; the signing domain and rotation on a real
 * store.
 */
import {dkimVerify} from 'mailauth/lib/dkim/verify.js'
import {beforeAll, describe, expect, it} from 'vitest'
import {addDomain} from '../../src/directory/domains.js'
import {removeDkimKey, rotateDkimKeys} from '../../src/dkim/admin.js'
import {dkimDnsRecord, generateDkimKeys} from '../../src/dkim/keys.js'
import {outboundSignatures, signingDomainOf} from '../../src/dkim/outbound.js'
import {dkimSignatures} from '../../src/dkim/sign.js'
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import type {DkimKeyRecord} from '../../src/store/records.js'
import {tempStore} from '../helpers/store.js'
import {codeOfAsync} from '../helpers/errors.js'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {DKIMPY, dkimpyVerify} from '../e2e/dkim-helpers.js'

const KEYS = generateDkimKeys('example.com', Date.now())

/** mailauth's verdict on each signature of `message`, with DNS answered from `keys` */
async function verify(message: Buffer, keys: DkimKeyRecord[] = KEYS): Promise<string[]> {
  const txt = new Map(keys.map((k) => [dkimDnsRecord(k).name, dkimDnsRecord(k).value]))
  const resolver = async (name: string, type: string) => {
    const value = type === 'TXT' ? txt.get(name) : undefined
    if (value) return [[value]]
    throw Object.assign(new Error(`no ${type} for ${name}`), {code: 'ENOTFOUND'})
  }
  const {results} = await dkimVerify(message, {resolver} as never)
  return results.map((r: {status: {result: string}}) => r.status.result)
}

const records = (keys: DkimKeyRecord[] = KEYS) => Object.fromEntries(keys.map((k) => [dkimDnsRecord(k).name, dkimDnsRecord(k).value]))

const signed = async (text: string | Buffer, keys = KEYS) => {
  const message = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1')
  return Buffer.concat([await dkimSignatures(message, keys[0]!.domain, keys), message])
}

describe('dkimSignatures', () => {
  const cases: Record<string, string> = {
    'CRLF, folded and repeated fields, odd whitespace, List-*':
      'From:  "Alice A."  <alice@example.com> \r\nTo: bob@example.net,\r\n\t carol@example.net\r\nTo: dave@example.net\r\nSubject:\t hello\t  world  \r\nList-Unsubscribe: <mailto:u@example.com>\r\nlist-id: <l.example.com>\r\nDate: Thu, 3 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\nX-Other: not signed\r\n\r\nline  with   spaces \t \r\n\r\n\tindented\r\n\r\n\r\n',
    'bare LF line ends (they leave as CRLF)': 'From: alice@example.com\nSubject: lf\n\nfirst \nsecond\t\n\n',
    'empty body': 'From: alice@example.com\r\nSubject: empty\r\n\r\n',
    'body of blank lines only': 'From: alice@example.com\r\nSubject: blank\r\n\r\n \r\n\t\r\n\r\n',
    'no final line break': 'From: alice@example.com\r\nSubject: open\r\n\r\nlast line   ',
    'UTF-8 in the header and the body': Buffer.from('From: Jürgen <j@example.com>\r\nSubject: Grüße ✓\r\n\r\n日本語 テキスト  \r\n').toString('latin1'),
  }
  for (const [name, text] of Object.entries(cases)) {
    it(`verifies: ${name}`, async () => {
      expect(await verify(await signed(text))).toEqual(['pass', 'pass'])
    })
  }

  /**
   * Where mailauth 4.13.3 departs from RFC 6376 and dkimpy does not: it takes a latin1 0xA0 for
   * whitespace in the relaxed header (JavaScript's \s; the RFC's WSP is SP and HTAB only), and
   * it finds no header in a message without an empty line.
   */
  const dkimpyOnly: Record<string, string> = {
    'a no-break space (0xA0) in a field stays': 'From: alice@example.com\r\nSubject: caf\xe9\xa0 \r\n\r\nna\xefve\r\n',
    'no header end at all': 'From: alice@example.com\r\nSubject: only a header',
  }
  /** as the SMTP client sends it: CRLF line ends, one at the end (dkimpy reads the bytes as they are) */
  const onTheWire = (message: Buffer) => message.toString('latin1').replace(/\r?\n/g, '\r\n').replace(/(?<!\r\n)$/, '\r\n')
  describe.skipIf(missingOutsideCi(DKIMPY !== undefined))('dkimpy', () => {
    for (const [name, text] of Object.entries({...cases, ...dkimpyOnly})) {
      it(`verifies: ${name}`, async () => {
        requireInCi(DKIMPY !== undefined, 'python3-dkim (dkimpy) is needed')
        expect(await dkimpyVerify(onTheWire(await signed(text)), records())).toEqual([true, true])
      })
    }
  })

  it('signs both algorithms with From oversigned and only the fields of RFC 6376 §5.4.1', async () => {
    const message = await signed(cases['CRLF, folded and repeated fields, odd whitespace, List-*']!)
    const fields = message.toString('latin1').split(/\r\n(?![ \t])/).filter((f) => f.startsWith('DKIM-Signature:'))
    expect(fields.map((f) => /a=([\w-]+);/.exec(f)?.[1])).toEqual(['ed25519-sha256', 'rsa-sha256'])
    const h = /h=([^;]+);/.exec(fields[0]!)![1]!
    // List-* names as they are written in the message
    expect(h).toBe('From:From:Subject:Date:To:To:Message-ID:List-Unsubscribe:list-id')
  })

  it('signs only List-* fields with plain names: a client cannot put a `;` into the h= tag', async () => {
    const message = await signed('From: alice@example.com\r\nList-x;b=AAAA: evil\r\nList-Post: <mailto:l@example.com>\r\n\r\nhi\r\n')
    const h = [...message.toString('latin1').matchAll(/\sh=([^;]+);/g)].map((m) => m[1])
    expect(h).toEqual(['From:From:List-Post', 'From:From:List-Post'])
    expect(await verify(message)).toEqual(['pass', 'pass'])
  })

  it('fails once a From is added, a signed field changed, or the body changed', async () => {
    const message = (await signed('From: alice@example.com\r\nSubject: s\r\n\r\nbody\r\n')).toString('latin1')
    const [head, body] = [message.slice(0, message.indexOf('From: alice')), message.slice(message.indexOf('From: alice'))]
    // mailauth says `neutral` for a message with two From fields, dkimpy fails the signatures (e2e)
    expect(await verify(Buffer.from(head + 'From: mallory@example.org\r\n' + body, 'latin1'))).not.toContain('pass')
    expect(await verify(Buffer.from(message.replace('Subject: s', 'Subject: t'), 'latin1'))).toEqual(['fail', 'fail'])
    // a body hash mismatch is `neutral` in mailauth's words (RFC 6376 §6.1.3 leaves it to the verifier)
    expect(await verify(Buffer.from(message.replace('body', 'bodY'), 'latin1'))).toEqual(['neutral', 'neutral'])
    // unsigned fields and whitespace the relaxed form ignores may change
    expect(await verify(Buffer.from(message.replace('Subject: s', 'X-Added: yes\r\nSubject:   s  '), 'latin1'))).toEqual(['pass', 'pass'])
  })

  it('hashes a body longer than one slice (lines across the slice ends) as the verifier does', async () => {
    const lines = Array.from({length: 40_000}, (_, i) => `line ${i}${' '.repeat(i % 7)}\t${'x'.repeat(i % 50)}${i % 3 ? '\r\n' : '\n'}`)
    expect(await verify(await signed(`From: alice@example.com\r\nSubject: long\r\n\r\n${lines.join('')}\r\n\r\n`))).toEqual(['pass', 'pass'])
  })

  it('takes linear time on whitespace runs a client controls (a 4 MB run, a 256 KB field)', async () => {
    const text = `From: alice@example.com\r\nSubject: a${' \t'.repeat(128 * 1024)}b\r\n\r\nx${' '.repeat(4 * 1024 * 1024)}y\r\n${'\t'.repeat(1024 * 1024)}`
    const started = performance.now()
    const message = await signed(text)
    // quadratic patterns would take hours here; linear ones well under a second even on a loaded machine
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(await verify(message)).toEqual(['pass', 'pass'])
  })
})

describe('which mail is signed, with which keys (real store)', () => {
  const store = tempStore()
  beforeAll(() => addDomain(store, 'example.org'))
  const envelope = (from: string) => analyzeMessage(Buffer.from(`From: ${from}\r\nSubject: x\r\n\r\nhi\r\n`)).envelope

  it('a local domain, or the nearest local parent of a subdomain (MAILER-DAEMON@mail.example.org)', async () => {
    expect(await signingDomainOf(store, 'example.org')).toBe('example.org')
    expect(await signingDomainOf(store, 'Mail.Example.ORG')).toBe('example.org')
    expect(await signingDomainOf(store, 'example.net')).toBeUndefined()
    expect(await signingDomainOf(store, 'org')).toBeUndefined()
    expect(await signingDomainOf(store, 'MISSING_DOMAIN')).toBeUndefined()
  })

  it('signs with the active keys as they are at each message: a rotation takes effect at once', async () => {
    const raw = Buffer.from('From: a@example.org\r\nSubject: x\r\n\r\nhi\r\n')
    const selectors = async () => [...(await outboundSignatures(store, raw, envelope('a@example.org')))!.toString().matchAll(/\ss=([^;]+);/g)].map((m) => m[1])
    const first = await selectors()
    const rotation = await rotateDkimKeys(store, 'example.org')
    expect(rotation.retired.map((k) => k.selector)).toEqual(first)
    expect(await selectors()).toEqual(rotation.active.map((k) => k.selector))
    expect(await codeOfAsync(() => removeDkimKey(store, 'example.org', rotation.active[0]!.selector))).toBe('conflict')
    expect((await removeDkimKey(store, 'example.org', first[0]!)).state).toBe('retired')
    expect(await outboundSignatures(store, raw, envelope('someone@example.net'))).toBeUndefined()
    expect(await outboundSignatures(store, raw, envelope('undisclosed-recipients:;'))).toBeUndefined()
  })
})
