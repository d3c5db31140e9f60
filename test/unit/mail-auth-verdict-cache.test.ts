/**
 * Verdicts of unsigned messages kept (src/mail-auth/verdict-cache.ts): keyed by client address,
 * HELO, MAIL FROM and the From fields as they came; kept for the DNS cache's time and count
 * (read live), temporary errors never, and dropped with the DNS servers.
 */
import {describe, expect, it} from 'vitest'
import {VerdictCache} from '../../src/mail-auth/verdict-cache.js'
import type {Verdict} from '../../src/mail-auth/verify.js'

const verdict = (spf = 'pass', dmarc = 'pass'): Verdict => ({
  spf: {result: spf, domain: 'example.net'},
  dkim: [{result: 'none'}],
  dmarc: {result: dmarc, domain: 'example.net'},
  arc: {result: 'none'},
  headerFrom: ['a@example.net'],
  header: 'Authentication-Results: mx.test; spf=pass\r\n',
})
const header = (from: string) => Buffer.from(`${from}To: b@example.test\r\nSubject: s\r\n\r\n`)
const envelope = {remoteAddress: '192.0.2.1', helo: 'mail.example.net', mailFrom: 'a@example.net'}

describe('VerdictCache', () => {
  it('keys by address, HELO, MAIL FROM and every From field as it came', () => {
    const key = VerdictCache.keyOf(header('From: a@example.net\r\n'), envelope)
    expect(VerdictCache.keyOf(header('From: a@example.net\r\n'), envelope)).toBe(key)
    for (const other of [
      VerdictCache.keyOf(header('From: A@example.net\r\n'), envelope),
      VerdictCache.keyOf(header('From: a@example.net\r\nFrom: c@other.test\r\n'), envelope),
      VerdictCache.keyOf(header('From: a@example.net\r\n'), {...envelope, remoteAddress: '192.0.2.2'}),
      VerdictCache.keyOf(header('From: a@example.net\r\n'), {...envelope, helo: 'other'}),
      VerdictCache.keyOf(header('From: a@example.net\r\n'), {...envelope, mailFrom: ''}),
    ]) {
      expect(other).not.toBe(key)
    }
    // a field that is not From does not split the key
    expect(VerdictCache.keyOf(Buffer.from('Subject: other\r\nFrom: a@example.net\r\n\r\n'), envelope)).toBe(
      VerdictCache.keyOf(Buffer.from('From: a@example.net\r\nSubject: s\r\n\r\n'), envelope),
    )
  })

  it('keeps a verdict for the DNS cache time, never a temporary error, and at most the DNS cache count', () => {
    let now = 1000
    const limits = {dnsCacheEntries: 2, dnsCacheTtlMs: 500}
    const cache = new VerdictCache(limits, () => now)
    cache.add('a', verdict())
    expect(cache.get('a')).toEqual(verdict())
    now += 499
    expect(cache.get('a')).toBeDefined()
    now += 1
    expect(cache.get('a')).toBeUndefined()
    cache.add('t', verdict('temperror'))
    cache.add('u', verdict('pass', 'temperror'))
    expect(cache.get('t')).toBeUndefined()
    expect(cache.get('u')).toBeUndefined()
    cache.add('1', verdict())
    cache.add('2', verdict())
    cache.add('3', verdict())
    expect([cache.get('1'), cache.get('2'), cache.get('3')].map(Boolean)).toEqual([false, true, true])
    limits.dnsCacheEntries = 0 // a reload: nothing more is kept
    cache.add('4', verdict())
    expect(cache.get('4')).toBeUndefined()
    cache.clear()
    expect(cache.get('3')).toBeUndefined()
  })
})
