/** Content-Transfer-Encoding removal for IMAP BINARY: the RFC 2045 §6.7 rules on real edge cases. */
import {describe, expect, it} from 'vitest'
import {decodeQuotedPrintable, decodeTransferEncoding} from '../../src/mime/transfer-encoding.js'

const qp = (s: string) => decodeQuotedPrintable(Buffer.from(s, 'latin1')).toString('latin1')

describe('quoted-printable', () => {
  it('decodes escapes in either case, joins soft line breaks (CRLF, LF, blanks after "=")', () => {
    expect(qp('Caf=C3=a9')).toBe('Caf\xc3\xa9')
    expect(qp('soft=\r\nbreak')).toBe('softbreak')
    expect(qp('soft=\nbreak')).toBe('softbreak')
    expect(qp('soft= \t\r\nbreak')).toBe('softbreak')
    expect(qp('ends with =')).toBe('ends with ')
  })

  it('drops blanks at the end of a line, keeps encoded ones and the line breaks', () => {
    expect(qp('a  \r\nb\t\r\nc  ')).toBe('a\r\nb\r\nc')
    expect(qp('a =20\r\nb')).toBe('a  \r\nb')
  })

  it('keeps a malformed "=" as it is', () => {
    expect(qp('=G1 =4 x=')).toBe('=G1 =4 x')
  })
})

describe('decodeTransferEncoding', () => {
  it('base64 (line breaks ignored), identity encodings as they are, unknown ones undefined', () => {
    expect(decodeTransferEncoding(Buffer.from('AAH/\r\nQQA='), 'base64')).toEqual(Buffer.from([0, 1, 0xff, 0x41, 0]))
    for (const cte of ['7bit', '8bit', 'binary', ' BINARY ']) expect(decodeTransferEncoding(Buffer.from('x\0y'), cte)).toEqual(Buffer.from('x\0y'))
    expect(decodeTransferEncoding(Buffer.from('x'), 'x-uuencode')).toBeUndefined()
  })
})
