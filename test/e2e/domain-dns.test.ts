/**
 * `mailbox domain dns` and `mailbox domain check` against the real binary: a store made by
 * `mailbox domain add` (plus a rotated DKIM key, so a retired selector is published too), the
 * zone lines read back by a small zone-file parser, and the loopback DNS responder serving them
 * as printed, then with records missing or wrong, then not answering at all.
 */
import {createSocket, type Socket} from 'node:dgram'
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RSA_BITS, RSA_BITS_ENV, generateDkimKeys} from '../../src/dkim/keys.js'
import {dkimKeysOf, putDkimKeysInTxn, retireDkimKeysInTxn} from '../../src/store/dkim-keys.js'
import {runCli, tempDataDir} from '../helpers/cli.js'
import {startDns, type DnsServer, type ZoneRecords} from '../helpers/dns.js'
import {addUser, cloneDataDir, ok, withStore} from './fixtures.js'

// real-size RSA keys here (the suite makes 1024-bit ones): the zone splits a 2048-bit key's record
process.env[RSA_BITS_ENV] = String(RSA_BITS)

const DOMAIN = 'example.com'
const HOST = 'mail.example.com'
// documentation addresses (RFC 5737, RFC 3849): only ever data in the records, never connected to
const IDENTITY = ['--hostname', HOST, '--ip', '192.0.2.25', '--ip', '2001:db8::25']

interface PrintedRecord {
  name: string
  type: string
  ttl: number
  value: string
  kind: string
  purpose: string
  required: boolean
  note?: string
}

interface CheckResult {
  name: string
  type: string
  kind: string
  status: string
  required: boolean
  expected: string[]
  found: string[]
  note?: string
}

/**
 * A zone-file reader for what `domain dns` prints: `;` comments, then `name. TTL IN TYPE data`
 * with absolute names and TXT data as quoted strings of at most 255 bytes each. Throws on any
 * line it cannot read, so a malformed line fails the test.
 */
function parseZone(text: string): {name: string; ttl: number; type: string; data: string}[] {
  const records = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith(';')) continue
    const m = /^((?:[a-z0-9_-]+\.)+) (\d+) IN (MX|A|AAAA|TXT|SRV|CNAME) (.+)$/.exec(line)
    if (!m) throw new Error(`not a zone line: ${JSON.stringify(line)}`)
    let data = m[4]!
    if (m[3] === 'TXT') {
      const strings = [...data.matchAll(/"((?:[^"\\]|\\.)*)"( |$)/g)]
      if (strings.map((s) => s[0]).join('') !== data) throw new Error(`bad TXT data: ${data}`)
      const parts = strings.map((s) => s[1]!.replace(/\\(\d{3}|.)/g, (_, c: string) => (c.length === 3 ? String.fromCharCode(Number(c)) : c)))
      for (const part of parts) if (Buffer.byteLength(part) > 255) throw new Error(`a TXT string over 255 bytes: ${part.length}`)
      data = parts.join('')
    }
    records.push({name: m[1]!.slice(0, -1), ttl: Number(m[2]), type: m[3]!, data})
  }
  return records
}

/** the responder's zone for parsed records */
function zoneOf(records: {name: string; type: string; data: string}[]): Record<string, ZoneRecords> {
  const zone: Record<string, ZoneRecords> = {}
  for (const {name, type, data} of records) {
    const at = (zone[name] ??= {})
    const f = data.split(' ')
    if (type === 'MX') (at.MX ??= []).push({priority: Number(f[0]), exchange: f[1]!.replace(/\.$/, '')})
    else if (type === 'SRV') (at.SRV ??= []).push({priority: Number(f[0]), weight: Number(f[1]), port: Number(f[2]), target: f[3]!.replace(/\.$/, '')})
    else if (type === 'CNAME') (at.CNAME ??= []).push(data.replace(/\.$/, ''))
    else if (type === 'A' || type === 'AAAA' || type === 'TXT') (at[type] ??= []).push(data)
  }
  return zone
}

let dataDir: string
let printed: PrintedRecord[]
let zoneText: string
let dns: DnsServer

beforeAll(async () => {
  dataDir = tempDataDir()
  await ok(['domain', 'add', DOMAIN], dataDir)
  await addUser(dataDir, `postmaster@${DOMAIN}`)
  await ok(['alias', 'add', `dmarc-reports@${DOMAIN}`, `postmaster@${DOMAIN}`], dataDir)
  await ok(['alias', 'add', `tls-reports@${DOMAIN}`, `postmaster@${DOMAIN}`], dataDir)
  // a rotation as `mailbox dkim rotate` makes one: the first pair retired, a new pair active
  await withStore(dataDir, (store) =>
    store.transact(() => {
      retireDkimKeysInTxn(store, DOMAIN, Date.now())
      putDkimKeysInTxn(store, generateDkimKeys(DOMAIN, Date.now(), new Set(dkimKeysOf(store, DOMAIN).map((k) => k.selector))))
    }),
  )
  const json = await runCli(['domain', 'dns', DOMAIN, ...IDENTITY, '--json'], {dataDir})
  expect(json.code, json.stderr).toBe(0)
  printed = JSON.parse(json.stdout)
  const text = await runCli(['domain', 'dns', DOMAIN, ...IDENTITY], {dataDir})
  expect(text.code, text.stderr).toBe(0)
  zoneText = text.stdout
  dns = await startDns({})
}, 60_000)

afterAll(async () => {
  await dns?.close()
})

/** serves `zone` (replacing what was served) and runs `domain check` against it */
async function check(zone: Record<string, ZoneRecords>, identity = [...IDENTITY, '--dns-server', `127.0.0.1:${dns.port}`]) {
  for (const name of Object.keys(dns.zone)) delete dns.zone[name]
  Object.assign(dns.zone, structuredClone(zone))
  const r = await runCli(['domain', 'check', DOMAIN, ...identity, '--timeout', '5s', '--json'], {dataDir})
  const report = JSON.parse(r.stdout) as {outcome: string; results: CheckResult[]}
  const of = (name: string, type?: string) => {
    const found = report.results.filter((x) => x.name === name && (!type || x.type === type))
    expect(found, `one result for ${name} ${type ?? ''}`).toHaveLength(1)
    return found[0]!
  }
  return {code: r.code, stderr: r.stderr, report, of}
}

describe('domain dns', {timeout: 60_000}, () => {
  it('prints every record to publish, as zone lines that parse and say the same as --json', () => {
    const parsed = parseZone(zoneText)
    expect(parsed.map((r) => [r.name, r.ttl, r.type, r.data])).toEqual(printed.map((r) => [r.name, r.ttl, r.type, r.value.replace(/^"|"$/g, '')]))
    const byKind = (kind: string) => printed.filter((r) => r.kind === kind)
    expect(byKind('mx').map((r) => `${r.name} ${r.value}`)).toEqual([`${DOMAIN} 10 ${HOST}.`])
    expect(byKind('address').map((r) => `${r.name} ${r.type} ${r.value}`)).toEqual([`${HOST} A 192.0.2.25`, `${HOST} AAAA 2001:db8::25`])
    expect(byKind('spf').map((r) => `${r.name} ${r.value}`)).toEqual([
      `${DOMAIN} v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 mx -all`,
      `${HOST} v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 a -all`,
    ])
    expect(byKind('dmarc').map((r) => `${r.name} ${r.value}`)).toEqual([`_dmarc.${DOMAIN} v=DMARC1; p=reject; rua=mailto:dmarc-reports@${DOMAIN}`])
    expect(byKind('tls-rpt').map((r) => `${r.name} ${r.value}`)).toEqual([`_smtp._tls.${DOMAIN} v=TLSRPTv1; rua=mailto:tls-reports@${DOMAIN}`])
    expect(byKind('mta-sts')[0]!.value).toMatch(/^v=STSv1; id=[A-Za-z0-9]{1,32}$/)
    expect(byKind('mta-sts-host').map((r) => `${r.name} ${r.type} ${r.value}`)).toEqual([`mta-sts.${DOMAIN} CNAME ${HOST}.`])
    expect(byKind('srv').map((r) => `${r.name} ${r.value}`)).toEqual([
      `_submissions._tcp.${DOMAIN} 0 1 465 ${HOST}.`,
      `_submission._tcp.${DOMAIN} 5 1 587 ${HOST}.`,
      `_imaps._tcp.${DOMAIN} 0 1 993 ${HOST}.`,
      `_imap._tcp.${DOMAIN} 0 0 0 .`,
      `_pop3s._tcp.${DOMAIN} 10 1 995 ${HOST}.`,
      `_pop3._tcp.${DOMAIN} 0 0 0 .`,
      `_autodiscover._tcp.${DOMAIN} 0 1 443 ${HOST}.`,
    ])
    expect(byKind('autoconfig-host').map((r) => `${r.name} ${r.type} ${r.value}`)).toEqual([`autoconfig.${DOMAIN} CNAME ${HOST}.`])
  })

  it('publishes both active DKIM selectors and the retired ones, marked', async () => {
    const keys = await withStore(dataDir, (store) => dkimKeysOf(store, DOMAIN), {readOnly: true})
    expect(keys.map((k) => k.state).sort()).toEqual(['active', 'active', 'retired', 'retired'])
    const dkim = printed.filter((r) => r.kind === 'dkim')
    expect(dkim.map((r) => r.name).sort()).toEqual(keys.map((k) => `${k.selector}._domainkey.${DOMAIN}`).sort())
    for (const key of keys) {
      const record = dkim.find((r) => r.name.startsWith(`${key.selector}.`))!
      expect(record.value).toBe(`v=DKIM1; k=${key.algorithm}; p=${key.publicKey}`)
      expect(record.required).toBe(key.state === 'active')
      if (key.state === 'retired') {
        expect(record.note).toMatch(/^retired/)
        expect(zoneText).toContain(`; DKIM: retired ${key.algorithm === 'rsa' ? 'RSA' : 'Ed25519'} key, selector ${key.selector} (recommended)\n; retired:`)
      }
    }
    // the RSA key's text is longer than one character-string: split, each piece at most 255 bytes
    const rsaLine = zoneText.split('\n').find((l) => l.includes('k=rsa'))!
    expect(rsaLine).toMatch(/ TXT "v=DKIM1; k=rsa; p=[^"]{200,}" "[^"]+"$/)
  })

  it('without --ip: no address records, SPF by mx only, and a comment saying the host needs addresses', async () => {
    const r = await runCli(['domain', 'dns', DOMAIN, '--hostname', HOST, '--json'], {dataDir})
    expect(r.code, r.stderr).toBe(0)
    const records: PrintedRecord[] = JSON.parse(r.stdout)
    expect(records.filter((x) => x.kind === 'address')).toEqual([])
    expect(records.filter((x) => x.kind === 'spf').map((x) => x.value)).toEqual(['v=spf1 mx -all', 'v=spf1 a -all'])
    const text = await runCli(['domain', 'dns', DOMAIN, '--hostname', HOST], {dataDir})
    expect(text.stdout).toContain(`; ${HOST} needs A and/or AAAA records too: give --ip`)
  })

  it('refuses a host name that is not fully qualified, a bad --ip and an unknown domain', async () => {
    const bare = await runCli(['domain', 'dns', DOMAIN, '--hostname', 'devbox'], {dataDir})
    expect([bare.code, bare.stderr]).toEqual([1, `Error: the host name "devbox" is not a fully qualified domain name: give --hostname (or "hostname" in the config file), e.g. mail.${DOMAIN}\n`])
    const ip = await runCli(['domain', 'dns', DOMAIN, '--hostname', HOST, '--ip', '192.0.2.300'], {dataDir})
    expect([ip.code, ip.stderr]).toEqual([1, 'Error: invalid --ip "192.0.2.300": not an IPv4 or IPv6 address\n'])
    const timeout = await runCli(['domain', 'check', DOMAIN, '--hostname', HOST, '--timeout', '10ms'], {dataDir})
    expect([timeout.code, timeout.stderr]).toEqual([1, 'Error: a lookup time limit must be between 100ms and 60s\n'])
    const unknown = await runCli(['domain', 'check', 'nope.example', '--hostname', HOST], {dataDir})
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/^Error: unknown domain nope\.example/)
  })
})

describe('domain check', {timeout: 60_000}, () => {
  it('against exactly the printed records: every record ok, exit 0', async () => {
    const {code, stderr, report} = await check(zoneOf(parseZone(zoneText)))
    expect(code, stderr).toBe(0)
    expect(report.outcome).toBe('ok')
    expect(report.results.filter((r) => r.status !== 'ok')).toEqual([])
    // every printed record was looked up: one result per name and type
    expect(new Set(report.results.map((r) => `${r.name} ${r.type}`))).toEqual(new Set(printed.map((r) => `${r.name} ${r.type}`)))
    const human = await runCli(['domain', 'check', DOMAIN, ...IDENTITY, '--dns-server', `127.0.0.1:${dns.port}`], {dataDir})
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/\nall \d+ required records are ok \(asked 127\.0\.0\.1:\d+\)\n$/)
  })

  it('harmless differences are ok: spacing and term order, other report addresses, another MTA-STS id, a CNAME elsewhere', async () => {
    const zone = zoneOf(parseZone(zoneText))
    zone[DOMAIN]!.TXT = ['google-site-verification=abc', 'v=spf1   ip6:2001:db8::/64   ip4:192.0.2.0/24  -all']
    zone[`_dmarc.${DOMAIN}`]!.TXT = [`v=DMARC1;p=reject; adkim=s ;rua=mailto:dmarc@reports.example.net,mailto:dmarc-reports@${DOMAIN}`]
    zone[`_smtp._tls.${DOMAIN}`]!.TXT = ['v=TLSRPTv1;rua=mailto:tls@reports.example.net']
    zone[`_mta-sts.${DOMAIN}`]!.TXT = ['v=STSv1; id=20261203T000000']
    zone[`mta-sts.${DOMAIN}`]!.CNAME = ['web.example.net']
    const {code, report, of} = await check(zone)
    expect(report.results.filter((r) => r.status !== 'ok').map((r) => r.name)).toEqual([])
    expect(code).toBe(0)
    expect(of(DOMAIN, 'TXT').found).toEqual(['v=spf1   ip6:2001:db8::/64   ip4:192.0.2.0/24  -all'])
    expect(of(`_smtp._tls.${DOMAIN}`).note).toBe('reports go to mailto:tls@reports.example.net')
    expect(of(`mta-sts.${DOMAIN}`).note).toMatch(/points at web\.example\.net/)
  })

  it('records missing or wrong: each reported with what was found and expected, exit 1', async () => {
    const zone = zoneOf(parseZone(zoneText))
    const dkim = printed.filter((r) => r.kind === 'dkim' && r.required)
    const ed = dkim.find((r) => r.value.includes('k=ed25519'))!
    const rsa = dkim.find((r) => r.value.includes('k=rsa'))!
    const retiredRsa = printed.find((r) => r.kind === 'dkim' && !r.required && r.value.includes('k=rsa'))!
    // the Ed25519 key published under another selector; the RSA selector carrying the old key
    delete zone[ed.name]
    zone[`mbx19990101e._domainkey.${DOMAIN}`] = {TXT: [ed.value]}
    zone[rsa.name]!.TXT = [retiredRsa.value]
    zone[DOMAIN]!.TXT = ['v=spf1 mx ~all'] // softfail: a warning
    delete zone[HOST]!.TXT // the host name's SPF: missing
    delete zone[`_dmarc.${DOMAIN}`] // DMARC absent
    zone[DOMAIN]!.MX = [{priority: 10, exchange: 'mx.elsewhere.example'}]
    zone[HOST]!.A = ['192.0.2.99']
    zone[`_submission._tcp.${DOMAIN}`]!.SRV = [{priority: 0, weight: 0, port: 0, target: ''}]
    const {code, report, of} = await check(zone)
    expect(code).toBe(1)
    expect(report.outcome).toBe('failed')
    expect(of(ed.name)).toMatchObject({status: 'missing', found: [], expected: [ed.value], required: true})
    expect(of(rsa.name)).toMatchObject({status: 'different', found: [retiredRsa.value], expected: [rsa.value], note: 'another key is published under this selector: signatures will not verify'})
    expect(of(DOMAIN, 'TXT')).toMatchObject({status: 'warning', found: ['v=spf1 mx ~all']})
    expect(of(DOMAIN, 'TXT').note).toMatch(/^~all \(softfail\)/)
    expect(of(HOST, 'TXT')).toMatchObject({status: 'missing', found: [], expected: ['v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 a -all']})
    expect(of(`_dmarc.${DOMAIN}`)).toMatchObject({status: 'missing', found: []})
    expect(of(DOMAIN, 'MX')).toMatchObject({status: 'different', found: ['10 mx.elsewhere.example.'], expected: [`10 ${HOST}.`]})
    expect(of(HOST, 'A')).toMatchObject({status: 'different', found: ['192.0.2.99'], note: '192.0.2.25 not published; 192.0.2.99 is not this server\'s'})
    expect(of(HOST, 'AAAA').status).toBe('ok')
    expect(of(`_submission._tcp.${DOMAIN}`)).toMatchObject({status: 'different', found: ['0 0 0 .'], note: 'says the service is not offered (target ".")'})
    expect(of(`_imaps._tcp.${DOMAIN}`).status).toBe('ok')
    // the human form lists found and expected under each record that is not ok
    const human = await runCli(['domain', 'check', DOMAIN, ...IDENTITY, '--dns-server', `127.0.0.1:${dns.port}`], {dataDir})
    expect(human.code).toBe(1)
    expect(human.stdout).toMatch(new RegExp(`\\ndifferent +MX +${DOMAIN} .*\\n  found: +10 mx\\.elsewhere\\.example\\.\\n  expected: 10 mail\\.example\\.com\\.\\n`))
    expect(human.stdout).toMatch(/\nmissing +TXT +_dmarc\.example\.com .*\n  expected: v=DMARC1; p=reject; rua=mailto:dmarc-reports@example\.com\n/)
    expect(human.stdout).toMatch(/\n7 of 12 required records are missing or different: publish what `mailbox domain dns example\.com` prints \(asked 127\.0\.0\.1:\d+\)\n$/)
  })

  it('policies that let forgeries through are different: SPF ?all, DMARC p=none, two SPF records', async () => {
    const zone = zoneOf(parseZone(zoneText))
    zone[DOMAIN]!.TXT = ['v=spf1 mx ?all']
    zone[HOST]!.TXT = ['v=spf1 a -all', 'v=spf1 ip4:192.0.2.25 -all']
    zone[`_dmarc.${DOMAIN}`]!.TXT = [`v=DMARC1; p=none; rua=mailto:dmarc-reports@${DOMAIN}`]
    const {code, of} = await check(zone)
    expect(code).toBe(1)
    expect(of(DOMAIN, 'TXT')).toMatchObject({status: 'different', note: '?all: mail from any other host is not refused; expected -all'})
    expect(of(HOST, 'TXT')).toMatchObject({status: 'different', note: '2 SPF records: receivers treat that as a permanent error (RFC 7208 §4.5)'})
    expect(of(`_dmarc.${DOMAIN}`)).toMatchObject({status: 'different', note: 'p=none: receivers take no action on forgeries (monitoring only)'})
  })

  it('a DNS server that never answers: a clear error and exit 75 within the time limit, not a hang', async () => {
    const silent: Socket = createSocket('udp4')
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()))
    const asked: number[] = []
    silent.on('message', () => asked.push(Date.now()))
    try {
      const started = Date.now()
      const r = await runCli(['domain', 'check', DOMAIN, ...IDENTITY, '--dns-server', `127.0.0.1:${silent.address().port}`, '--timeout', '1s'], {dataDir})
      const elapsed = Date.now() - started
      expect(r.code, r.stderr).toBe(75)
      expect(r.stdout).toBe('')
      expect(r.stderr).toBe(`Error: no answer from DNS (127.0.0.1:${silent.address().port}) within 1s per lookup: cannot check ${DOMAIN}\n`)
      expect(asked.length).toBeGreaterThan(0) // it did ask, and gave up
      // 1 s per lookup, all at once, plus start-up of the CLI on a loaded machine
      expect(elapsed).toBeLessThan(20_000)
      const json = await runCli(['domain', 'check', DOMAIN, ...IDENTITY, '--dns-server', `127.0.0.1:${silent.address().port}`, '--timeout', '500ms', '--json'], {dataDir})
      expect(json.code).toBe(75)
      const report = JSON.parse(json.stdout) as {outcome: string; results: CheckResult[]}
      expect(report.outcome).toBe('unreachable')
      expect(new Set(report.results.map((x) => x.status))).toEqual(new Set(['error']))
    } finally {
      silent.close()
    }
  })

  it('hostname, publicAddresses and dnsServers from the server\'s config file', async () => {
    const path = join(dirname(dataDir), 'mailbox.jsonc')
    writeFileSync(path, JSON.stringify({hostname: HOST, publicAddresses: ['192.0.2.25', '2001:db8::25'], dnsServers: [`127.0.0.1:${dns.port}`]}))
    const fromConfig = await runCli(['domain', 'dns', DOMAIN, '--config', path, '--json'], {dataDir})
    expect(JSON.parse(fromConfig.stdout)).toEqual(printed)
    const {code, report} = await check(zoneOf(parseZone(zoneText)), ['--config', path])
    expect([code, report.outcome]).toEqual([0, 'ok'])
  })

  it('without --ip any address of the host will do, and none is missing', async () => {
    const zone = zoneOf(parseZone(zoneText))
    zone[HOST]!.TXT = ['v=spf1 a -all']
    zone[DOMAIN]!.TXT = ['v=spf1 mx -all']
    const withAddress = await check(zone, ['--hostname', HOST, '--dns-server', `127.0.0.1:${dns.port}`])
    expect(withAddress.of(HOST, 'A/AAAA')).toMatchObject({status: 'ok', found: ['192.0.2.25', '2001:db8::25'], expected: []})
    expect(withAddress.code).toBe(0)
    delete zone[HOST]!.A
    delete zone[HOST]!.AAAA
    const without = await check(zone, ['--hostname', HOST, '--dns-server', `127.0.0.1:${dns.port}`])
    expect(without.of(HOST, 'A/AAAA')).toMatchObject({status: 'missing', note: 'the host name has no A or AAAA record'})
    expect(without.code).toBe(1)
  })

  it('report addresses that name no one here: said by domain dns, a warning in domain check', async () => {
    const bare = await cloneDataDir(dataDir)
    await ok(['alias', 'remove', `tls-reports@${DOMAIN}`], bare)
    const printedBare: PrintedRecord[] = JSON.parse((await runCli(['domain', 'dns', DOMAIN, ...IDENTITY, '--json'], {dataDir: bare})).stdout)
    expect(printedBare.find((r) => r.kind === 'dmarc')!.note).toBe(
      `tls-reports@${DOMAIN} (DMARC and TLS reports) name no user or alias yet: reports would be refused; e.g. mailbox alias add tls-reports@${DOMAIN} postmaster@${DOMAIN}`,
    )
    expect(printed.find((r) => r.kind === 'dmarc')!.note).toBeUndefined()
    for (const name of Object.keys(dns.zone)) delete dns.zone[name]
    Object.assign(dns.zone, zoneOf(parseZone(zoneText)))
    const r = await runCli(['domain', 'check', DOMAIN, ...IDENTITY, '--dns-server', `127.0.0.1:${dns.port}`, '--json'], {dataDir: bare})
    const report = JSON.parse(r.stdout) as {outcome: string; results: CheckResult[]}
    expect(r.code).toBe(0) // a warning, not a failure
    expect(report.results.filter((x) => x.status !== 'ok').map((x) => [x.name, x.status, x.note])).toEqual([
      [`_smtp._tls.${DOMAIN}`, 'warning', `tls-reports@${DOMAIN} names no user or alias here: reports to it would be refused`],
    ])
  })

  it('some lookups failing (SERVFAIL) and nothing wrong for sure: exit 75, those records reported as errors', async () => {
    const zone = zoneOf(parseZone(zoneText))
    zone[`_dmarc.${DOMAIN}`]!.rcode = 2
    const {code, report, of} = await check(zone)
    expect(code).toBe(75)
    expect(report.outcome).toBe('incomplete')
    expect(of(`_dmarc.${DOMAIN}`)).toMatchObject({status: 'error', error: 'ESERVFAIL', note: 'lookup failed: ESERVFAIL'})
  })
})
