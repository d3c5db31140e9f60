/**
 * The outbound queue end to end: a real `mailbox serve` with `--route` to scripted receivers on
 * loopback. Delivery with the transcript kept (and the body not), opportunistic STARTTLS,
 * 451-then-250 (deferred, then `queue retry`), 550 (failed at once, RFC 3464 bounce to the
 * sender; none for a null sender), a connection dropped mid-DATA (deferred, not lost), and
 * per-recipient results within one entry.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {freePort, runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {headerFields, listMessages, setupUsers, showRaw} from './smtp-helpers.js'
import {
  Receiver,
  entryOf,
  headerOf,
  inboxCount,
  message,
  parseReport,
  peek,
  queueCmd,
  queueList,
  queueShow,
  send,
  sleep,
  waitFor,
  waitForEntry,
} from './queue-helpers.js'

const HOST = 'mbx.example.com'
let dataDir: string
let served: Served
let receiver: Receiver
let tlsReceiver: Receiver

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  receiver = await Receiver.start()
  const tlsPort = await freePort()
  served = await startServe(dataDir, ['--hostname', HOST, '--route', `example.net=127.0.0.1:${receiver.port}`, '--route', `tls.example.org=127.0.0.1:${tlsPort}`])
  // serve generated its self-signed pair into DATA_DIR/tls/ on start: the TLS receiver uses it
  tlsReceiver = await Receiver.start({port: tlsPort, tls: {key: readFileSync(join(dataDir, 'tls', 'key.pem')), cert: readFileSync(join(dataDir, 'tls', 'cert.pem'))}})
})

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
  await tlsReceiver?.close()
})

beforeEach(() => receiver.acceptAll())

/** waits for one more message in alice's INBOX than `before` and returns the newest one's raw text */
async function nextBounce(before: number): Promise<{raw: string; listed: Awaited<ReturnType<typeof listMessages>>[number]}> {
  await waitFor(`a bounce in alice's INBOX (had ${before})`, async () => (await inboxCount(dataDir, 'alice@example.com')) > before)
  const list = await listMessages(dataDir, 'alice@example.com')
  const listed = list.reduce((a, b) => (b.uid > a.uid ? b : a))
  return {raw: await showRaw(dataDir, 'alice@example.com', listed.uid), listed}
}

const blobPresent = (blobId: string) => peek(dataDir, async (s) => (await s.mail.blob(blobId)) !== undefined)

describe('delivery by a route', () => {
  it('delivers the message intact, with our Received header and without Return-Path, and keeps the transcript', async () => {
    const body = 'Hello Bob,\n.a line starting with a dot\nunique-body-marker-7f3a\n'
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('route delivery', body))
    expect(sent.stored).toEqual([])
    expect(sent.queued).toHaveLength(1)
    const id = sent.queued[0]!
    const [got] = await receiver.waitForMessages(1)
    expect(got!.from).toBe('alice@example.com')
    expect(got!.to).toEqual(['bob@example.net'])
    expect(got!.clientName).toBe(HOST)
    const fields = headerFields(got!.raw)
    // our Received field first, under the DKIM signatures of example.com (test/e2e/dkim-signing.test.ts)
    const trace = fields.filter((f) => !/^DKIM-Signature:/i.test(f))
    expect(trace[0]).toMatch(new RegExp(`^Received: by ${HOST.replace(/\./g, '\\.')} \\(mailbox\\) with local id \\S+;\\r\\n\\t`))
    expect(fields.some((f) => /^Return-Path:/i.test(f)), fields.join('\n')).toBe(false)
    expect(fields).toContain('Subject: route delivery')
    // body byte for byte (CRLF on the wire; the dot line un-stuffed again by the receiver)
    expect(got!.raw.endsWith('\r\n\r\nHello Bob,\r\n.a line starting with a dot\r\nunique-body-marker-7f3a\r\n')).toBe(true)

    await waitForEntry(dataDir, id, ['delivered'])
    const listed = (await queueList(dataDir)).find((e) => e.id === id)
    expect(listed).toMatchObject({id, state: 'delivered', attempts: 1, from: 'alice@example.com', recipients: ['bob@example.net'], domain: 'example.net', lastError: null})

    const shown = await queueShow(dataDir, id)
    expect(shown.recipients).toEqual([{address: 'bob@example.net', state: 'delivered'}])
    expect(shown.attemptLog).toHaveLength(1)
    const attempt = shown.attemptLog[0]!
    expect(attempt).toMatchObject({queueId: id, attempt: 1, result: 'delivered', host: `127.0.0.1:${receiver.port}`})
    expect(attempt.transcript).toContain('C: MAIL FROM:<alice@example.com>')
    expect(attempt.transcript).toContain('C: RCPT TO:<bob@example.net>')
    expect(attempt.transcript.some((l) => l.startsWith('S: 250'))).toBe(true)
    expect(attempt.transcript.some((l) => /^S: 250 .*Ok: queued by test receiver/.test(l))).toBe(true)
    const text = attempt.transcript.join('\n')
    expect(text).not.toContain('unique-body-marker-7f3a')
    expect(text).not.toContain('Subject: route delivery')
    // a delivered entry no longer holds the message data
    expect(await blobPresent(shown.blobId)).toBe(false)
  })

  it('uses STARTTLS when the receiver offers it (opportunistic, self-signed certificate)', async () => {
    const sent = await send(dataDir, 'alice@example.com', ['dora@tls.example.org'], message('over tls'))
    const [got] = await tlsReceiver.waitForMessages(1)
    expect(got!.secure).toBe(true)
    expect(got!.to).toEqual(['dora@tls.example.org'])
    await waitForEntry(dataDir, sent.queued[0]!, ['delivered'])
    const shown = await queueShow(dataDir, sent.queued[0]!)
    expect(shown.attemptLog[0]!.transcript).toContain('C: STARTTLS')
  })
})

describe('temporary and permanent failures', () => {
  it('451 then 250: deferred after the first attempt, delivered by `queue retry`', async () => {
    let calls = 0
    receiver.rcpt = () => (++calls === 1 ? {code: 451, message: '4.3.0 try again later'} : undefined)
    const before = receiver.messages.length
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('deferred once'))
    const id = sent.queued[0]!
    await waitForEntry(dataDir, id, ['deferred', 'delivered', 'failed'])
    const deferred = (await queueList(dataDir)).find((e) => e.id === id)!
    expect(deferred.state).toBe('deferred')
    expect(deferred.attempts).toBe(1)
    expect(deferred.lastError).toContain('451')
    expect(deferred.nextAttemptAt).toBeGreaterThan(Date.now())
    expect(receiver.messages.length).toBe(before)
    // the default schedule waits a minute: nothing happens on its own meanwhile
    await sleep(300)
    expect((await entryOf(dataDir, id))!.state).toBe('deferred')

    expect(await queueCmd(dataDir, 'retry', id)).toMatch(/1 entry due now/)
    await waitForEntry(dataDir, id, ['delivered', 'failed'])
    const done = (await queueList(dataDir)).find((e) => e.id === id)!
    expect(done).toMatchObject({state: 'delivered', attempts: 2, lastError: null})
    expect(receiver.messages.length).toBe(before + 1)
    expect(receiver.messages.at(-1)!.raw).toContain('Subject: deferred once')
    const shown = await queueShow(dataDir, id)
    expect(shown.attemptLog.map((a) => a.result)).toEqual(['deferred', 'delivered'])
    expect(shown.attemptLog[0]!.transcript.some((l) => l.startsWith('S: 451'))).toBe(true)
  })

  it('550: fails at once and bounces to the sender with a delivery-status report', async () => {
    receiver.rcpt = () => ({code: 550, message: '5.1.1 <bob@example.net>: no such user here'})
    const before = await inboxCount(dataDir, 'alice@example.com')
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('will bounce'))
    const id = sent.queued[0]!
    const entry = await waitForEntry(dataDir, id, ['failed', 'deferred', 'delivered'])
    expect(entry.state).toBe('failed')
    expect(entry.attempts).toBe(1)
    expect(entry.recipients[0]).toMatchObject({address: 'bob@example.net', state: 'failed'})
    expect(entry.recipients[0]!.lastError).toMatch(/^550/)
    expect(await blobPresent(entry.blobId)).toBe(false)

    const {raw, listed} = await nextBounce(before)
    expect(listed.subject).toBe('Undelivered Mail Returned to Sender')
    expect(listed.from).toMatch(/MAILER-DAEMON@mbx\.example\.com/)
    const fields = headerFields(raw)
    expect(fields[0]).toBe('Return-Path: <>')
    const report = parseReport(raw)
    expect(headerOf(report.headers, 'From')).toBe(`Mail Delivery System <MAILER-DAEMON@${HOST}>`)
    expect(headerOf(report.headers, 'To')).toBe('<alice@example.com>')
    expect(headerOf(report.headers, 'Content-Type')).toMatch(/^multipart\/report; report-type=delivery-status;/)
    expect(headerOf(report.headers, 'Auto-Submitted')).toBe('auto-replied')
    expect(report.parts.map((p) => p.contentType)).toEqual(['text/plain', 'message/delivery-status', 'text/rfc822-headers'])
    expect(report.part('text/plain').body).toContain('<bob@example.net>')
    const [perMessage, perRecipient, ...more] = report.statusBlocks
    expect(more).toEqual([])
    expect(perMessage!['Reporting-MTA']).toBe(`dns; ${HOST}`)
    expect(perMessage!['Arrival-Date']).toBeTruthy()
    expect(perRecipient).toMatchObject({'Final-Recipient': 'rfc822; bob@example.net', Action: 'failed', 'Remote-MTA': 'dns; 127.0.0.1'})
    expect(perRecipient!.Status).toBe('5.1.1')
    expect(perRecipient!['Diagnostic-Code']).toMatch(/^smtp; 550 5\.1\.1 <bob@example\.net>: no such user here/)
    const original = report.part('text/rfc822-headers').body
    expect(original).toMatch(/^Subject: will bounce\r$/m)
    expect(original).toMatch(/^Message-ID: <will-bounce@example\.com>\r$/m)
    expect(original).not.toContain('this is the body')
  })

  it('a failing message with a null sender produces no bounce', async () => {
    receiver.rcpt = () => ({code: 550, message: '5.1.1 no such user'})
    const before = await inboxCount(dataDir, 'alice@example.com')
    const nullSent = await send(dataDir, '', ['bob@example.net'], message('null sender fails'))
    const nullEntry = await waitForEntry(dataDir, nullSent.queued[0]!, ['failed', 'deferred', 'delivered'])
    expect(nullEntry.state).toBe('failed')
    expect(nullEntry.from).toBe('')
    // a second failure with a real sender: its bounce must be the only one to arrive
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('real sender fails'))
    await waitForEntry(dataDir, sent.queued[0]!, ['failed'])
    const {raw} = await nextBounce(before)
    expect(parseReport(raw).part('text/rfc822-headers').body).toContain('Subject: real sender fails')
    await sleep(300)
    expect(await inboxCount(dataDir, 'alice@example.com')).toBe(before + 1)
    // not even tried: no bounce to <> that failed on the way either
    const tried = served.output().split('\n').filter((l) => l.includes(nullSent.queued[0]!) && /bounce/i.test(l))
    expect(tried).toEqual([])
  })

  it('a connection dropped mid-DATA leaves the entry deferred, its data kept, and a later retry delivers it', async () => {
    const dropAt = receiver.dataCount + 1
    receiver.data = (n) => (n === dropAt ? 'drop' : undefined)
    const big = Array.from({length: 4000}, (_, i) => `line ${i} ${'x'.repeat(70)}`).join('\n') + '\nend-of-big-body\n'
    const before = receiver.messages.length
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('dropped mid data', big))
    const id = sent.queued[0]!
    const entry = await waitForEntry(dataDir, id, ['deferred', 'failed', 'delivered'])
    expect(entry.state).toBe('deferred')
    expect(entry.attempts).toBe(1)
    expect(entry.lastError).toBeTruthy()
    expect(receiver.dataCount).toBeGreaterThanOrEqual(dropAt)
    expect(receiver.messages.length).toBe(before)
    // not lost: the entry and its message data are still there
    const shown = await queueShow(dataDir, id)
    expect(shown.state).toBe('deferred')
    expect(shown.attemptLog[0]!.result).toBe('deferred')
    expect(shown.attemptLog[0]!.transcript).toContain('C: DATA')
    expect(await blobPresent(shown.blobId)).toBe(true)

    await queueCmd(dataDir, 'retry', id)
    await waitForEntry(dataDir, id, ['delivered', 'failed'])
    expect(await entryOf(dataDir, id)).toMatchObject({state: 'delivered', attempts: 2})
    const got = receiver.messages.at(-1)!
    expect(receiver.messages.length).toBe(before + 1)
    expect(got.raw).toContain('Subject: dropped mid data')
    expect(got.raw).toContain('line 3999 ')
    expect(got.raw.endsWith('\r\nend-of-big-body\r\n')).toBe(true)
  })
})

describe('per-recipient results', () => {
  it('one entry, two recipients: one accepted, one 550 → one delivered, one failed, a bounce for the failed one only', async () => {
    receiver.rcpt = (address) => (address === 'carol@example.net' ? {code: 550, message: '5.1.1 carol is gone'} : undefined)
    const before = await inboxCount(dataDir, 'alice@example.com')
    const received = receiver.messages.length
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net', 'carol@example.net'], message('two recipients'))
    expect(sent.queued).toHaveLength(1) // one entry per domain
    const entry = await waitForEntry(dataDir, sent.queued[0]!, ['delivered', 'failed', 'deferred'])
    expect(entry.recipients.map((r) => [r.address, r.state])).toEqual([
      ['bob@example.net', 'delivered'],
      ['carol@example.net', 'failed'],
    ])
    expect(entry.recipients[1]!.lastError).toMatch(/^550/)
    expect(entry.state).not.toBe('deferred')
    await receiver.waitForMessages(received + 1)
    expect(receiver.messages.at(-1)!.to).toEqual(['bob@example.net'])

    const {raw} = await nextBounce(before)
    const report = parseReport(raw)
    const recipients = report.statusBlocks.slice(1)
    expect(recipients).toHaveLength(1)
    expect(recipients[0]).toMatchObject({'Final-Recipient': 'rfc822; carol@example.net', Action: 'failed', Status: '5.1.1'})
    expect(report.part('message/delivery-status').body).not.toContain('bob@example.net')
    expect(report.part('text/plain').body).toContain('<carol@example.net>')
    expect(report.part('text/plain').body).not.toContain('<bob@example.net>')
  })

  it('two recipients both refused with different 5xx replies: each keeps its own reply in the bounce', async () => {
    receiver.rcpt = (address) => ({code: 550, message: address === 'carol@example.net' ? '5.1.1 carol is gone' : '5.2.2 bob is over quota'})
    const before = await inboxCount(dataDir, 'alice@example.com')
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net', 'carol@example.net'], message('both refused'))
    const entry = await waitForEntry(dataDir, sent.queued[0]!, ['delivered', 'failed', 'deferred'])
    expect(entry.state).toBe('failed')
    expect(entry.recipients.map((r) => [r.address, r.state, r.lastError])).toEqual([
      ['bob@example.net', 'failed', '550 5.2.2 bob is over quota'],
      ['carol@example.net', 'failed', '550 5.1.1 carol is gone'],
    ])
    const {raw} = await nextBounce(before)
    const recipients = parseReport(raw).statusBlocks.slice(1)
    expect(recipients.map((r) => [r['Final-Recipient'], r.Status, r['Diagnostic-Code']])).toEqual([
      ['rfc822; bob@example.net', '5.2.2', 'smtp; 550 5.2.2 bob is over quota'],
      ['rfc822; carol@example.net', '5.1.1', 'smtp; 550 5.1.1 carol is gone'],
    ])
  })

  it('one recipient 451 and one 550: the 550 fails at once (and bounces), the 451 is deferred', async () => {
    receiver.rcpt = (address) => (address === 'carol@example.net' ? {code: 550, message: '5.1.1 carol is gone'} : {code: 451, message: '4.2.0 bob is busy'})
    const before = await inboxCount(dataDir, 'alice@example.com')
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net', 'carol@example.net'], message('mixed verdicts'))
    const entry = await waitForEntry(dataDir, sent.queued[0]!, ['delivered', 'failed', 'deferred'])
    expect(entry.recipients.map((r) => [r.address, r.state, r.lastError?.slice(0, 3)])).toEqual([
      ['bob@example.net', 'deferred', '451'],
      ['carol@example.net', 'failed', '550'],
    ])
    expect(entry.state).toBe('deferred')
    const {raw} = await nextBounce(before)
    const recipients = parseReport(raw).statusBlocks.slice(1)
    expect(recipients.map((r) => r['Final-Recipient'])).toEqual(['rfc822; carol@example.net'])
    // the deferred one is left for later: clean it away
    await runCli(['queue', 'delete', sent.queued[0]!], {dataDir})
  })
})
