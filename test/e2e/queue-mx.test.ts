/**
 * Delivery by DNS: `serve --dns-server 127.0.0.1:PORT` asks a loopback DNS responder for the MX
 * of the recipient's domain. MX delivery goes to port 25, so the receiving tests need
 * 127.0.0.1:25 free (root may bind it) and are skipped otherwise; the permanent DNS failures
 * (null MX, NXDOMAIN) need no receiver and always run.
 */
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {listMessages, setupUsers, showRaw} from './smtp-helpers.js'
import {loadTls} from '../../src/tls.js'
import {Receiver, canListen, inboxCount, message, parseReport, queueShow, send, startDns, waitFor, waitForEntry, type DnsServer} from './queue-helpers.js'

const port25 = await canListen(25)

let dataDir: string
let dns: DnsServer
let served: Served
let receiver: Receiver | undefined
/** an MX host on 127.0.0.2:25 that offers STARTTLS with a self-signed certificate */
let tlsReceiver: Receiver | undefined

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  dns = await startDns({
    'test-domain.test': {MX: [{priority: 10, exchange: 'mx.test-domain.test'}]},
    'mx.test-domain.test': {A: ['127.0.0.1']},
    'implicit.test': {A: ['127.0.0.1']},
    'tls-mx.test': {MX: [{priority: 10, exchange: 'mx.tls-mx.test'}]},
    'mx.tls-mx.test': {A: ['127.0.0.2']},
    'nullmx.test': {MX: [{priority: 0, exchange: '.'}]},
    // the first MX host has no address: skipped for the next one
    'fallback.test': {
      MX: [
        {priority: 5, exchange: 'gone.fallback.test'},
        {priority: 10, exchange: 'mx.test-domain.test'},
      ],
    },
    'unreachable.test': {MX: [{priority: 10, exchange: 'gone.unreachable.test'}]},
    'servfail.test': {rcode: 2},
  })
  if (port25) {
    receiver = await Receiver.start({port: 25})
    tlsReceiver = await Receiver.start({port: 25, host: '127.0.0.2', tls: await loadTls({dataDir: join(dataDir, '..', 'mx-cert'), hostname: 'localhost'})})
  }
  served = await startServe(dataDir, ['--hostname', 'mbx.example.com', '--dns-server', `127.0.0.1:${dns.port}`])
})

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
  await tlsReceiver?.close()
  await dns?.close()
})

describe('MX delivery through a loopback DNS server', () => {
  it.skipIf(missingOutsideCi(port25))('delivers to the MX host the DNS server names, on port 25', async () => {
    requireInCi(port25, 'port 25 on 127.0.0.1 must be free to listen on (root)')
    const sent = await send(dataDir, 'alice@example.com', ['bob@test-domain.test'], message('by mx'))
    const id = sent.queued[0]!
    const [got] = await receiver!.waitForMessages(1)
    expect(got!.to).toEqual(['bob@test-domain.test'])
    expect(got!.raw).toContain('Subject: by mx')
    await waitForEntry(dataDir, id, ['delivered'])
    const shown = await queueShow(dataDir, id)
    expect(shown.attemptLog[0]!.host).toBe('mx.test-domain.test:25')
    expect(shown.attemptLog[0]!.transcript[0]).toBe('-- mx.test-domain.test [127.0.0.1]:25')
    expect(dns.questions).toContain('MX test-domain.test')
    expect(dns.questions).toContain('A mx.test-domain.test')
    // no STARTTLS offered: plaintext, and the attempt says so
    expect(got!.secure).toBe(false)
    expect(shown.attemptLog[0]!.tls).toEqual({state: 'none'})
    expect(shown.attemptLog[0]!.transcript).toContain('-- tls: none')
  })

  it.skipIf(missingOutsideCi(port25))('an MX host offering STARTTLS with a certificate nobody vouches for: delivered encrypted (opportunistic), recorded as unverified', async () => {
    requireInCi(port25, 'port 25 on 127.0.0.1 must be free to listen on (root)')
    const sent = await send(dataDir, 'alice@example.com', ['bob@tls-mx.test'], message('mx over tls'))
    const [got] = await tlsReceiver!.waitForMessages(1)
    expect(got!.secure).toBe(true)
    await waitForEntry(dataDir, sent.queued[0]!, ['delivered'])
    const [attempt] = (await queueShow(dataDir, sent.queued[0]!)).attemptLog
    expect(attempt!.host).toBe('mx.tls-mx.test:25')
    expect(attempt!.tls).toMatchObject({state: 'encrypted', unverified: 'DEPTH_ZERO_SELF_SIGNED_CERT'})
    expect(attempt!.transcript).toContain('C: STARTTLS')
    expect(attempt!.transcript.find((l) => l.startsWith('-- tls: '))).toMatch(/^-- tls: encrypted \(TLSv1\.[23]; unverified: DEPTH_ZERO_SELF_SIGNED_CERT\)$/)
    const text = (await runCli(['queue', 'show', sent.queued[0]!], {dataDir})).stdout
    expect(text).toMatch(/to mx\.tls-mx\.test:25: delivered, tls encrypted \(TLSv1\.[23]; unverified: DEPTH_ZERO_SELF_SIGNED_CERT\)/)
  })

  it.skipIf(missingOutsideCi(port25))('a domain without MX is delivered to its own address (implicit MX)', async () => {
    requireInCi(port25, 'port 25 on 127.0.0.1 must be free to listen on (root)')
    const before = receiver!.messages.length
    const sent = await send(dataDir, 'alice@example.com', ['bob@implicit.test'], message('implicit mx'))
    await receiver!.waitForMessages(before + 1)
    expect(receiver!.messages.at(-1)!.to).toEqual(['bob@implicit.test'])
    await waitForEntry(dataDir, sent.queued[0]!, ['delivered'])
    expect((await queueShow(dataDir, sent.queued[0]!)).attemptLog[0]!.host).toBe('implicit.test:25')
  })

  it.skipIf(missingOutsideCi(port25))('an MX host without an address is skipped for the next one', async () => {
    requireInCi(port25, 'port 25 on 127.0.0.1 must be free to listen on (root)')
    const before = receiver!.messages.length
    const sent = await send(dataDir, 'alice@example.com', ['bob@fallback.test'], message('fallback mx'))
    await receiver!.waitForMessages(before + 1)
    await waitForEntry(dataDir, sent.queued[0]!, ['delivered'])
    const [attempt] = (await queueShow(dataDir, sent.queued[0]!)).attemptLog
    expect(attempt!.transcript[0]).toMatch(/^!: gone\.fallback\.test: no address for gone\.fallback\.test/)
    expect(attempt!.transcript[1]).toBe('-- mx.test-domain.test [127.0.0.1]:25')
    expect(attempt!.host).toBe('mx.test-domain.test:25')
  })

  it('no MX host reachable: deferred (4.4.1), not failed', async () => {
    const sent = await send(dataDir, 'alice@example.com', ['bob@unreachable.test'], message('nobody home'))
    const entry = await waitForEntry(dataDir, sent.queued[0]!, ['deferred', 'failed', 'delivered'])
    expect(entry).toMatchObject({state: 'deferred', attempts: 1, lastError: '451 4.4.1 no host could be reached'})
    await runCli(['queue', 'delete', sent.queued[0]!], {dataDir})
  })

  it('a failing DNS server (SERVFAIL): deferred (4.4.3), not failed', async () => {
    const sent = await send(dataDir, 'alice@example.com', ['bob@servfail.test'], message('dns trouble'))
    const entry = await waitForEntry(dataDir, sent.queued[0]!, ['deferred', 'failed', 'delivered'])
    expect(entry.state).toBe('deferred')
    expect(entry.lastError).toMatch(/^451 4\.4\.3 MX lookup for servfail\.test failed/)
    await runCli(['queue', 'delete', sent.queued[0]!], {dataDir})
  })

  it('a null MX fails the entry at once and bounces with 5.1.2', async () => {
    const before = await inboxCount(dataDir, 'alice@example.com')
    const sent = await send(dataDir, 'alice@example.com', ['bob@nullmx.test'], message('to a null mx'))
    const entry = await waitForEntry(dataDir, sent.queued[0]!, ['failed', 'deferred', 'delivered'])
    expect(entry).toMatchObject({state: 'failed', attempts: 1})
    expect(entry.lastError).toMatch(/^550 5\.1\.2 .*null MX/)
    await waitFor('the bounce', async () => (await inboxCount(dataDir, 'alice@example.com')) > before)
    const newest = (await listMessages(dataDir, 'alice@example.com')).reduce((a, b) => (b.uid > a.uid ? b : a))
    const report = parseReport(await showRaw(dataDir, 'alice@example.com', newest.uid))
    expect(report.statusBlocks[1]).toMatchObject({'Final-Recipient': 'rfc822; bob@nullmx.test', Action: 'failed', Status: '5.1.2'})
    expect(report.part('text/rfc822-headers').body).toContain('Subject: to a null mx')
  })

  it('a domain that does not exist (NXDOMAIN) fails at once', async () => {
    const sent = await send(dataDir, 'alice@example.com', ['bob@no-such-domain.test'], message('to nowhere'))
    const entry = await waitForEntry(dataDir, sent.queued[0]!, ['failed', 'deferred', 'delivered'])
    expect(entry.state).toBe('failed')
    expect(entry.lastError).toMatch(/^550 5\.1\.2 domain no-such-domain\.test does not exist/)
  })
})
