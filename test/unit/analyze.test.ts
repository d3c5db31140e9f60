import {dirname} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {analyzeMessage, withTopChanged} from '../../src/mailstore/analyze.js'
import {MAX_SEARCH_TEXT, extractText, searchText} from '../../src/mailstore/search-text.js'
import {parseMessage} from '../../src/mime/structure.js'
import {tempStore} from '../helpers/store.js'
import {openStore} from '../../src/store/store.js'

const msg = (...lines: string[]) => Buffer.from(lines.join('\r\n') + '\r\n', 'latin1')
const summaryOf = (...headerLines: string[]) => analyzeMessage(msg(...headerLines, '', 'body')).summary

describe('analyzeMessage', () => {
  it('returns the structure and envelope of the MIME parser and a summary', () => {
    const raw = msg(
      'From: Alice <alice@example.com>',
      'To: bob@example.org',
      'Subject: Hello',
      'Date: Mon, 1 Jan 2024 10:00:00 +0100',
      'Message-ID: <m1@example.com>',
      '',
      'hi',
    )
    const analysis = analyzeMessage(raw)
    const parsed = parseMessage(raw)
    expect(analysis.structure).toEqual(parsed.root)
    expect(analysis.envelope).toEqual(parsed.envelope)
    expect(analysis.summary).toEqual({
      from: 'Alice <alice@example.com>',
      to: ['bob@example.org'],
      subject: 'Hello',
      date: Date.UTC(2024, 0, 1, 9, 0, 0),
      messageId: '<m1@example.com>',
    })
  })

  describe('subject decoding (RFC 2047)', () => {
    it('B encoding, UTF-8', () => {
      expect(summaryOf('Subject: =?UTF-8?B?Q2Fmw6kg4oKs?=').subject).toBe('Café €')
    })
    it('Q encoding, UTF-8, underscores are spaces', () => {
      expect(summaryOf('Subject: =?utf-8?Q?Caf=C3=A9_ol=C3=A9?=').subject).toBe('Café olé')
    })
    it('Q encoding, ISO-8859-1', () => {
      expect(summaryOf('Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?=').subject).toBe('Café crème')
    })
    it('B encoding, ISO-8859-1', () => {
      expect(summaryOf('Subject: =?iso-8859-1?B?Q2Fm6Q==?=').subject).toBe('Café')
    })
    it('mixed with plain text, and adjacent words across a fold joined without the white space', () => {
      expect(summaryOf('Subject: Re: =?UTF-8?Q?Hello_?=', ' =?UTF-8?Q?World?= !').subject).toBe('Re: Hello World !')
    })
    it('the envelope keeps the subject undecoded', () => {
      expect(analyzeMessage(msg('Subject: =?UTF-8?B?Q2Fmw6k=?=', '', 'x')).envelope.subject).toBe('=?UTF-8?B?Q2Fmw6k=?=')
    })
    it('a malformed encoded word does not throw and is shown as it came', () => {
      expect(summaryOf('Subject: =?UTF-8?B?????=').subject).toBe('=?UTF-8?B?????=')
      expect(summaryOf('Subject: =?UTF-8?X?abc?= tail').subject).toBe('=?UTF-8?X?abc?= tail')
      expect(summaryOf('Subject: broken =?utf-8?b?w6k').subject).toBe('broken =?utf-8?b?w6k')
    })
    it('a missing subject is an empty string', () => {
      expect(summaryOf('From: a@b.c').subject).toBe('')
    })
  })

  describe('from', () => {
    it('Name <addr>, or the bare address', () => {
      expect(summaryOf('From: Alice <alice@example.com>').from).toBe('Alice <alice@example.com>')
      expect(summaryOf('From: alice@example.com').from).toBe('alice@example.com')
      expect(summaryOf('From: a@x.example, B <b@y.example>').from).toBe('a@x.example, B <b@y.example>')
    })
    it('names with specials are quoted', () => {
      expect(summaryOf('From: "Bob B." <bob@example.com>').from).toBe('"Bob B." <bob@example.com>')
      expect(summaryOf('From: "Doe, John" <j@example.com>').from).toBe('"Doe, John" <j@example.com>')
      expect(summaryOf('From: "say \\"hi\\"" <q@example.com>').from).toBe('"say \\"hi\\"" <q@example.com>')
    })
    it('encoded display names are decoded, then quoted when needed', () => {
      expect(summaryOf('From: =?UTF-8?Q?Ren=C3=A9?= <rene@example.com>').from).toBe('René <rene@example.com>')
      expect(summaryOf('From: =?UTF-8?Q?Doe=2C_Jane?= <jane@example.com>').from).toBe('"Doe, Jane" <jane@example.com>')
    })
    it('group markers are left out', () => {
      expect(summaryOf('From: team: a@x.example;').from).toBe('a@x.example')
    })
    it('an address without a domain', () => {
      expect(summaryOf('From: Root <root>').from).toBe('Root <root>')
      expect(summaryOf('From: root').from).toBe('root')
    })
    it('no From: empty string', () => {
      expect(summaryOf('Subject: x').from).toBe('')
    })
  })

  it('to is the To and Cc addresses, without groups markers or Bcc', () => {
    const s = summaryOf(
      'To: a@x.example, "B" <b@y.example>',
      'Cc: team: c@z.example, d@z.example;, undisclosed-recipients:;, e@w.example',
      'Bcc: hidden@example.com',
    )
    expect(s.to).toEqual(['a@x.example', 'b@y.example', 'c@z.example', 'd@z.example', 'e@w.example'])
    expect(summaryOf('Subject: none').to).toEqual([])
  })

  it('date parsed to epoch ms; an invalid or missing date is omitted', () => {
    expect(summaryOf('Date: Tue, 29 Feb 2028 23:59:59 -0500').date).toBe(Date.UTC(2028, 2, 1, 4, 59, 59))
    const invalid = summaryOf('Date: not a date at all')
    expect('date' in invalid).toBe(false)
    const missing = summaryOf('Subject: x')
    expect('date' in missing).toBe(false)
    expect('messageId' in missing).toBe(false)
  })
})

describe('searchText', () => {
  const store = tempStore()
  const cacheErrors: unknown[] = []
  const onCacheError = (err: unknown) => cacheErrors.push(err)
  afterEach(() => expect(cacheErrors).toEqual([]))
  const putBlob = (id: string, raw: Buffer, info = true) => {
    store.transact(() => {
      store.blobs.putSync(id, raw)
      if (info) store.blobInfo.putSync(id, {refs: 1, size: raw.length, createdAt: Date.now()})
    })
  }

  const latin1QP = msg(
    'From: a@example.com',
    'Subject: =?ISO-8859-1?Q?Cr=E8me?=',
    'Content-Type: text/plain; charset=ISO-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Caf=E9 cr=E8me br=FBl=E9e',
    'a soft=',
    ' break',
  )

  it('decodes a text/plain part in ISO-8859-1 quoted-printable', async () => {
    putBlob('qp', latin1QP)
    const text = await searchText(store.mail, 'qp', onCacheError)
    // the body only: the Subject is not BODY's to match
    expect(text).toBe('Café crème brûlée\na soft break\n')
  })

  it('falls back to the HTML with the tags removed', async () => {
    const raw = msg(
      'From: a@example.com',
      'Subject: Page',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><head><title>T</title></head><body><p>Hello <b>bold</b> world</p><div>second line</div></body></html>',
    )
    putBlob('html', raw)
    const text = await searchText(store.mail, 'html', onCacheError)
    expect(text).not.toContain('Page')
    expect(text).toContain('Hello bold world')
    expect(text).toContain('second line')
    expect(text).not.toMatch(/[<>]|<\/?[a-z]+/i)
  })

  it('caches the text in blobText: a second call does not parse the blob again', async () => {
    putBlob('cached', latin1QP)
    expect(store.blobText.get('cached')).toBeUndefined()
    const first = await searchText(store.mail, 'cached', onCacheError)
    await store.blobText.committed
    expect(store.blobText.get('cached')).toBe('\u0001' + first)
    // change the bytes behind the cache's back: the cached text is still what is returned
    const other = msg('Subject: other', '', 'completely different words')
    store.blobs.putSync('cached', other)
    expect(await extractText(other)).toBe('completely different words\n')
    expect(await searchText(store.mail, 'cached', onCacheError)).toBe(first)
  })

  it('a text cached before BODY left the Subject out is extracted again, not used', async () => {
    putBlob('old-cache', msg('Subject: heading', '', 'body words'))
    store.transact(() => store.blobText.putSync('old-cache', 'heading\nbody words\n'))
    expect(await searchText(store.mail, 'old-cache', onCacheError)).toBe('body words\n')
    await store.blobText.committed
    expect(store.blobText.get('old-cache')).toBe('\u0001body words\n')
  })

  it('does not cache the text of a blob that has no info record (gone meanwhile)', async () => {
    putBlob('orphan', msg('Subject: orphan', '', 'text'), false)
    expect(await searchText(store.mail, 'orphan', onCacheError)).toBe('text\n')
    await store.blobText.committed
    expect(store.blobText.get('orphan')).toBeUndefined()
  })

  it("returns '' for a missing blob and caches nothing", async () => {
    expect(await searchText(store.mail, 'no-such-blob', onCacheError)).toBe('')
    await store.blobText.committed
    expect(store.blobText.get('no-such-blob')).toBeUndefined()
  })

  it('a cache write that fails (here: a read-only store) is reported, and the text is still returned', async () => {
    putBlob('ro', msg('Subject: ro', '', 'read only'))
    await store.env.flushed
    const readOnly = openStore(dirname(store.path), {readOnly: true})
    const failures: unknown[] = []
    try {
      expect(await searchText(readOnly.mail, 'ro', (err) => failures.push(err))).toBe('read only\n')
      await new Promise((r) => setTimeout(r, 50))
      expect(failures).toHaveLength(1)
      expect(store.blobText.get('ro')).toBeUndefined()
    } finally {
      await readOnly.close()
    }
  })

  it('long bodies are cut at MAX_SEARCH_TEXT', async () => {
    const line = 'word '.repeat(15) + '\r\n'
    const raw = Buffer.from('Subject: long\r\n\r\n' + line.repeat(Math.ceil((MAX_SEARCH_TEXT * 1.2) / line.length)))
    const text = await extractText(raw)
    expect(text.length).toBe(MAX_SEARCH_TEXT)
    expect(text.startsWith('word word')).toBe(true)
  })
})

describe('crlfSize', () => {
  it('counts the message as POP3 sends it: CRLF line endings and a final CRLF', () => {
    expect(analyzeMessage(Buffer.from('Subject: a\r\n\r\nbody\r\n')).crlfSize).toBe(20)
    expect(analyzeMessage(Buffer.from('Subject: a\n\nbody\n')).crlfSize).toBe(20)
    expect(analyzeMessage(Buffer.from('Subject: a\r\n\r\nbody')).crlfSize).toBe(20)
  })
})

describe('withTopChanged', () => {
  // a multipart with an attached message and a bare-LF line: every kind of offset there is
  const message = Buffer.from(
    'Received: by mx.example.com; Thu, 3 Dec 2026 12:00:00 +0000\r\nFrom: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: parts\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhello\nthere\r\n' +
      '--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.org\r\nSubject: inner\r\n\r\ninner body\r\n--b1--\r\n',
    'latin1',
  )
  const returnPath = Buffer.from('Return-Path: <alice@example.com>\r\n')
  const signatures = Buffer.from('DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=e;\r\n\tbh=abc; b=def\r\nDKIM-Signature: v=1; a=rsa-sha256; b=ghi\r\n')

  it('gives what parsing the changed message gives: fields put on top, and taken off', () => {
    const local = analyzeMessage(Buffer.concat([returnPath, message]))
    // the queue's copy: the Return-Path line off, the signatures on
    expect(withTopChanged(local, signatures.length - returnPath.length)).toEqual(analyzeMessage(Buffer.concat([signatures, message])))
    expect(withTopChanged(local, -returnPath.length)).toEqual(analyzeMessage(message))
    expect(withTopChanged(analyzeMessage(message), signatures.length)).toEqual(analyzeMessage(Buffer.concat([signatures, message])))
  })
})
