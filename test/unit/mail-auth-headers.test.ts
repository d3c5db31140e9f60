/**
 * Header edits of inbound authentication (src/mail-auth/headers.ts): Authentication-Results
 * claiming our authserv-id removed (folded, commented, with a version, any case) and every other
 * byte kept; the same Buffer back when there is nothing to remove; DKIM signatures beyond the
 * limit hidden from the verifier in a copy of the same length.
 */
import {describe, expect, it} from 'vitest'
import {authservIdOf, headerFields, unsignedHeaderLength, withSignatureLimit, withoutForgedResults} from '../../src/mail-auth/headers.js'

describe('authservIdOf', () => {
  it('takes the first token after comments and folding white space', () => {
    expect(authservIdOf(' mx.example.com; spf=pass')).toBe('mx.example.com')
    expect(authservIdOf(' (c (nested) \\) x)\r\n\tMX.Example.Com. 1; dkim=pass')).toBe('mx.example.com')
    expect(authservIdOf('mx.example.com;')).toBe('mx.example.com')
    expect(authservIdOf(' ')).toBe('')
  })
})

describe('withoutForgedResults', () => {
  const body = '\r\nAuthentication-Results: mx.example.com; in the body, kept\r\n'
  it('removes ours only, keeping every other byte', () => {
    const keep1 = 'From: a@b.test\r\n'
    const keep2 = 'Authentication-Results: other.test; spf=pass\r\n'
    const keep3 = 'X-Last: 1\r\n'
    const raw = Buffer.from(
      'Authentication-Results: mx.example.com; dkim=pass\r\n' + keep1 + keep2 + 'authentication-results :\r\n (forged)\r\n MX.EXAMPLE.COM 1;\r\n spf=pass\r\n' + keep3 + body,
      'latin1',
    )
    const {message, removed} = withoutForgedResults(raw, 'mx.example.com')
    expect(removed).toBe(2)
    expect(message.toString('latin1')).toBe(keep1 + keep2 + keep3 + body)
  })

  it('returns the same Buffer when nothing claims our id; a header without a body is handled', () => {
    const raw = Buffer.from('From: a@b.test\r\nAuthentication-Results: mx.example.com.evil.test; spf=pass\r\n' + body)
    expect(withoutForgedResults(raw, 'mx.example.com').message).toBe(raw)
    const headerOnly = Buffer.from('Authentication-Results: mx.example.com; x=y\nFrom: a@b.test\n')
    expect(withoutForgedResults(headerOnly, 'mx.example.com').message.toString()).toBe('From: a@b.test\n')
  })

  it('stops at the first line that is not a header field', () => {
    const raw = Buffer.from('From: a@b.test\r\nnot a field\r\nAuthentication-Results: mx.example.com; x\r\n')
    expect(headerFields(raw).map((f) => f.name)).toEqual(['from'])
    expect(withoutForgedResults(raw, 'mx.example.com').removed).toBe(0)
  })
})

describe('withSignatureLimit', () => {
  it('hides the signatures after the first `max` in a copy of the same length', () => {
    const sigs = Array.from({length: 4}, (_, i) => `DKIM-Signature: v=1; d=d${i}.test;\r\n b=abc\r\n`).join('')
    const raw = Buffer.from(sigs + 'From: a@b.test\r\n\r\nbody\r\n')
    expect(withSignatureLimit(raw, 4).message).toBe(raw)
    const {message, hidden} = withSignatureLimit(raw, 2)
    expect(hidden).toBe(2)
    expect(message).not.toBe(raw)
    expect(message.length).toBe(raw.length)
    expect(headerFields(message).map((f) => f.name)).toEqual(['dkim-signature', 'dkim-signature', 'x-dkim-ignored', 'x-dkim-ignored', 'from'])
    expect(raw.toString()).toBe(sigs + 'From: a@b.test\r\n\r\nbody\r\n') // the original is untouched
  })
})

describe('unsignedHeaderLength', () => {
  const head = 'From: a@b.test\r\nSubject: s\r\n folded\r\n\r\n'
  it('is the header block with its empty line when nothing signs the body', () => {
    expect(unsignedHeaderLength(Buffer.from(head + 'body\r\n'))).toBe(head.length)
    expect(unsignedHeaderLength(Buffer.from('From: a@b.test\n\nbody\n'))).toBe('From: a@b.test\n\n'.length)
  })

  it('is 0 when a DKIM signature or an ARC seal or message signature is there (any case), or the header does not end', () => {
    for (const field of ['DKIM-Signature: v=1\r\n', 'arc-seal: i=1\r\n', 'ARC-Message-Signature: i=1\r\n']) {
      expect(unsignedHeaderLength(Buffer.from(field + head + 'body\r\n'))).toBe(0)
    }
    expect(unsignedHeaderLength(Buffer.from('From: a@b.test\r\nSubject: cut in the mid'))).toBe(0)
    expect(unsignedHeaderLength(Buffer.from('From: a@b.test\r\n'))).toBe(0)
  })
})
