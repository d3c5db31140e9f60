/**
 * TLS reporting (src/tls-rpt/): the `_smtp._tls` record (RFC 8460 §3), the report's JSON against
 * the fields of the RFC's example (§4.4), its file name (§5.1) and mail (§5.3), how a session's
 * TLS is classified, the recorder's counts through a real LMDB store, and the report task's run
 * (a real store and bus; DNS and the https POST answered by the test).
 */
import {gunzipSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'
import {Bus} from '../../src/bus.js'
import {silentLogger} from '../../src/log.js'
import type {TlsReportDay} from '../../src/store/tls-report-rules.js'
import {certificateFailure, tlsFailureOf, tlsOutcome} from '../../src/mta-sts/outcome.js'
import {DEFAULT_TLS_RPT} from '../../src/tls-rpt/config.js'
import {TlsReportRecorder} from '../../src/tls-rpt/recorder.js'
import {buildReport, mailtoAddress, parseTlsRptRecord, reportFilename, reportMessage} from '../../src/tls-rpt/report.js'
import {TlsReporter} from '../../src/tls-rpt/reporter.js'
import {tempStore} from '../helpers/store.js'

const DAY: TlsReportDay = {
  day: '2016-04-01',
  policyDomain: 'company-y.example',
  state: 'open',
  droppedDetails: 0,
  sentTo: [],
  attempts: 1,
  policies: [
    {
      policy: {type: 'sts', policyString: ['version: STSv1', 'mode: testing', 'mx: *.mail.company-y.example', 'max_age: 86400'], mxHost: ['*.mail.company-y.example']},
      successes: 5326,
      failures: 303,
      details: [
        {type: 'certificate-expired', receivingMxHostname: 'mx1.mail.company-y.example', receivingIp: '2001:db8:abcd:0013::1', count: 100},
        {type: 'validation-failure', receivingMxHostname: 'mx2.mail.company-y.example', receivingIp: '203.0.113.56', detail: 'X509_V_ERR_PROOF_OF_POSSESSION', count: 3},
      ],
    },
  ],
}
const META = {organizationName: 'Company-X', contact: 'sts-reporting@company-x.example', submitter: 'mail.company-x.example'}

describe('the _smtp._tls record (RFC 8460 §3)', () => {
  it('gives the rua URIs of the one v=TLSRPTv1 record, its character-strings joined', () => {
    expect(parseTlsRptRecord([['v=TLSRPTv1; rua=mailto:reports@example.com']])).toEqual(['mailto:reports@example.com'])
    expect(parseTlsRptRecord([['v=TLSRPTv1;rua=mailto:a@example.com,', 'https://reporting.example.com/v1/tlsrpt'], ['v=spf1 -all']])).toEqual([
      'mailto:a@example.com',
      'https://reporting.example.com/v1/tlsrpt',
    ])
    // extension fields are ignored; unknown schemes and a plain http URL are not destinations
    expect(parseTlsRptRecord([['v=TLSRPTv1; ext=1; rua=ftp://x.example/r, http://x.example/r ,mailto:b@example.com']])).toEqual(['mailto:b@example.com'])
  })

  it('no record, two records, the wrong version, or no usable rua: no reports', () => {
    expect(parseTlsRptRecord([])).toBeUndefined()
    expect(parseTlsRptRecord([['v=TLSRPTv1; rua=mailto:a@example.com'], ['v=TLSRPTv1; rua=mailto:b@example.com']])).toBeUndefined()
    expect(parseTlsRptRecord([['v=TLSRPTv2; rua=mailto:a@example.com']])).toBeUndefined()
    expect(parseTlsRptRecord([['v=TLSRPTv1']])).toBeUndefined()
    expect(parseTlsRptRecord([['v=tlsrptv1; rua=mailto:a@example.com']])).toBeUndefined()
  })

  it('a mailto URI names its address without the query, %-escapes decoded', () => {
    expect(mailtoAddress('mailto:tls-reports@example.com?subject=tls')).toBe('tls-reports@example.com')
    expect(mailtoAddress('mailto:tls%2Breports@example.com')).toBe('tls+reports@example.com')
    expect(mailtoAddress('mailto:nobody')).toBeUndefined()
    expect(mailtoAddress('mailto:%E0%A4%A@x.example')).toBeUndefined()
  })
})

describe('the report (RFC 8460 §4, §5)', () => {
  it('has the fields of the RFC example, with its names and nesting', () => {
    expect(buildReport(DAY, META)).toEqual({
      'organization-name': 'Company-X',
      'date-range': {'start-datetime': '2016-04-01T00:00:00Z', 'end-datetime': '2016-04-01T23:59:59Z'},
      'contact-info': 'sts-reporting@company-x.example',
      'report-id': '2016-04-01.company-y.example@mail.company-x.example',
      policies: [
        {
          policy: {
            'policy-type': 'sts',
            'policy-string': ['version: STSv1', 'mode: testing', 'mx: *.mail.company-y.example', 'max_age: 86400'],
            'policy-domain': 'company-y.example',
            'mx-host': ['*.mail.company-y.example'],
          },
          summary: {'total-successful-session-count': 5326, 'total-failure-session-count': 303},
          'failure-details': [
            {'result-type': 'certificate-expired', 'receiving-mx-hostname': 'mx1.mail.company-y.example', 'receiving-ip': '2001:db8:abcd:0013::1', 'failed-session-count': 100},
            {
              'result-type': 'validation-failure',
              'receiving-mx-hostname': 'mx2.mail.company-y.example',
              'receiving-ip': '203.0.113.56',
              'failed-session-count': 3,
              'failure-reason-code': 'X509_V_ERR_PROOF_OF_POSSESSION',
            },
          ],
        },
      ],
    })
    const none = buildReport({...DAY, policies: [{policy: {type: 'no-policy-found'}, successes: 2, failures: 0, details: []}]}, META)
    expect(none.policies).toEqual([{policy: {'policy-type': 'no-policy-found', 'policy-domain': 'company-y.example'}, summary: {'total-successful-session-count': 2, 'total-failure-session-count': 0}}])
  })

  it('is named sender!policy-domain!begin!end.json.gz (§5.1)', () => {
    expect(reportFilename(DAY, 'mail.sndr.example.com')).toBe('mail.sndr.example.com!company-y.example!1459468800!1459555199.json.gz')
  })

  it('goes as a multipart/report with the gzipped JSON attached and the §5.3 header fields', () => {
    const gzipped = Buffer.from('not really gzip, any bytes')
    const raw = reportMessage({from: 'postmaster@company-x.example', to: 'reports@company-y.example', submitter: 'mail.company-x.example', day: DAY, gzipped}).toString('latin1')
    const [head, body] = [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n'))]
    expect(head).toContain('Subject: Report Domain: company-y.example Submitter: mail.company-x.example Report-ID: <2016-04-01.company-y.example@mail.company-x.example>')
    expect(head).toContain('TLS-Report-Domain: company-y.example')
    expect(head).toContain('TLS-Report-Submission: mail.company-x.example')
    expect(head).toMatch(/Content-Type: multipart\/report; report-type="tlsrpt"; boundary="([^"]+)"/)
    expect(body).toContain('Content-Type: application/tlsrpt+gzip')
    expect(body).toContain('Content-Disposition: attachment; filename="mail.company-x.example!company-y.example!1459468800!1459555199.json.gz"')
    const b64 = /Content-Transfer-Encoding: base64\r\n.*\r\n\r\n([A-Za-z0-9+/=\r\n]+)--/s.exec(body)![1]!
    expect(Buffer.from(b64.replace(/\r\n/g, ''), 'base64').equals(gzipped)).toBe(true)
    expect(raw.split('\r\n').every((line) => line.length <= 998)).toBe(true)
  })
})

describe("a session's TLS as a report counts it", () => {
  it('verified is a success; an unverified certificate fails by why, with or without a policy; no TLS is starttls-not-supported', () => {
    expect(tlsFailureOf({state: 'verified', protocol: 'TLSv1.3'}, true)).toBeUndefined()
    expect(tlsFailureOf({state: 'encrypted', unverified: 'DEPTH_ZERO_SELF_SIGNED_CERT'}, true)).toEqual({type: 'certificate-not-trusted', detail: 'DEPTH_ZERO_SELF_SIGNED_CERT'})
    expect(tlsFailureOf({state: 'none'}, false)).toEqual({type: 'starttls-not-supported', detail: 'no TLS'})
    expect(tlsFailureOf({state: 'none'}, true)).toEqual({type: 'starttls-not-supported', detail: 'STARTTLS refused'})
  })

  it("Node's verification codes map to the RFC's certificate result types", () => {
    expect(certificateFailure('ERR_TLS_CERT_ALTNAME_INVALID')).toBe('certificate-host-mismatch')
    expect(certificateFailure('CERT_HAS_EXPIRED')).toBe('certificate-expired')
    for (const code of ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']) expect(certificateFailure(code)).toBe('certificate-not-trusted')
  })

  it('an outcome without a policy is no-policy-found, for the recipient domain, the MX without its root dot', () => {
    expect(tlsOutcome('example.net', undefined, 'mx1.example.net.', '192.0.2.7', undefined)).toEqual({
      policyDomain: 'example.net',
      policy: {type: 'no-policy-found'},
      at: expect.any(Number),
      receivingMxHostname: 'mx1.example.net',
      receivingIp: '192.0.2.7',
    })
  })
})

describe('the recorder', () => {
  it('counts in memory and writes per (day, domain) at a flush; a bad outcome is logged, never thrown', async () => {
    const store = tempStore()
    const recorder = new TlsReportRecorder(store.tlsReports, silentLogger, {flushMs: 60_000, bounds: {maxDetails: 2, maxPolicies: 10}, maxPendingDays: 2})
    const at = Date.parse('2026-12-01T10:00:00Z')
    const mx = {receivingMxHostname: 'mx.a.example', receivingIp: '192.0.2.1'}
    for (let i = 0; i < 3; i++) recorder.record({policyDomain: 'a.example', policy: {type: 'no-policy-found'}, at, ...mx})
    recorder.record({policyDomain: 'a.example', policy: {type: 'no-policy-found'}, at, ...mx, failure: {type: 'starttls-not-supported'}})
    recorder.record({policyDomain: 'a.example', policy: {type: 'no-policy-found'}, at: at + 86_400_000, ...mx})
    // past maxPendingDays: dropped
    recorder.record({policyDomain: 'b.example', policy: {type: 'no-policy-found'}, at, ...mx})
    expect(() => recorder.record(null as never)).not.toThrow()
    expect(await store.tlsReports.get('2026-12-01', 'a.example')).toBeUndefined()
    await recorder.flush()
    expect((await store.tlsReports.get('2026-12-01', 'a.example'))!.policies).toEqual([
      {policy: {type: 'no-policy-found'}, successes: 3, failures: 1, details: [{type: 'starttls-not-supported', ...mx, count: 1}]},
    ])
    expect((await store.tlsReports.get('2026-12-02', 'a.example'))!.policies[0]!.successes).toBe(1)
    expect(await store.tlsReports.get('2026-12-01', 'b.example')).toBeUndefined()
    recorder.record({policyDomain: 'a.example', policy: {type: 'no-policy-found'}, at, ...mx})
    await recorder.stop()
    expect((await store.tlsReports.get('2026-12-01', 'a.example'))!.policies[0]!.successes).toBe(4)
  })
})

describe('the report task', () => {
  const setUp = async (txt: Record<string, string[][]>) => {
    const store = tempStore()
    const bus = new Bus()
    const mailed: {from: string; to: string[]; raw: Buffer}[] = []
    bus.handle('mailstore.inject', async (req) => {
      mailed.push({from: req.from, to: req.to, raw: Buffer.from(req.raw, 'base64')})
      return {} as never
    })
    const posted: {url: string; body: Buffer}[] = []
    let postFails = false
    let now = Date.parse('2026-12-02T01:00:00Z')
    // runs are driven by the test: the task's own timer never fires (unref'd)
    const config = {hostname: 'mail.ours.example', dnsServers: [], tlsRpt: {...DEFAULT_TLS_RPT, intervalMs: 2 ** 31 - 1}}
    await store.directory.addDomain({record: {name: 'ours.example', createdAt: 0}, keys: []})
    const reporter = new TlsReporter(bus, store, silentLogger, {
      config,
      now: () => now,
      resolveTxt: async (name) => {
        if (name in txt) return txt[name]!
        throw Object.assign(new Error('nx'), {code: 'ENOTFOUND'})
      },
      post: async (url, body) => {
        if (postFails) throw new Error('HTTP 503')
        posted.push({url, body})
      },
    })
    await reporter.start()
    const add = (day: string, policyDomain: string, successes: number) =>
      store.tlsReports.add([{day, policyDomain, policies: [{policy: {type: 'no-policy-found'}, successes, failures: 0, details: []}]}], {maxDetails: 10, maxPolicies: 10})
    return {store, reporter, mailed, posted, add, config, setNow: (ms: number) => (now = ms), failPosts: (v: boolean) => (postFails = v)}
  }

  it('sends each finished day to every destination of the record, once; today waits; no record: nothing, and done', async () => {
    const t = await setUp({'_smtp._tls.a.example': [['v=TLSRPTv1; rua=mailto:tls@a.example,https://r.a.example/tlsrpt']]})
    await t.add('2026-12-01', 'a.example', 4)
    await t.add('2026-12-01', 'quiet.example', 1)
    await t.add('2026-12-02', 'a.example', 9)
    expect(await t.reporter.runOnce()).toEqual({days: 2, sent: 2})
    expect(t.mailed).toHaveLength(1)
    expect(t.mailed[0]).toMatchObject({from: 'postmaster@ours.example', to: ['tls@a.example']})
    // what the queue asks: our report mail (sender and field) is; other mail from the address is not
    expect(await t.reporter.isReport('Postmaster@ours.example', t.mailed[0]!.raw)).toBe(true)
    expect(await t.reporter.isReport('postmaster@ours.example', Buffer.from('Subject: hi\r\n\r\nTLS-Report-Submission: x\r\n'))).toBe(false)
    expect(await t.reporter.isReport('alice@ours.example', t.mailed[0]!.raw)).toBe(false)
    // the field alone, or a Message-ID of the right shape without our MAC, makes no report
    const head = (id: string) => Buffer.from(`From: <postmaster@ours.example>\r\nTLS-Report-Submission: x\r\nMessage-ID: <${id}>\r\n\r\nbody\r\n`)
    expect(await t.reporter.isReport('postmaster@ours.example', head(`tlsrpt.${'a'.repeat(32)}.${'b'.repeat(32)}@ours.example`))).toBe(false)
    const ours = /^Message-ID: <([^>]+)>/m.exec(t.mailed[0]!.raw.toString('latin1'))![1]!
    expect(await t.reporter.isReport('postmaster@ours.example', head(ours))).toBe(true)
    expect(t.posted.map((p) => p.url)).toEqual(['https://r.a.example/tlsrpt'])
    const json = JSON.parse(gunzipSync(t.posted[0]!.body).toString())
    expect(json).toMatchObject({'organization-name': 'ours.example', 'contact-info': 'postmaster@ours.example', 'date-range': {'start-datetime': '2026-12-01T00:00:00Z'}})
    expect(json.policies[0].summary).toEqual({'total-successful-session-count': 4, 'total-failure-session-count': 0})
    expect(await t.store.tlsReports.get('2026-12-01', 'quiet.example')).toMatchObject({state: 'done'})
    // run again: nothing twice
    expect(await t.reporter.runOnce()).toEqual({days: 0, sent: 0})
    // the next day, once it ended (and sendAfterMs passed)
    t.setNow(Date.parse('2026-12-03T00:10:00Z'))
    expect(await t.reporter.runOnce()).toEqual({days: 0, sent: 0})
    t.setNow(Date.parse('2026-12-03T00:16:00Z'))
    expect(await t.reporter.runOnce()).toEqual({days: 1, sent: 2})
  })

  it('a destination that fails is tried at later runs alone, until maxAttempts; DNS trouble is retried too', async () => {
    const t = await setUp({'_smtp._tls.a.example': [['v=TLSRPTv1; rua=mailto:tls@a.example,https://r.a.example/tlsrpt']]})
    t.config.tlsRpt.maxAttempts = 3
    await t.add('2026-12-01', 'a.example', 1)
    t.failPosts(true)
    expect(await t.reporter.runOnce()).toEqual({days: 1, sent: 1})
    expect(await t.reporter.runOnce()).toEqual({days: 1, sent: 0})
    expect(t.mailed).toHaveLength(1)
    t.failPosts(false)
    expect(await t.reporter.runOnce()).toEqual({days: 1, sent: 1})
    expect(t.mailed).toHaveLength(1)
    expect(await t.store.tlsReports.get('2026-12-01', 'a.example')).toMatchObject({state: 'done', attempts: 3})
  })

  it('local domains are never reported on; old counts are purged', async () => {
    const t = await setUp({'_smtp._tls.ours.example': [['v=TLSRPTv1; rua=mailto:tls@ours.example']]})
    await t.add('2026-12-01', 'ours.example', 1)
    await t.add('2026-11-01', 'old.example', 1)
    expect(await t.reporter.runOnce()).toEqual({days: 1, sent: 0})
    expect(t.mailed).toHaveLength(0)
    expect(await t.store.tlsReports.get('2026-11-01', 'old.example')).toBeUndefined()
  })
})
