import {describe, expect, it} from 'vitest'
import {decodeMailboxName, encodeMailboxName} from '../../src/imap/mutf7.js'

describe('modified UTF-7 (RFC 3501 §5.1.3)', () => {
  it('the RFC example: ~peter/mail/台北/日本語', () => {
    expect(encodeMailboxName('~peter/mail/台北/日本語')).toBe('~peter/mail/&U,BTFw-/&ZeVnLIqe-')
    expect(decodeMailboxName('~peter/mail/&U,BTFw-/&ZeVnLIqe-')).toBe('~peter/mail/台北/日本語')
  })

  it('"&" is "&-"', () => {
    expect(encodeMailboxName('&')).toBe('&-')
    expect(encodeMailboxName('Tom & Jerry')).toBe('Tom &- Jerry')
    expect(decodeMailboxName('Tom &- Jerry')).toBe('Tom & Jerry')
    expect(decodeMailboxName('&-&-')).toBe('&&')
  })

  it('printable ASCII stands for itself', () => {
    const ascii = Array.from({length: 0x7f - 0x20}, (_, i) => String.fromCharCode(0x20 + i))
      .filter((c) => c !== '&')
      .join('')
    expect(encodeMailboxName(ascii)).toBe(ascii)
    expect(decodeMailboxName(ascii)).toBe(ascii)
  })

  it('known encodings', () => {
    expect(encodeMailboxName('Entwürfe')).toBe('Entw&APw-rfe')
    expect(encodeMailboxName('Gelöschte Elemente')).toBe('Gel&APY-schte Elemente')
    expect(encodeMailboxName('Отправленные')).toBe('&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-')
    expect(encodeMailboxName('😀')).toBe('&2D3eAA-')
    // "-" right after an encoded run is a plain "-"
    expect(encodeMailboxName('日-本')).toBe('&ZeU--&Zyw-')
    expect(decodeMailboxName('&ZeU--')).toBe('日-')
  })

  it('control characters (not printable ASCII) are encoded', () => {
    expect(encodeMailboxName('a\tb')).toBe('a&AAk-b')
    expect(decodeMailboxName('a&AAk-b')).toBe('a\tb')
  })

  it('round-trips random Unicode, astral characters included', () => {
    let seed = 12345
    const rand = (n: number) => (seed = (seed * 48271) % 2147483647) % n
    const pools = [
      () => String.fromCharCode(0x20 + rand(0x5f)), // printable ASCII, & included
      () => '&',
      () => '-',
      () => String.fromCharCode(0xa0 + rand(0x2000)), // Latin, Greek, Cyrillic ...
      () => String.fromCharCode(0x4e00 + rand(0x5000)), // CJK
      () => String.fromCodePoint(0x1f300 + rand(0x300)), // emoji (surrogate pairs)
      () => String.fromCodePoint(0x10000 + rand(0xfffff)), // anywhere in the astral planes
    ]
    for (let i = 0; i < 2000; i++) {
      let name = ''
      const len = 1 + rand(12)
      for (let k = 0; k < len; k++) name += pools[rand(pools.length)]!()
      const encoded = encodeMailboxName(name)
      expect(encoded, JSON.stringify(name)).toMatch(/^[\x20-\x7e]*$/)
      expect(decodeMailboxName(encoded), JSON.stringify(name)).toBe(name)
    }
  })

  it('a name without "&" is taken as it is (also raw UTF-8 from a lenient client)', () => {
    expect(decodeMailboxName('INBOX/Sent Items')).toBe('INBOX/Sent Items')
    expect(decodeMailboxName('Grüße')).toBe('Grüße')
  })

  it.each([
    ['&', 'lone "&"'],
    ['a&', 'unterminated at the end'],
    ['&U,BTFw', 'unterminated shift'],
    ['&U,BTFw/a', 'no "-" before the end'],
    ['&U/BTFw-', '"/" instead of ","'],
    ['&U=BTFw-', 'base64 padding is not used'],
    ['&U,BT!w-', 'a character outside base64'],
    ['&U,BTF-', 'an odd number of bytes'],
    ['&&-', 'an "&" inside a shift'],
    ['&A-', 'six bits: not even one byte'],
    ['&AGE-', 'printable ASCII ("a") must not be encoded'],
    ['&U,BTFx-', 'non-zero padding bits'],
  ])('%j is refused (%s)', (input) => {
    expect(() => decodeMailboxName(input)).toThrow()
  })
})
