/** Patterns (src/pattern.ts) and MATCH criteria (src/matcher/match.ts). */
import {describe, expect, it} from 'vitest'
import {compilePattern, PATTERN_LIMITS} from '../../src/pattern.js'
import {compileMatch, DEFAULT_TIMEOUT_S, MAX_SINCE_S, MAX_TIMEOUT_S, type Candidate} from '../../src/matcher/match.js'
import {codeOf} from '../helpers/errors.js'

describe('compilePattern', () => {
  it('a plain string is a case-insensitive substring', () => {
    const p = compilePattern('Bob@X.test')
    expect(p('bob@x.test')).toBe(true)
    expect(p('jim.BOB@x.TEST')).toBe(true)
    expect(p('bob@y.test')).toBe(false)
    expect(p('')).toBe(false)
  })

  it('regex metacharacters in a plain string are literal', () => {
    const p = compilePattern('a.b')
    expect(p('xa.by')).toBe(true)
    expect(p('axb')).toBe(false)
  })

  it('/regex/ is a regular expression, case-sensitive unless /i', () => {
    const sensitive = compilePattern('/^reset \\d+$/')
    expect(sensitive('reset 42')).toBe(true)
    expect(sensitive('Reset 42')).toBe(false)
    expect(sensitive('please reset 42')).toBe(false)
    const insensitive = compilePattern('/^reset \\d+$/i')
    expect(insensitive('RESET 7')).toBe(true)
    expect(insensitive('RESET x')).toBe(false)
  })

  it('a /g flag does not make test() stateful', () => {
    const p = compilePattern('/bob/g')
    expect([p('bob'), p('bob'), p('bob')]).toEqual([true, true, true])
  })

  it('an invalid regular expression is invalid', () => {
    expect(codeOf(() => compilePattern('/(/'))).toBe('invalid')
    expect(codeOf(() => compilePattern('/[a-/'))).toBe('invalid')
    expect(codeOf(() => compilePattern('/abc/q'))).toBe('invalid') // unknown flag
  })

  it('an empty pattern is invalid', () => {
    expect(codeOf(() => compilePattern(''))).toBe('invalid')
  })

  it('a pattern longer than 256 characters is invalid', () => {
    expect(PATTERN_LIMITS.maxPatternLength).toBe(256)
    expect(codeOf(() => compilePattern('x'.repeat(257)))).toBe('invalid')
    expect(compilePattern('x'.repeat(256))('x'.repeat(256))).toBe(true)
  })
})

describe('compilePattern: regular expressions run on RE2 (linear time)', () => {
  it('a catastrophic-backtracking pattern answers at once on its worst-case text', () => {
    const cases: [string, string][] = [
      ['/^(a+)+$/', 'a'.repeat(36) + '!'],
      ['/^(a|aa)+$/', 'a'.repeat(60) + '!'],
      ['/(x+x+)+y/', 'x'.repeat(5000)],
      ['/^(\\w+\\s?)*$/', 'word '.repeat(100) + '!'],
    ]
    for (const [source, text] of cases) {
      const p = compilePattern(source)
      const t0 = performance.now()
      expect(p(text), source).toBe(false)
      expect(performance.now() - t0, source).toBeLessThan(500) // a backtracking engine takes minutes
    }
  })

  it('backreferences and lookaround are refused, naming RE2', () => {
    for (const source of ['/(a)\\1/', '/(?=a)b/', '/(?!a)b/', '/(?<=a)b/', '/(?<!a)b/']) {
      let message = ''
      try {
        compilePattern(source)
      } catch (err) {
        message = (err as Error).message
      }
      expect(message, source).toMatch(/invalid regular expression/)
      expect(message).toMatch(/RE2/)
    }
  })

  it('flags i, m and s work; g, y, u and d are accepted and change nothing; others are refused', () => {
    expect(compilePattern('/^b$/m')('a\nb\nc')).toBe(true)
    expect(compilePattern('/^b$/')('a\nb\nc')).toBe(false)
    expect(compilePattern('/a.b/s')('a\nb')).toBe(true)
    expect(compilePattern('/a.b/')('a\nb')).toBe(false)
    expect(compilePattern('/RÉSUMÉ/i')('résumé')).toBe(true)
    expect(compilePattern('/bob/gyud')('bob')).toBe(true)
    expect(codeOf(() => compilePattern('/bob/v'))).toBe('invalid')
  })

  it('JavaScript spellings are understood: named groups, \\u escapes, a slash', () => {
    expect(compilePattern('/(?<code>\\d{6})/')('code 123456')).toBe(true)
    expect(compilePattern('/\\u0041/')('A')).toBe(true)
    expect(compilePattern('/a\\/b/')('a/b')).toBe(true)
    expect(compilePattern('/a/b/')('a/b')).toBe(true)
  })

  it('a pattern that compiles to a large program is refused', () => {
    expect(codeOf(() => compilePattern('/[\\s\\S]{999}x/'))).toBe('invalid')
    expect(codeOf(() => compilePattern('/(a{100}){100}/'))).toBe('invalid')
    expect(compilePattern('/\\d{6}/')('123456')).toBe(true)
  })

  it('only the first maxTextLength characters of a value are looked at', () => {
    const limit = PATTERN_LIMITS.maxTextLength
    expect(compilePattern('/x$/')('a'.repeat(limit - 1) + 'x')).toBe(true)
    expect(compilePattern('/x$/')('a'.repeat(limit) + 'x')).toBe(false)
    expect(compilePattern('needle')('a'.repeat(limit) + 'needle')).toBe(false)
  })
})

const candidate = (c: Partial<Candidate> = {}): Candidate => ({
  mailFrom: 'bounce@app.test',
  rcptTo: ['env-rcpt@x.test'],
  from: 'App <hello@app.test>',
  to: ['header-to@x.test', 'header-cc@x.test'],
  subject: 'Reset your password',
  ...c,
})

describe('compileMatch', () => {
  it('defaults: timeout 60 s, since 0, raw false; {} matches every mail', () => {
    const spec = compileMatch({})
    expect(spec.timeoutS).toBe(60)
    expect(DEFAULT_TIMEOUT_S).toBe(60)
    expect(spec.sinceS).toBe(0)
    expect(spec.raw).toBe(false)
    expect(spec.test(candidate())).toBe(true)
  })

  it('takes timeout_s, since_s and raw as given', () => {
    const spec = compileMatch({timeout_s: 2.5, since_s: 30, raw: true})
    expect([spec.timeoutS, spec.sinceS, spec.raw]).toEqual([2.5, 30, true])
    expect(compileMatch({timeout_s: MAX_TIMEOUT_S, since_s: MAX_SINCE_S}).timeoutS).toBe(MAX_TIMEOUT_S)
  })

  it('an unknown field is invalid', () => {
    expect(codeOf(() => compileMatch({to: 'bob', cc: 'x'}))).toBe('invalid')
    expect(codeOf(() => compileMatch({timeout: 5}))).toBe('invalid')
  })

  it('a body that is not an object is invalid', () => {
    for (const body of [null, [], 'to=bob', 42, true]) expect(codeOf(() => compileMatch(body)), JSON.stringify(body)).toBe('invalid')
  })

  it('wrong types are invalid', () => {
    expect(codeOf(() => compileMatch({to: 5}))).toBe('invalid')
    expect(codeOf(() => compileMatch({from: ['a']}))).toBe('invalid')
    expect(codeOf(() => compileMatch({subject: null}))).toBe('invalid')
    expect(codeOf(() => compileMatch({to: ''}))).toBe('invalid')
    expect(codeOf(() => compileMatch({subject: '/(/'}))).toBe('invalid')
    expect(codeOf(() => compileMatch({timeout_s: '10'}))).toBe('invalid')
    expect(codeOf(() => compileMatch({timeout_s: -1}))).toBe('invalid')
    expect(codeOf(() => compileMatch({timeout_s: MAX_TIMEOUT_S + 1}))).toBe('invalid')
    expect(codeOf(() => compileMatch({since_s: Number.NaN}))).toBe('invalid')
    expect(codeOf(() => compileMatch({since_s: MAX_SINCE_S + 1}))).toBe('invalid')
    expect(codeOf(() => compileMatch({raw: 'yes'}))).toBe('invalid')
    expect(codeOf(() => compileMatch({raw: 1}))).toBe('invalid')
  })

  it('`to` is tried against the envelope recipients', () => {
    const spec = compileMatch({to: 'env-rcpt@'})
    expect(spec.test(candidate())).toBe(true)
    expect(spec.test(candidate({rcptTo: ['other@x.test']}))).toBe(false)
  })

  it('`to` is tried against the To/Cc header addresses (a recipient only in the header matches)', () => {
    expect(compileMatch({to: 'header-to@x.test'}).test(candidate())).toBe(true)
    expect(compileMatch({to: 'header-cc@x.test'}).test(candidate())).toBe(true)
    expect(compileMatch({to: 'header-to@x.test'}).test(candidate({to: []}))).toBe(false)
    expect(compileMatch({to: 'nobody@x.test'}).test(candidate())).toBe(false)
  })

  it('`to` does not look at the sender', () => {
    expect(compileMatch({to: 'bounce@app.test'}).test(candidate())).toBe(false)
    expect(compileMatch({to: 'hello@app.test'}).test(candidate())).toBe(false)
  })

  it('`from` is tried against the envelope sender and the From header', () => {
    expect(compileMatch({from: 'bounce@app.test'}).test(candidate())).toBe(true)
    expect(compileMatch({from: 'hello@app.test'}).test(candidate())).toBe(true)
    expect(compileMatch({from: '/^App </'}).test(candidate())).toBe(true)
    expect(compileMatch({from: 'bounce@app.test'}).test(candidate({mailFrom: ''}))).toBe(false)
    expect(compileMatch({from: 'hello@app.test'}).test(candidate({from: ''}))).toBe(false)
    expect(compileMatch({from: 'env-rcpt@x.test'}).test(candidate())).toBe(false) // not the recipients
  })

  it('`subject` is a substring or a regex against the subject', () => {
    expect(compileMatch({subject: 'RESET'}).test(candidate())).toBe(true)
    expect(compileMatch({subject: '/^Reset your/'}).test(candidate())).toBe(true)
    expect(compileMatch({subject: '/^reset your/'}).test(candidate())).toBe(false)
    expect(compileMatch({subject: 'welcome'}).test(candidate())).toBe(false)
  })

  it('all given fields must match', () => {
    const spec = compileMatch({to: 'env-rcpt', from: 'app.test', subject: 'reset'})
    expect(spec.test(candidate())).toBe(true)
    expect(spec.test(candidate({rcptTo: ['x@y.test'], to: []}))).toBe(false)
    expect(spec.test(candidate({mailFrom: 'a@b.test', from: 'a@b.test'}))).toBe(false)
    expect(spec.test(candidate({subject: 'Welcome'}))).toBe(false)
  })
})
