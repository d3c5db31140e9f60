/**
 * The record list and the comparisons behind `domain dns` / `domain check` (test/e2e/domain-dns
 * drives them through the CLI and a loopback DNS server): zone quoting, SPF read as a receiver
 * reads it, and which differences are ok, warnings or failures.
 */
import {describe, expect, it} from 'vitest'
import {compareAddresses, compareDkim, compareDmarc, compareMx, compareSpf, compareSrv} from '../../src/dns-records/compare.js'
import {validateConfig} from '../../src/config-validate.js'
import {domainRecords, isPublishableAddress, mtaStsId, type RecordSetup} from '../../src/dns-records/records.js'
import {DEFAULT_MTA_STS, servedPolicy} from '../../src/mta-sts/config.js'
import {publicHostname} from '../../src/dns-records/setup.js'
import {quoteTxt} from '../../src/dns-records/zone.js'

const sender = {owner: 'example.com', domain: 'example.com', hostname: 'mail.example.com', addresses: ['192.0.2.25', '2001:db8::25']}
const spf = (text: string, who = sender) => compareSpf([text], who, 'v=spf1 mx -all')

describe('zone quoting', () => {
  it('splits TXT data into strings of at most 255 bytes, escaping quotes, backslashes and other bytes', () => {
    const long = 'x'.repeat(600)
    expect(quoteTxt(long)).toBe(`"${'x'.repeat(255)}" "${'x'.repeat(255)}" "${'x'.repeat(90)}"`)
    expect(quoteTxt('a"b\\c')).toBe('"a\\"b\\\\c"')
    expect(quoteTxt('é')).toBe('"\\195\\169"')
    expect(quoteTxt('')).toBe('""')
  })
})

describe('SPF, read left to right as a receiver would', () => {
  it('ok: mx or our addresses with -all, in any spacing, order or letter case', () => {
    for (const text of ['v=spf1 mx -all', 'v=spf1   ip4:192.0.2.0/24 ip6:2001:db8::/32 -all', 'V=SPF1 MX -ALL', 'v=spf1 mx:example.com a:mail.example.com -all']) {
      expect(spf(text), text).toEqual({status: 'ok'})
    }
    expect(spf('v=spf1 a -all', {...sender, owner: 'mail.example.com'})).toEqual({status: 'ok'})
  })

  it('different: a -all before the mechanism that lets us send, addresses that are not ours, no -all, +all', () => {
    expect(spf('v=spf1 -all mx').status).toBe('different')
    expect(spf('v=spf1 ip4:198.51.100.1 -all')).toEqual({status: 'different', note: 'does not let mail.example.com (192.0.2.25, 2001:db8::25) send; expected v=spf1 mx -all'})
    // only one of the two addresses covered: mail from the other fails
    expect(spf('v=spf1 ip4:192.0.2.25 -all').status).toBe('different')
    expect(spf('v=spf1 mx').note).toMatch(/^no -all/)
    expect(spf('v=spf1 +all').note).toBe('+all: mail from any other host is not refused; expected -all')
    expect(spf('v=spf1 mx ?all').status).toBe('different')
    expect(compareSpf(['v=spf1 mx -all', 'v=spf1 a -all'], sender, '').status).toBe('different')
  })

  it('warning: ~all, or a lookup this check does not follow before anything that lets us send', () => {
    expect(spf('v=spf1 mx ~all').status).toBe('warning')
    expect(spf('v=spf1 include:_spf.mail.example.net -all').note).toBe(
      'whether it lets mail.example.com (192.0.2.25, 2001:db8::25) send depends on include:_spf.mail.example.net, which this check does not follow; expected v=spf1 mx -all',
    )
    expect(spf('v=spf1 redirect=_spf.example.net').status).toBe('warning')
    // an include after mx does not matter: mx already let us send
    expect(spf('v=spf1 mx include:_spf.example.net -all').status).toBe('ok')
  })

  it('only SPF records count: other TXT records of the name are ignored, none at all is missing', () => {
    expect(compareSpf(['google-site-verification=x', 'v=spf1 mx -all'], sender, '').status).toBe('ok')
    expect(compareSpf(['v=spf10 mx -all', 'hello'], sender, '').status).toBe('missing')
  })
})

describe('DMARC', () => {
  const rua = 'mailto:dmarc-reports@example.com'
  const dmarc = (...found: string[]) => compareDmarc(found, rua)
  it('p=reject is ok whatever the report address and tag spacing', () => {
    expect(dmarc(`v=DMARC1; p=reject; rua=${rua}`)).toEqual({status: 'ok'})
    expect(dmarc('v=DMARC1;p=reject;rua=mailto:d@reports.example.net;ruf=mailto:f@example.net')).toEqual({status: 'ok', note: 'reports go to mailto:d@reports.example.net'})
  })
  it('weaker protection is a warning, none or a broken record is different', () => {
    expect(dmarc('v=DMARC1; p=quarantine; rua=x').status).toBe('warning')
    expect(dmarc(`v=DMARC1; p=reject; pct=50; rua=${rua}`).status).toBe('warning')
    expect(dmarc(`v=DMARC1; p=reject; sp=none; rua=${rua}`).status).toBe('warning')
    expect(dmarc('v=DMARC1; p=reject').note).toBe('no rua=: no aggregate reports will come')
    expect(dmarc('v=DMARC1; p=none').status).toBe('different')
    expect(dmarc('v=DMARC1; p=rejected').status).toBe('different')
    expect(dmarc('v=DMARC1; p=reject', 'v=DMARC1; p=none').status).toBe('different')
    expect(dmarc('p=reject; v=DMARC1').status).toBe('missing') // v= must come first: not a DMARC record
  })
})

describe('DKIM, MX, addresses, SRV', () => {
  const key = 'v=DKIM1; k=ed25519; p=AAAA+BBBB/CCCC='
  it('DKIM: the same key ok (spaces inside p= allowed), another key or algorithm different, a revoked key said so', () => {
    expect(compareDkim(['v=DKIM1;k=ed25519;p=AAAA+BBBB /CCCC='], key)).toEqual({status: 'ok'})
    expect(compareDkim(['v=DKIM1; k=rsa; p=AAAA+BBBB/CCCC='], key).status).toBe('different')
    expect(compareDkim(['v=DKIM1; k=ed25519; p='], key).note).toBe('the key is revoked (empty p=)')
    expect(compareDkim(['v=DKIM1; k=ed25519; t=y; p=AAAA+BBBB/CCCC='], key).status).toBe('warning')
    expect(compareDkim([], key).status).toBe('missing')
  })
  it('MX: ours ok, a foreign host tried first a warning, a null MX or only foreign hosts different', () => {
    expect(compareMx([{priority: 10, exchange: 'MAIL.example.com'}, {priority: 20, exchange: 'backup.example.net'}], 'mail.example.com')).toEqual({status: 'ok'})
    expect(compareMx([{priority: 10, exchange: 'mail.example.com'}, {priority: 5, exchange: 'filter.example.net'}], 'mail.example.com').status).toBe('warning')
    expect(compareMx([{priority: 0, exchange: ''}], 'mail.example.com').note).toMatch(/null MX/)
    expect(compareMx([{priority: 10, exchange: 'other.example.net'}], 'mail.example.com').status).toBe('different')
  })
  it('addresses compare as addresses, not text', () => {
    expect(compareAddresses(['2001:0db8:0:0::0025'], ['2001:db8::25'])).toEqual({status: 'ok'})
    expect(compareAddresses(['192.0.2.1'], []).status).toBe('ok') // none given: any will do
    expect(compareAddresses([], []).status).toBe('missing')
  })
  it('SRV: "." expected and found ok, a real target for it a warning', () => {
    expect(compareSrv([{priority: 0, weight: 0, port: 0, name: ''}], '0 0 0 .')).toEqual({status: 'ok'})
    expect(compareSrv([{priority: 0, weight: 1, port: 143, name: 'mail.example.com'}], '0 0 0 .').status).toBe('warning')
    expect(compareSrv([{priority: 3, weight: 7, port: 993, name: 'mail.example.com'}], '0 1 993 mail.example.com.')).toEqual({status: 'ok'})
    expect(compareSrv([{priority: 0, weight: 1, port: 143, name: 'mail.example.com'}], '0 1 993 mail.example.com.').status).toBe('different')
  })
})

describe('the record list', () => {
  const setup: RecordSetup = {
    domain: 'example.com',
    hostname: 'example.com',
    addresses: [],
    dkimKeys: [],
    unknownReportAddresses: [],
    offers: {submissions: true, submission: false, imaps: true, pop3s: false},
    mtaSts: DEFAULT_MTA_STS,
  }
  it('a host name equal to the domain gets no second SPF record; a listener that is off is published as "." and not required', () => {
    const records = domainRecords(setup)
    expect(records.filter((r) => r.kind === 'spf').map((r) => `${r.name} ${r.value}`)).toEqual(['example.com v=spf1 mx -all'])
    expect(records.find((r) => r.name === '_submission._tcp.example.com')).toMatchObject({value: '0 0 0 .', required: false})
    expect(records.find((r) => r.name === '_pop3s._tcp.example.com')).toMatchObject({value: '0 0 0 .', required: false})
    expect(records.find((r) => r.name === '_submissions._tcp.example.com')).toMatchObject({value: '0 1 465 example.com.', required: true})
  })
  it('the MTA-STS id changes with the policy', () => {
    const id = (hostname: string, config = DEFAULT_MTA_STS) => mtaStsId(servedPolicy(config, hostname))
    expect(id('a.example.com')).not.toBe(id('b.example.com'))
    expect(id('a.example.com')).not.toBe(id('a.example.com', {...DEFAULT_MTA_STS, mode: 'enforce'}))
    expect(id('a.example.com')).not.toBe(id('a.example.com', {...DEFAULT_MTA_STS, maxAge: 86_400}))
    expect(id('a.example.com')).toMatch(/^[a-z0-9]{1,32}$/)
  })

  it('the _mta-sts id is the hash of the policy the route serves, mode, mx and max_age from mtaSts', () => {
    const mtaSts = {...DEFAULT_MTA_STS, mode: 'enforce' as const, mx: ['mx1.example.com', '*.mx.example.com'], maxAge: 86_400}
    const records = domainRecords({...setup, mtaSts})
    const policy = 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mx.example.com\r\nmax_age: 86400\r\n'
    expect(servedPolicy(mtaSts, 'example.com')).toBe(policy)
    expect(records.find((r) => r.kind === 'mta-sts')).toMatchObject({value: `v=STSv1; id=${mtaStsId(policy)}`})
    expect(records.find((r) => r.kind === 'mta-sts')!.note).toContain('  mode: enforce\n  mx: mx1.example.com\n  mx: *.mx.example.com\n  max_age: 86400')
  })
  it('public addresses: IPv4 or IPv6 without a zone id, in flags and in the config file', () => {
    expect(['192.0.2.1', '2001:DB8::1'].map(isPublishableAddress)).toEqual([true, true])
    expect(['fe80::1%eth0', '192.0.2.300', 'mail.example.com'].map(isPublishableAddress)).toEqual([false, false, false])
    expect(() => validateConfig({publicAddresses: ['192.0.2.1', 'fe80::1%eth0']}, 'f.json')).toThrow('f.json: publicAddresses[1]: must be an IPv4 or IPv6 address (no %zone) (got "fe80::1%eth0")')
  })

  it('a host name must be fully qualified, not an address', () => {
    expect(publicHostname('Mail.Example.COM.', 'example.com')).toBe('mail.example.com')
    expect(() => publicHostname('devbox', 'example.com')).toThrow(/not a fully qualified domain name/)
    expect(() => publicHostname('192.0.2.1', 'example.com')).toThrow(/not a fully qualified domain name/)
  })
})
