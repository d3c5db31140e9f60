/**
 * Queue lifetime: with {"queue": {"retry": {"scheduleMs": [200], "maxLifetimeMs": 1}}} an entry
 * whose receiver always answers 451 is failed as expired (instead of deferred again) and bounced
 * with a 5.x.x status.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {listMessages, setupUsers, showRaw} from './smtp-helpers.js'
import {Receiver, inboxCount, message, parseReport, queueShow, send, waitFor, waitForEntry, writeQueueConfig} from './queue-helpers.js'

let dataDir: string
let served: Served
let receiver: Receiver

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  receiver = await Receiver.start()
  receiver.rcpt = () => ({code: 451, message: 'try again later'})
  const config = writeQueueConfig(dataDir, {retry: {scheduleMs: [200], maxLifetimeMs: 1}})
  served = await startServe(dataDir, ['--hostname', 'mbx.example.com', '--config', config, '--route', `example.net=127.0.0.1:${receiver.port}`])
})

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
})

describe('queue lifetime', () => {
  it('a temporary failure past the lifetime fails the entry as expired, with a bounce', async () => {
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('too old to retry'))
    const id = sent.queued[0]!
    const entry = await waitForEntry(dataDir, id, ['failed', 'delivered'])
    expect(entry.state).toBe('failed')
    expect(entry.recipients).toEqual([{address: 'bob@example.net', state: 'failed', lastError: '451 try again later'}])
    expect(receiver.rcptSeen).toContain('bob@example.net')
    const shown = await queueShow(dataDir, id)
    expect(shown.attemptLog.at(-1)!.result).toBe('failed')

    await waitFor('the bounce', async () => (await inboxCount(dataDir, 'alice@example.com')) > 0)
    const [bounce] = await listMessages(dataDir, 'alice@example.com')
    const report = parseReport(await showRaw(dataDir, 'alice@example.com', bounce!.uid))
    expect(report.part('text/plain').body).toMatch(/could not be delivered within the time the queue keeps trying/)
    const [, perRecipient] = report.statusBlocks
    expect(perRecipient).toMatchObject({'Final-Recipient': 'rfc822; bob@example.net', Action: 'failed'})
    expect(perRecipient!.Status).toMatch(/^5\.\d{1,3}\.\d{1,3}$/)
    expect(perRecipient!.Status).toBe('5.4.7') // no enhanced code in the reply: delivery time expired
    expect(perRecipient!['Diagnostic-Code']).toBe('smtp; 451 try again later')
    expect(report.part('text/rfc822-headers').body).toContain('Subject: too old to retry')
  })

  it('an enhanced 4.x.x code becomes the matching 5.x.x when it expires', async () => {
    receiver.rcpt = () => ({code: 452, message: '4.2.2 mailbox full'})
    const before = await inboxCount(dataDir, 'alice@example.com')
    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('full mailbox'))
    expect((await waitForEntry(dataDir, sent.queued[0]!, ['failed', 'delivered'])).state).toBe('failed')
    await waitFor('the bounce', async () => (await inboxCount(dataDir, 'alice@example.com')) > before)
    const newest = (await listMessages(dataDir, 'alice@example.com')).reduce((a, b) => (b.uid > a.uid ? b : a))
    const report = parseReport(await showRaw(dataDir, 'alice@example.com', newest.uid))
    expect(report.statusBlocks[1]).toMatchObject({Status: '5.2.2', 'Diagnostic-Code': 'smtp; 452 4.2.2 mailbox full'})
  })
})
