/**
 * The built-in spam checks as pure functions (src/spam/): DNS list names (IPv4 octets and IPv6
 * nibbles reversed), return codes to test names (zone errors ignored), lookups failing open,
 * the HELO rules, the score and decision table with monitor mode, and our X-Spam-* fields
 * (folded, forged ones removed, rspamd's subject).
 */
import {describe, expect, it} from 'vitest'
import {DEFAULT_SPAM, type SpamConfig} from '../../src/spam/config.js'
import {listQueryName, listTests, lookupList, reversedAddress} from '../../src/spam/dnsbl.js'
import {heloFindings, heloNeedsLookup, heloResolves} from '../../src/spam/helo.js'
import {spamHeaders, withSubject, withoutSpamHeaders} from '../../src/spam/headers.js'
import {briefReasons, decide, scoreOf} from '../../src/spam/score.js'

const errno = (code: string) => Object.assign(new Error(code), {code})

describe('DNS list query names (RFC 5782 §2.1, §2.4)', () => {
  it('reverses IPv4 octets, IPv4-mapped IPv6 included', () => {
    expect(listQueryName('192.0.2.99', 'zen.spamhaus.org')).toBe('99.2.0.192.zen.spamhaus.org')
    expect(listQueryName('::ffff:192.0.2.99', 'bl.test.')).toBe('99.2.0.192.bl.test')
  })

  it('reverses the 32 nibbles of an IPv6 address', () => {
    expect(reversedAddress('2001:db8:1:2:3:4:567:89ab')).toBe('b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2')
    expect(reversedAddress('2001:DB8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2')
    expect(reversedAddress('::1')).toBe(`1${'.0'.repeat(31)}`)
    expect(reversedAddress('not an address')).toBeUndefined()
  })
})

describe('DNS list answers', () => {
  const zen = {zone: 'zen.spamhaus.org', weight: 10, codes: {'127.0.0.2': 'SBL', '127.0.0.4': 'XBL', '127.0.0.10': 'pbl isp'}}

  it('maps return codes to reasons; an unmapped 127.0.0.x counts with the zone name only', () => {
    expect(listTests('DNSBL', zen, ['127.0.0.2'])).toEqual(['DNSBL_ZEN_SBL'])
    expect(listTests('DNSBL', zen, ['127.0.0.4', '127.0.0.10'])).toEqual(['DNSBL_ZEN_XBL', 'DNSBL_ZEN_PBL_ISP'])
    expect(listTests('DNSBL', zen, ['127.0.0.3', '127.0.0.9'])).toEqual(['DNSBL_ZEN'])
    expect(listTests('DNSWL', {zone: 'list.dnswl.org', weight: -5}, ['127.0.15.1'])).toEqual(['DNSWL_LIST'])
  })

  it("ignores answers outside 127.0.0.0/8 and the lists' own error codes", () => {
    expect(listTests('DNSBL', zen, ['192.0.2.1', '10.0.0.2'])).toEqual([])
    expect(listTests('DNSBL', zen, ['127.255.255.254', '127.255.255.252'])).toEqual([])
    expect(listTests('DNSWL', {zone: 'list.dnswl.org', weight: -5}, ['127.0.0.255'])).toEqual([])
  })

  it('looks the name up as A; NXDOMAIN is not listed, a failure fails open and says why', async () => {
    const asked: string[] = []
    const listed = await lookupList('DNSBL', zen, '192.0.2.1', async (name, type) => (asked.push(`${type} ${name}`), ['127.0.0.2']))
    expect(asked).toEqual(['A 1.2.0.192.zen.spamhaus.org'])
    expect(listed).toEqual({zone: 'zen.spamhaus.org', weight: 10, tests: ['DNSBL_ZEN_SBL']})
    const clean = await lookupList('DNSBL', zen, '192.0.2.1', async () => Promise.reject(errno('ENOTFOUND')))
    expect(clean).toEqual({zone: 'zen.spamhaus.org', weight: 10, tests: []})
    const dead = await lookupList('DNSBL', zen, '192.0.2.1', async () => Promise.reject(errno('ETIMEOUT')))
    expect(dead).toEqual({zone: 'zen.spamhaus.org', weight: 10, tests: [], failed: 'ETIMEOUT'})
  })
})

describe('HELO rules', () => {
  const outside = {remoteAddress: '192.0.2.7', localAddress: '198.51.100.1', hostname: 'mx.example.com'}
  const self = {remoteAddress: '127.0.0.1', localAddress: '127.0.0.1', hostname: 'mx.example.com'}

  it('a name without a dot', () => {
    expect(heloFindings('workstation', outside)).toEqual(['HELO_NO_DOT'])
    expect(heloFindings('mail.sender.test', outside)).toEqual([])
  })

  it("an address literal or bare address other than the client's", () => {
    expect(heloFindings('[192.0.2.7]', outside)).toEqual([])
    expect(heloFindings('[203.0.113.5]', outside)).toEqual(['HELO_IP_MISMATCH'])
    expect(heloFindings('203.0.113.5', outside)).toEqual(['HELO_IP_MISMATCH'])
    expect(heloFindings('[IPv6:2001:db8::1]', {...outside, remoteAddress: '2001:db8::1'})).toEqual([])
    expect(heloFindings('[192.0.2.7]', {...outside, remoteAddress: '::ffff:192.0.2.7'})).toEqual([])
  })

  it('localhost or our own name from outside; from this host itself they are fine', () => {
    expect(heloFindings('localhost', outside)).toEqual(['HELO_OURS'])
    expect(heloFindings('MX.example.com.', outside)).toEqual(['HELO_OURS'])
    expect(heloFindings('localhost', self)).toEqual(['HELO_NO_DOT'])
    expect(heloFindings('mx.example.com', self)).toEqual([])
  })

  it('only a plausible name is looked up; no A and no AAAA is not resolving, a DNS failure is not a finding', async () => {
    expect(heloNeedsLookup('mail.sender.test', [])).toBe(true)
    expect(heloNeedsLookup('[192.0.2.7]', [])).toBe(false)
    expect(heloNeedsLookup('box', ['HELO_NO_DOT'])).toBe(false)
    const answers: Record<string, unknown> = {'A ok.test': ['192.0.2.1'], 'AAAA six.test': ['2001:db8::1']}
    const resolve = async (name: string, type: string) => answers[`${type} ${name}`] ?? Promise.reject(errno(name === 'dead.test' ? 'ETIMEOUT' : 'ENOTFOUND'))
    expect(await heloResolves('ok.test', resolve)).toEqual({tests: []})
    expect(await heloResolves('six.test', resolve)).toEqual({tests: []})
    expect(await heloResolves('nowhere.test', resolve)).toEqual({tests: ['HELO_NOT_RESOLVING']})
    expect(await heloResolves('dead.test', resolve)).toEqual({tests: [], failed: 'ETIMEOUT'})
  })
})

describe('score and decision', () => {
  const config: SpamConfig = structuredClone(DEFAULT_SPAM)
  const zen = {zone: 'zen.spamhaus.org', weight: 6, tests: ['DNSBL_ZEN_SBL', 'DNSBL_ZEN_XBL']}
  const wl = {zone: 'list.dnswl.org', weight: -5, tests: ['DNSWL_LIST']}
  const none = {lists: [], helo: [], unknownRecipients: 0}

  it('adds a list once however many codes it answered, names every code', () => {
    const s = scoreOf({...none, lists: [zen]}, config)
    expect(s).toEqual({score: 6, tests: [{name: 'DNSBL_ZEN_SBL', weight: 6}, {name: 'DNSBL_ZEN_XBL', weight: 0}]})
  })

  it('adds HELO, unknown recipients and authentication results; weight 0 turns a test off', () => {
    const s = scoreOf({lists: [], helo: ['HELO_NO_DOT'], unknownRecipients: 3, auth: {spf: 'fail', dkim: ['none'], dmarc: 'fail'}}, config)
    expect(s.tests.map((t) => t.name)).toEqual(['HELO_NO_DOT', 'UNKNOWN_RCPT', 'SPF_FAIL', 'DMARC_FAIL'])
    expect(s.score).toBe(0.5 + 1.5 + 1 + 1.5)
    const off = scoreOf({lists: [], helo: ['HELO_NO_DOT'], unknownRecipients: 0}, {...config, heloChecks: {...config.heloChecks, noDot: 0}})
    expect(off).toEqual({score: 0, tests: []})
    expect(scoreOf({...none, auth: {spf: 'softfail', dkim: ['pass', 'neutral'], dmarc: 'pass'}}, config).tests.map((t) => t.name)).toEqual(['SPF_SOFTFAIL', 'DKIM_FAIL'])
  })

  it('the worst ordinary mail without a block list stays under the junk threshold', () => {
    const worst = scoreOf({lists: [], helo: ['HELO_NOT_RESOLVING'], unknownRecipients: 1, auth: {spf: 'fail', dkim: ['fail'], dmarc: 'fail'}}, config)
    expect(worst.score).toBeLessThan(config.junkScore)
  })

  it('an allow list takes the score below 0', () => {
    expect(scoreOf({...none, lists: [wl], helo: ['HELO_NO_DOT']}, config).score).toBe(-4.5)
  })

  it.each([
    [0, 'enforce', {action: 'deliver'}],
    [4.9, 'enforce', {action: 'deliver'}],
    [5, 'enforce', {action: 'junk'}],
    [9.9, 'enforce', {action: 'junk'}],
    [10, 'enforce', {action: 'reject'}],
    [-3, 'enforce', {action: 'deliver'}],
    [5, 'monitor', {action: 'deliver', would: 'junk'}],
    [12, 'monitor', {action: 'deliver', would: 'reject'}],
    [1, 'monitor', {action: 'deliver'}],
  ] as const)('score %s in %s mode: %o', (score, mode, decision) => {
    expect(decide(score, {...config, mode})).toEqual(decision)
  })

  it('the reply names the heaviest tests briefly', () => {
    const tests = [
      {name: 'A', weight: 1},
      {name: 'B', weight: 6},
      {name: 'W', weight: -5},
      {name: 'C', weight: 2},
      {name: 'D', weight: 0.5},
      {name: 'E', weight: 0.4},
    ]
    expect(briefReasons(tests)).toBe('B, C, A, D, …')
    expect(briefReasons([])).toBe('score')
  })
})

describe('X-Spam-* fields', () => {
  it('score and status, SpamAssassin-like, on one line when short', () => {
    expect(spamHeaders(false, 3.5, 5, ['DNSBL_ZEN_SBL', 'HELO_NO_DOT']).toString()).toBe(
      'X-Spam-Score: 3.5\r\nX-Spam-Status: No, score=3.5 required=5.0 tests=DNSBL_ZEN_SBL,HELO_NO_DOT\r\n',
    )
    expect(spamHeaders(true, -1, 5, []).toString()).toBe('X-Spam-Score: -1.0\r\nX-Spam-Status: Yes, score=-1.0 required=5.0 tests=none\r\n')
  })

  it('folded at the commas when long, every line at most 78 characters; odd symbols cannot break the field', () => {
    const tests = Array.from({length: 12}, (_, i) => `SOME_LONG_TEST_NAME_${i}`)
    const text = spamHeaders(true, 12.3, 5, [...tests, 'BAD,NAME\r\nX: y']).toString()
    const lines = text.split('\r\n').slice(1, -1)
    expect(lines.length).toBeGreaterThan(2)
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78)
    expect(lines.slice(1).every((l) => l.startsWith('\t'))).toBe(true)
    expect(lines.join('').replace(/\t/g, '')).toContain(`tests=${tests.join(',')},BAD_NAME__X:_y`)
  })

  it('forged X-Spam-* fields are removed, every other byte kept; the same Buffer when there are none', () => {
    const raw = Buffer.from('X-Spam-Status: No, score=-100\r\nFrom: a@b.test\r\nx-spam-flag:\r\n NO\r\nX-Spamd-Result: kept\r\nSubject: hi\r\n\r\nX-Spam-Status: body\r\n')
    const {message, removed} = withoutSpamHeaders(raw)
    expect(removed).toBe(2)
    expect(message.toString()).toBe('From: a@b.test\r\nX-Spamd-Result: kept\r\nSubject: hi\r\n\r\nX-Spam-Status: body\r\n')
    const clean = Buffer.from('From: a@b.test\r\n\r\nbody\r\n')
    expect(withoutSpamHeaders(clean).message).toBe(clean)
  })

  it("rspamd's subject replaces the Subject field (encoded when not ASCII), or is added", () => {
    const raw = Buffer.from('From: a@b.test\r\nSubject: old\r\n folded\r\nTo: c@d.test\r\n\r\nbody\r\n')
    expect(withSubject(raw, '*** SPAM *** old folded').toString()).toBe('From: a@b.test\r\nSubject: *** SPAM *** old folded\r\nTo: c@d.test\r\n\r\nbody\r\n')
    expect(withSubject(Buffer.from('From: a@b.test\r\n\r\nx'), '[SPAM] é').toString()).toBe(`Subject: =?UTF-8?B?${Buffer.from('[SPAM] é').toString('base64')}?=\r\nFrom: a@b.test\r\n\r\nx`)
  })
})
