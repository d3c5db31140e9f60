import {describe, expect, it} from 'vitest'
import {domainOf, normalizeAddress, normalizeAliasKey, normalizeDomain, normalizeLocalPart} from '../../src/address.js'
import {MailboxError} from '../../src/errors.js'
import {codeOf} from '../helpers/errors.js'

/** Runs fn, expects a MailboxError, returns its code (so a test can assert the exact code). */

describe('normalizeAddress', () => {
  it.each([
    ['Alice@Example.COM', 'alice@example.com'],
    ['alice@example.com', 'alice@example.com'],
    ['ALICE.SMITH+tag@EXAMPLE.org', 'alice.smith+tag@example.org'],
    ['a@example.com.', 'a@example.com'], // trailing root dot
    ['a@localhost', 'a@localhost'],
    ['a@sub.domain.example', 'a@sub.domain.example'],
    ["o'brien@example.com", "o'brien@example.com"],
    ['x_y-z=1@example.com', 'x_y-z=1@example.com'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeAddress(input)).toBe(expected)
  })

  it('converts an IDN domain to punycode and lowercases it first', () => {
    expect(normalizeAddress('a@münchen.de')).toBe('a@xn--mnchen-3ya.de')
    expect(normalizeAddress('a@Bücher.Example.')).toBe('a@xn--bcher-kva.example')
    // the ASCII form of the same domain is the same key
    expect(normalizeAddress('a@xn--bcher-kva.example')).toBe(normalizeAddress('a@BÜCHER.example'))
  })

  it('keeps a UTF-8 local part, lowercased and NFC-normalized', () => {
    expect(normalizeAddress('Jörg@example.com')).toBe('jörg@example.com')
    // "o" + combining diaeresis composes to the same key as precomposed ö
    expect(normalizeAddress('jo\u0308rg@example.com')).toBe('j\u00f6rg@example.com')
  })

  it('splits at the last @', () => {
    expect(domainOf(normalizeAddress('bob@example.com'))).toBe('example.com')
  })

  it.each([
    ['', 'empty'],
    ['alice', 'no @'],
    ['alice.example.com', 'no @'],
    ['@example.com', 'empty local part'],
    ['alice@', 'empty domain'],
    ['a b@example.com', 'space in local part'],
    [' a@example.com', 'leading space'],
    ['a@exa mple.com', 'space in domain'],
    ['a\tb@example.com', 'tab'],
    ['a..b@example.com', 'consecutive dots'],
    ['.a@example.com', 'leading dot'],
    ['a.@example.com', 'trailing dot in local part'],
    ['a@b@example.com', 'two @'],
    ['"a b"@example.com', 'quoted local part'],
    ['a(comment)@example.com', 'comment'],
    ['a,b@example.com', 'comma'],
    ['<a@example.com>', 'angle brackets'],
    ['a@example', 'single-label domain'],
    ['a@com', 'single-label domain'],
    ['a@-example.com', 'label starting with -'],
    ['a@example-.com', 'label ending with -'],
    ['a@ex_ample.com', 'underscore in domain'],
    ['a@example..com', 'empty label'],
    ['a@.example.com', 'leading empty label'],
    ['a@[192.0.2.1]', 'address literal'],
    ['a\u0000@example.com', 'NUL'],
    ['a@exam\nple.com', 'line break in domain'],
  ])('refuses %j (%s) with code invalid', (input) => {
    expect(codeOf(() => normalizeAddress(input))).toBe('invalid')
  })

  it('accepts a 64-octet local part and refuses 65', () => {
    expect(normalizeAddress('a'.repeat(64) + '@example.com')).toBe('a'.repeat(64) + '@example.com')
    expect(codeOf(() => normalizeAddress('a'.repeat(65) + '@example.com'))).toBe('invalid')
  })

  it('counts the local part limit in UTF-8 octets, not characters', () => {
    // ä is two octets: 32 of them fit in 64, 33 do not
    expect(normalizeAddress('ä'.repeat(32) + '@example.com')).toBe('ä'.repeat(32) + '@example.com')
    expect(codeOf(() => normalizeAddress('ä'.repeat(33) + '@example.com'))).toBe('invalid')
  })

  it('refuses a domain label of 64 characters and accepts 63', () => {
    expect(normalizeAddress(`a@${'b'.repeat(63)}.com`)).toBe(`a@${'b'.repeat(63)}.com`)
    expect(codeOf(() => normalizeAddress(`a@${'b'.repeat(64)}.com`))).toBe('invalid')
  })

  it('refuses an address longer than 254 octets even when each part is valid', () => {
    const domain = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(57)].join('.') // 249 octets
    expect(normalizeDomain(domain)).toBe(domain)
    expect(normalizeAddress('abcd@' + domain)).toBe('abcd@' + domain) // 254 octets
    expect(codeOf(() => normalizeAddress('abcde@' + domain))).toBe('invalid') // 255 octets
  })
})

describe('normalizeDomain', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['  example.com  ', 'example.com'],
    ['example.com.', 'example.com'],
    ['LOCALHOST', 'localhost'],
    ['münchen.de', 'xn--mnchen-3ya.de'],
    ['a-b.example', 'a-b.example'],
    ['123.example', '123.example'],
  ])('%j → %s', (input, expected) => {
    expect(normalizeDomain(input)).toBe(expected)
  })

  it.each(['', '   ', '.', 'example', 'a@example.com', 'ex ample.com', '-a.example', 'a-.example', 'a..example', 'ex*ample.com'])(
    'refuses %j',
    (input) => {
      expect(codeOf(() => normalizeDomain(input))).toBe('invalid')
    },
  )

  it('refuses a domain longer than 253 octets', () => {
    const long = Array.from({length: 4}, () => 'a'.repeat(63)).join('.') + '.com' // 255 octets
    expect(codeOf(() => normalizeDomain(long))).toBe('invalid')
  })
})

describe('normalizeLocalPart', () => {
  it('lowercases and keeps allowed specials', () => {
    expect(normalizeLocalPart('Info+Sales')).toBe('info+sales')
    expect(normalizeLocalPart("a!#$%&'*+-/=?^_`{|}~b")).toBe("a!#$%&'*+-/=?^_`{|}~b")
  })
  it.each(['', 'a b', 'a..b', '.a', 'a.', 'a"b', 'a\\b', 'a:b', 'a;b', 'a[b]'])('refuses %j', (input) => {
    expect(codeOf(() => normalizeLocalPart(input))).toBe('invalid')
  })
})

describe('normalizeAliasKey', () => {
  it('normalizes a catch-all key to @domain', () => {
    expect(normalizeAliasKey('@Example.COM.')).toBe('@example.com')
    expect(normalizeAliasKey('@münchen.de')).toBe('@xn--mnchen-3ya.de')
  })
  it('normalizes a full address like normalizeAddress', () => {
    expect(normalizeAliasKey('Sales@Example.com')).toBe('sales@example.com')
  })
  it('refuses a malformed catch-all or address', () => {
    expect(codeOf(() => normalizeAliasKey('@'))).toBe('invalid')
    expect(codeOf(() => normalizeAliasKey('@@example.com'))).toBe('invalid')
    expect(codeOf(() => normalizeAliasKey('sales'))).toBe('invalid')
  })
})

describe('domainOf', () => {
  it('returns what follows the last @ (also for a catch-all key)', () => {
    expect(domainOf('a@example.com')).toBe('example.com')
    expect(domainOf('@example.com')).toBe('example.com')
  })
})

describe('white space in addresses', () => {
  it('is refused anywhere, also around the domain', async () => {
    const {normalizeAddress} = await import('../../src/address.js')
    for (const bad of ['a@ x.com', 'a@x.com ', 'a@x.com\n', ' a@x.com', 'a b@x.com']) {
      expect(() => normalizeAddress(bad), bad).toThrow(/invalid address/)
    }
  })
})

describe('kept normalizations', () => {
  it('answer the same again, refuse the same again, and stay right past the bound', () => {
    expect(normalizeAddress('Kept@Example.COM')).toBe('kept@example.com')
    expect(normalizeAddress('Kept@Example.COM')).toBe('kept@example.com')
    expect(normalizeDomain('MÜNCHEN.de')).toBe('xn--mnchen-3ya.de')
    expect(normalizeDomain('MÜNCHEN.de')).toBe('xn--mnchen-3ya.de')
    for (let i = 0; i < 2; i++) {
      expect(() => normalizeAddress('bad address@example.com')).toThrow(MailboxError)
      expect(() => normalizeDomain('-bad-.example')).toThrow(MailboxError)
    }
    // more distinct inputs than are kept: each still normalized, the first ones too
    for (let i = 0; i < 5000; i++) expect(normalizeAddress(`User${i}@Host${i % 7}.Example`)).toBe(`user${i}@host${i % 7}.example`)
    expect(normalizeAddress('Kept@Example.COM')).toBe('kept@example.com')
  })
})
