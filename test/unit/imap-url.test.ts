/** IMAP URLs for CATENATE (RFC 5092): what names one of the session user's messages, and what is refused. */
import {describe, expect, it} from 'vitest'
import {parseMessageUrl, urlResponseText} from '../../src/imap/imap-url.js'

const USER = 'alice@example.test'
const parse = (url: string) => parseMessageUrl(url, USER)

describe('parseMessageUrl', () => {
  it('reads the RFC 4469 forms: mailbox, UIDVALIDITY, UID, SECTION (any case), PARTIAL', () => {
    expect(parse('/INBOX;UIDVALIDITY=785799047/;UID=113330/;SECTION=1.5.9')).toEqual({
      mailbox: 'INBOX',
      uidValidity: 785799047,
      uid: 113330,
      section: {path: [1, 5, 9], specifier: '', label: '1.5.9'},
    })
    expect(parse('/Drafts/;uid=20/;section=HEADER.FIELDS%20(FROM%20TO)/;partial=10.5')).toMatchObject({
      mailbox: 'Drafts',
      uid: 20,
      section: {specifier: 'HEADER.FIELDS', fields: ['FROM', 'TO']},
      partial: [10, 5],
    })
  })

  it('decodes the mailbox name as percent-encoded UTF-8, hierarchy separators kept', () => {
    expect(parse('/Archive/2024%20Q1/R%C3%A9sum%C3%A9;UIDVALIDITY=3/;UID=4')).toMatchObject({mailbox: 'Archive/2024 Q1/Résumé', uid: 4})
  })

  it('takes absolute URLs of the session user only', () => {
    expect(parse('imap://alice%40example.test@mail.example.test:143/INBOX/;UID=1')).toMatchObject({mailbox: 'INBOX', uid: 1})
    expect(parse('imap://ALICE%40example.test;AUTH=*@host/INBOX/;UID=1')).toMatchObject({mailbox: 'INBOX', uid: 1})
    expect(parse('imap://host/INBOX/;UID=1')).toMatchObject({uid: 1})
    expect(parse('imap://bob%40example.test@host/INBOX/;UID=1')).toBeUndefined()
    expect(parse('imap://bob%40example.test;AUTH=*@host/INBOX/;UID=1')).toBeUndefined()
  })

  it('refuses what is not a message: no UID, URLAUTH, EXPIRE, bad numbers, bad sections, wrong order, bad escapes', () => {
    for (const url of [
      '/INBOX',
      '/INBOX;UIDVALIDITY=1',
      'INBOX/;UID=1',
      '//host/INBOX/;UID=1',
      '/INBOX/;UID=0',
      '/INBOX/;UID=1x',
      '/INBOX;UIDVALIDITY=1;UIDVALIDITY=2/;UID=1',
      '/INBOX/;UID=1/;URLAUTH=anonymous:internal:abc',
      '/INBOX/;UID=1/;EXPIRE=2030-01-01T00:00:00Z',
      '/INBOX/;UID=1/;SECTION=1.FOO',
      '/INBOX/;UID=1/;SECTION=1]<0.5>',
      '/INBOX/;UID=1/;SECTION=1]%20X',
      '/INBOX/;UID=1/;PARTIAL=1.0',
      '/INBOX/;SECTION=1/;UID=1',
      '/%ZZ/;UID=1',
      '/%C3/;UID=1',
      'http://host/INBOX/;UID=1',
    ]) {
      expect(parse(url), url).toBeUndefined()
    }
  })
})

describe('urlResponseText', () => {
  it('is the URL, without "]" or line breaks that would end the response code or the line', () => {
    expect(urlResponseText('/INBOX/;UID=1')).toBe('/INBOX/;UID=1')
    expect(urlResponseText('/a]b\r\n')).toBe('/a%5Db')
  })
})
