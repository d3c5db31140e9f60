/**
 * The TLS outcome of each outbound MX session (for TLS reports, RFC 8460), as it comes back from
 * the sender thread on the attempt result (`tlsOutcomes`): the MTA-STS policy applied (its text
 * as lines, its mx patterns) or none, and the failure type: a missing STARTTLS, an untrusted
 * certificate (testing mode: still delivered), an MX host outside the policy, a policy that
 * could not be fetched. A kept connection reused for the next message reports nothing again.
 * MX sinks listen on port 25 of their own loopback addresses (root; skipped otherwise).
 */
import {join} from 'node:path'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {SenderThread} from '../../src/delivery/sender-thread.js'
import type {StsDecision} from '../../src/mta-sts/outcome.js'
import {loadTls} from '../../src/tls.js'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {startDns, type DnsServer} from '../helpers/dns.js'
import {makeTestCa, type TestCa} from '../helpers/test-ca.js'
import {Receiver, canListen} from '../e2e/queue-helpers.js'

const PLAIN = '127.0.0.31'
const SELF_SIGNED = '127.0.0.32'
const TRUSTED = '127.0.0.33'
const port25 = (await Promise.all([PLAIN, SELF_SIGNED, TRUSTED].map((host) => canListen(25, host)))).every(Boolean)

let ca: TestCa
let dns: DnsServer
let dir: string
const sinks: Receiver[] = []
let sender: SenderThread

beforeAll(async () => {
  if (!port25) return
  ca = makeTestCa()
  dir = mkdtempSync(join(tmpdir(), 'mbx-outcomes-'))
  dns = await startDns({
    'plain.test': {MX: [{priority: 10, exchange: 'mx.plain.test'}]},
    'mx.plain.test': {A: [PLAIN]},
    'selfsigned.test': {MX: [{priority: 10, exchange: 'mx.selfsigned.test'}]},
    'mx.selfsigned.test': {A: [SELF_SIGNED]},
    'trusted.test': {MX: [{priority: 10, exchange: 'mx.trusted.test'}]},
    'mx.trusted.test': {A: [TRUSTED]},
  })
  sinks.push(
    await Receiver.start({port: 25, host: PLAIN}),
    await Receiver.start({port: 25, host: SELF_SIGNED, tls: await loadTls({dataDir: dir, hostname: 'mx.selfsigned.test'})}),
    await Receiver.start({port: 25, host: TRUSTED, tls: ca.issue(['mx.trusted.test'])}),
  )
  sender = new SenderThread(
    {
      route: {routes: {}, dnsServers: [`127.0.0.1:${dns.port}`], insecure: false},
      client: {hostname: 'mbx.example.com', connectTimeoutMs: 5000, socketTimeoutMs: 10_000},
      nice: 0,
      stsTrustedCa: ca.caPem,
    },
    () => {},
  )
})

afterAll(async () => {
  await sender?.stop()
  for (const sink of sinks) await sink.close()
  await dns?.close()
  ca?.close()
  if (dir) rmSync(dir, {recursive: true, force: true})
})

const TEXT = (mode: string, mx: string) => `version: STSv1\r\nmode: ${mode}\r\nmx: ${mx}\r\nmax_age: 86400\r\n`
const decision = (domain: string, mode: 'enforce' | 'testing', mx: string): StsDecision => ({domain, policy: {mode, mx: [mx], text: TEXT(mode, mx)}})
const policyOf = (mode: string, mx: string) => ({type: 'sts', policyString: ['version: STSv1', `mode: ${mode}`, `mx: ${mx}`, 'max_age: 86400'], mxHost: [mx]})

async function attempt(domain: string, sts?: StsDecision) {
  const {result, session} = await sender.attempt({domain, from: 'a@example.com', recipients: [`bob@${domain}`], message: Buffer.from('Subject: x\r\n\r\nbody\r\n'), ...(sts ? {sts} : {})})
  return {result, session, outcome: result.tlsOutcomes?.[0]}
}

describe.skipIf(missingOutsideCi(port25))('TLS outcomes of MX sessions', () => {
  it('enforce, verified TLS: a success under the policy; a kept connection reused reports nothing again', async () => {
    requireInCi(port25, `port 25 on ${PLAIN}, ${SELF_SIGNED} and ${TRUSTED} must be free to listen on (root)`)
    const sts = decision('trusted.test', 'enforce', 'mx.trusted.test')
    const first = await attempt('trusted.test', sts)
    expect(first.result.recipients[0]!.outcome).toBe('delivered')
    expect(first.result.tlsOutcomes).toHaveLength(1)
    expect(first.outcome).toEqual({policyDomain: 'trusted.test', policy: policyOf('enforce', 'mx.trusted.test'), at: expect.any(Number), receivingMxHostname: 'mx.trusted.test', receivingIp: TRUSTED})
    const again = await sender.attempt({domain: 'trusted.test', from: 'a@example.com', recipients: ['carol@trusted.test'], message: Buffer.from('Subject: y\r\n\r\nbody\r\n'), sts}, first.session)
    expect(again.result.recipients[0]!.outcome).toBe('delivered')
    expect(again.result.tlsOutcomes).toBeUndefined()
    if (again.session) sender.close(again.session)
  })

  it('enforce: no STARTTLS, and an MX host outside the policy, are failures of the policy (deferred)', async () => {
    const plain = await attempt('plain.test', decision('plain.test', 'enforce', 'mx.plain.test'))
    expect(plain.result.recipients[0]!.outcome).toBe('deferred')
    expect(plain.outcome).toMatchObject({policy: {type: 'sts'}, receivingMxHostname: 'mx.plain.test', receivingIp: PLAIN, failure: {type: 'starttls-not-supported'}})
    const unlisted = await attempt('trusted.test', decision('trusted.test', 'enforce', 'mx.other.test'))
    expect(unlisted.result.recipients[0]!.outcome).toBe('deferred')
    expect(unlisted.outcome).toEqual({
      policyDomain: 'trusted.test',
      policy: policyOf('enforce', 'mx.other.test'),
      at: expect.any(Number),
      receivingMxHostname: 'mx.trusted.test',
      failure: {type: 'validation-failure', detail: 'mx.trusted.test is not in the policy'},
    })
  })

  it('a kept connection that does not meet an enforce policy (opened under none, in plaintext) is not reused: the message goes by a new session, which the policy defers', async () => {
    const before = await attempt('plain.test')
    expect(before.result.recipients[0]!.outcome).toBe('delivered')
    expect(before.session).toBeDefined()
    const sts = decision('plain.test', 'enforce', 'mx.plain.test')
    const after = await sender.attempt({domain: 'plain.test', from: 'a@example.com', recipients: ['carol@plain.test'], message: Buffer.from('Subject: y\r\n\r\nbody\r\n'), sts}, before.session)
    expect(after.result.recipients[0]!.outcome).toBe('deferred')
    expect(after.result.tlsOutcomes?.[0]).toMatchObject({policy: {type: 'sts'}, failure: {type: 'starttls-not-supported'}})
    if (after.session) sender.close(after.session)
  })

  it('testing: an untrusted certificate is reported and the message delivered', async () => {
    const {result, outcome, session} = await attempt('selfsigned.test', decision('selfsigned.test', 'testing', 'mx.selfsigned.test'))
    expect(result.recipients[0]!.outcome).toBe('delivered')
    expect(outcome).toMatchObject({policy: {type: 'sts'}, failure: {type: 'certificate-not-trusted', detail: 'DEPTH_ZERO_SELF_SIGNED_CERT'}})
    if (session) sender.close(session)
  })

  it('no policy: delivered whatever the TLS, and reported as it was (a missing STARTTLS, an untrusted certificate); a policy that could not be fetched is reported under sts', async () => {
    const plain = await attempt('plain.test')
    expect(plain.outcome).toMatchObject({policyDomain: 'plain.test', policy: {type: 'no-policy-found'}, failure: {type: 'starttls-not-supported'}})
    if (plain.session) sender.close(plain.session)
    const selfSigned = await attempt('selfsigned.test')
    expect(selfSigned.result.recipients[0]!.outcome).toBe('delivered')
    expect(selfSigned.outcome).toEqual({
      policyDomain: 'selfsigned.test',
      policy: {type: 'no-policy-found'},
      at: expect.any(Number),
      receivingMxHostname: 'mx.selfsigned.test',
      receivingIp: SELF_SIGNED,
      failure: {type: 'certificate-not-trusted', detail: 'DEPTH_ZERO_SELF_SIGNED_CERT'},
    })
    if (selfSigned.session) sender.close(selfSigned.session)
    const failure = {type: 'sts-policy-fetch-error' as const, detail: 'mta-sts.selfsigned.test: HTTP 404'}
    const unfetched = await attempt('selfsigned.test', {domain: 'selfsigned.test', failure})
    expect(unfetched.result.recipients[0]!.outcome).toBe('delivered')
    expect(unfetched.outcome).toMatchObject({policy: {type: 'sts'}, failure})
    if (unfetched.session) sender.close(unfetched.session)
  })
})
