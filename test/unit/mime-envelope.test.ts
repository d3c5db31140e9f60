import {describe, expect, it} from 'vitest'
import {buildEnvelope} from '../../src/mime/envelope.js'
import {parseHeader} from '../../src/mime/header.js'

const envelopeOf = (...lines: string[]) => buildEnvelope(parseHeader(lines.join('\r\n') + '\r\n'))

describe('buildEnvelope', () => {
  it('a complete header: every field, strings undecoded', () => {
    const env = envelopeOf(
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      'Subject: =?UTF-8?B?Q2Fmw6k=?= and more',
      'From: "Alice A." <alice@example.com>',
      'Sender: Secretary <sec@example.com>',
      'Reply-To: replies@example.com',
      'To: bob@example.org, =?ISO-8859-1?Q?Ren=E9?= <rene@example.net>',
      'Cc: Carol <carol@example.org>',
      'Bcc: dave@example.org',
      'In-Reply-To: <parent@example.com>',
      'Message-ID: <id-1@example.com>',
    )
    expect(env).toEqual({
      date: 'Mon, 1 Jan 2024 10:00:00 +0000',
      subject: '=?UTF-8?B?Q2Fmw6k=?= and more',
      from: [{name: 'Alice A.', mailbox: 'alice', host: 'example.com'}],
      sender: [{name: 'Secretary', mailbox: 'sec', host: 'example.com'}],
      replyTo: [{mailbox: 'replies', host: 'example.com'}],
      to: [
        {mailbox: 'bob', host: 'example.org'},
        {name: '=?ISO-8859-1?Q?Ren=E9?=', mailbox: 'rene', host: 'example.net'},
      ],
      cc: [{name: 'Carol', mailbox: 'carol', host: 'example.org'}],
      bcc: [{mailbox: 'dave', host: 'example.org'}],
      inReplyTo: '<parent@example.com>',
      messageId: '<id-1@example.com>',
    })
  })

  it('Sender and Reply-To default to From', () => {
    const env = envelopeOf('From: Alice <alice@example.com>, bob@example.com', 'To: x@y.z')
    const from = [
      {name: 'Alice', mailbox: 'alice', host: 'example.com'},
      {mailbox: 'bob', host: 'example.com'},
    ]
    expect(env.from).toEqual(from)
    expect(env.sender).toEqual(from)
    expect(env.replyTo).toEqual(from)
  })

  it('an empty Sender or Reply-To field also falls back to From', () => {
    const env = envelopeOf('From: a@b.c', 'Sender:', 'Reply-To: ')
    expect(env.sender).toEqual([{mailbox: 'a', host: 'b.c'}])
    expect(env.replyTo).toEqual([{mailbox: 'a', host: 'b.c'}])
  })

  it('missing fields: empty lists, no date/subject/inReplyTo/messageId keys', () => {
    const env = envelopeOf('X-Other: 1')
    expect(env).toEqual({from: [], sender: [], replyTo: [], to: [], cc: [], bcc: []})
    expect('date' in env).toBe(false)
    expect('subject' in env).toBe(false)
  })

  it('an empty Subject is present as an empty string', () => {
    expect(envelopeOf('Subject:', 'From: a@b.c').subject).toBe('')
  })

  it('folded address lists', () => {
    const env = envelopeOf('To: one@example.com,', ' two@example.com,', '\t"Three" <three@example.com>')
    expect(env.to).toEqual([
      {mailbox: 'one', host: 'example.com'},
      {mailbox: 'two', host: 'example.com'},
      {name: 'Three', mailbox: 'three', host: 'example.com'},
    ])
  })

  it('group syntax: empty group', () => {
    expect(envelopeOf('To: undisclosed-recipients:;').to).toEqual([{mailbox: 'undisclosed-recipients'}, {}])
  })

  it('group syntax: members between group start and group end, then ordinary addresses', () => {
    expect(envelopeOf('Cc: team: a@x.example, "B" <b@y.example>;, solo@z.example').cc).toEqual([
      {mailbox: 'team'},
      {mailbox: 'a', host: 'x.example'},
      {name: 'B', mailbox: 'b', host: 'y.example'},
      {},
      {mailbox: 'solo', host: 'z.example'},
    ])
  })

  it('a quoted local part loses its quotes, the host is what follows the last @', () => {
    expect(envelopeOf('From: <"odd@local"@example.com>').from).toEqual([{mailbox: 'odd@local', host: 'example.com'}])
  })

  it('an address without a domain has an empty host, never NIL (a group marker) nor a made-up one', () => {
    expect(envelopeOf('From: Root <root>').from).toEqual([{name: 'Root', mailbox: 'root', host: ''}])
    expect(envelopeOf('From: root').from).toEqual([{mailbox: 'root', host: ''}])
    expect(envelopeOf('To: MAILER-DAEMON').to).toEqual([{mailbox: 'MAILER-DAEMON', host: ''}])
  })

  it('In-Reply-To and Message-ID are kept raw', () => {
    const env = envelopeOf('In-Reply-To: <a@b> <c@d> (comment)', 'Message-ID:   <weird id@x>  ')
    expect(env.inReplyTo).toBe('<a@b> <c@d> (comment)')
    expect(env.messageId).toBe('<weird id@x>')
  })

  it('the first of duplicated fields wins', () => {
    const env = envelopeOf('Subject: first', 'Subject: second', 'From: a@b.c', 'From: d@e.f')
    expect(env.subject).toBe('first')
    expect(env.from).toEqual([{mailbox: 'a', host: 'b.c'}])
  })
})
