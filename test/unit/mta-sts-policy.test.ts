/**
 * MTA-STS policy and record parsing (src/mta-sts/policy.ts) by RFC 8461's grammar: the RFC's own
 * examples, the tolerances the grammar allows (LF lines, no final line end, unknown fields,
 * repeated fields), and the inputs it refuses; mx matching with one-label wildcards (§4.1).
 */
import {describe, expect, it} from 'vitest'
import {formatStsPolicy, mxMatches, parseStsPolicy, parseStsRecord, StsPolicyError} from '../../src/mta-sts/policy.js'

// RFC 8461 §3.2's example policy
const RFC_EXAMPLE = 'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n'

describe('parseStsPolicy', () => {
  it("reads RFC 8461's example", () => {
    expect(parseStsPolicy(RFC_EXAMPLE)).toEqual({mode: 'enforce', mx: ['mail.example.com', '*.example.net', 'backupmx.example.com'], maxAge: 604800})
  })

  it('takes LF line ends, a missing last line end, spaces after the colon and at line end, and any field order', () => {
    expect(parseStsPolicy('mx: MX.Example.COM.\nmax_age:86400 \nmode:  testing\nversion: STSv1')).toEqual({mode: 'testing', mx: ['mx.example.com'], maxAge: 86400})
  })

  it('ignores unknown fields that are well formed, and takes the first of a repeated field', () => {
    expect(parseStsPolicy('version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nfuture_ext: some value here\nmax_age: 5\nmax_age: 9\n')).toEqual({mode: 'testing', mx: ['a.example'], maxAge: 5})
  })

  it('mode none needs no mx', () => {
    expect(parseStsPolicy('version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n')).toEqual({mode: 'none', mx: [], maxAge: 86400})
  })

  it('a max_age above a year is taken as a year (RFC 8461 §3.2: at most 31557600)', () => {
    expect(parseStsPolicy('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 9999999999\n').maxAge).toBe(31_557_600)
  })

  it('reads keywords in any case (ABNF literals, RFC 5234 §2.3) and skips blank lines: an enforce policy read as no policy would be a downgrade', () => {
    expect(parseStsPolicy('\r\nVersion: stsv1\r\nMODE: Enforce\r\n\r\nMX: Mail.Example.com\r\nmax_age: 86400\r\n\r\n')).toEqual({mode: 'enforce', mx: ['mail.example.com'], maxAge: 86400})
  })

  it('refuses what the grammar does not allow, saying what', () => {
    const bad: [string, RegExp][] = [
      ['', /empty/],
      ['\r\n\n', /empty/],
      ['version: STSv1\nmode: enforce-ish\nmx: a.example\nmax_age: 1\n', /unknown mode/],
      ['mode: enforce\nmx: a.example\nmax_age: 1\n', /no version/],
      ['version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n', /unknown version "STSv2"/],
      ['version: STSv1\nmx: a.example\nmax_age: 1\n', /no mode/],
      ['version: STSv1\nmode: enforce\nmax_age: 1\n', /mode enforce without an mx/],
      ['version: STSv1\nmode: testing\nmx: a.example\n', /no max_age/],
      ['version: STSv1\nmode: testing\nmx: a.example\nmax_age: -1\n', /invalid max_age/],
      ['version: STSv1\nmode: testing\nmx: a.example\nmax_age: 12345678901\n', /invalid max_age/],
      ['version: STSv1\nmode: testing\nmx: a.example\nmax_age: 1d\n', /invalid max_age/],
      ['version: STSv1\nmode: testing\nmx: a.*.example\nmax_age: 1\n', /invalid mx/],
      ['version: STSv1\nmode: testing\nmx: *example.com\nmax_age: 1\n', /invalid mx/],
      ['version: STSv1\nmode: testing\nmx: -a.example\nmax_age: 1\n', /invalid mx/],
      ['version : STSv1\nmode: testing\nmx: a.example\nmax_age: 1\n', /invalid field name/],
      ['<html><body>Not here</body></html>', /line 1 is not/],
      ['version: STSv1\nmode: testing\nmx: a.example\nmax_age: 1\nnote:\n', /invalid value for note/],
    ]
    for (const [text, why] of bad) {
      expect(() => parseStsPolicy(text), JSON.stringify(text)).toThrow(StsPolicyError)
      expect(() => parseStsPolicy(text), JSON.stringify(text)).toThrow(why)
    }
  })

  it('what formatStsPolicy writes parses back to the same policy', () => {
    const policy = {mode: 'enforce' as const, mx: ['mail.example.com', '*.example.net'], maxAge: 604800}
    expect(formatStsPolicy(policy)).toBe('version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n')
    expect(parseStsPolicy(formatStsPolicy(policy))).toEqual(policy)
  })
})

describe('mxMatches (RFC 8461 §4.1)', () => {
  const policy = ['mail.example.com', '*.example.net']
  it('an exact name, in any case, with or without the trailing dot', () => {
    expect(mxMatches(policy, 'mail.example.com')).toBe(true)
    expect(mxMatches(policy, 'MAIL.Example.com.')).toBe(true)
    expect(mxMatches(policy, 'mail2.example.com')).toBe(false)
    expect(mxMatches(policy, 'example.com')).toBe(false)
  })
  it('a wildcard covers exactly one label: not the bare domain, not two labels', () => {
    expect(mxMatches(policy, 'mx1.example.net')).toBe(true)
    expect(mxMatches(policy, 'example.net')).toBe(false)
    expect(mxMatches(policy, 'a.b.example.net')).toBe(false)
    expect(mxMatches(policy, 'mx1.evilexample.net')).toBe(false)
  })
})

describe('parseStsRecord (RFC 8461 §3.1)', () => {
  it("reads the id of RFC 8461's example and of records with extensions and a trailing semicolon", () => {
    expect(parseStsRecord(['v=STSv1; id=20160831085700Z;'])).toBe('20160831085700Z')
    expect(parseStsRecord(['v=STSv1;id=abc123'])).toBe('abc123')
    expect(parseStsRecord(['v=STSv1; ext=whatever; id=abc'])).toBe('abc')
  })
  it('other TXT records at the name are ignored', () => {
    expect(parseStsRecord(['v=spf1 -all', 'v=STSv1; id=x1', 'something else'])).toBe('x1')
  })
  it('no record, two records, no id, a bad id, a second id or a wrong version: no policy', () => {
    for (const records of [[], ['v=STSv1; id=a', 'v=STSv1; id=b'], ['v=STSv1;'], ['v=STSv1; id=has-dash'], ['v=STSv1; id=' + 'a'.repeat(33)], ['v=STSv1; id=a; id=b'], ['v=STSv10; id=a'], ['v=stsv1; id=a']]) {
      expect(parseStsRecord(records), JSON.stringify(records)).toBeUndefined()
    }
  })
})
