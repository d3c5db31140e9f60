/**
 * The sender pool's limits: with {"queue": {"senders": 3, "perDomain": 2}} and a receiver that
 * holds every transaction unanswered, at most 3 deliveries are in flight, at most 2 of them to
 * one domain; once the receiver answers, the rest follow and everything is delivered.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {setupUsers} from './smtp-helpers.js'
import {Receiver, message, peek, send, sleep, waitFor, waitForEntry, writeQueueConfig} from './queue-helpers.js'

let dataDir: string
let served: Served
let receiver: Receiver

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  receiver = await Receiver.start()
  const config = writeQueueConfig(dataDir, {senders: 3, perDomain: 2})
  served = await startServe(dataDir, ['--config', config, '--route', `a.example.net=127.0.0.1:${receiver.port}`, '--route', `b.example.net=127.0.0.1:${receiver.port}`])
})

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
})

const domainOf = (s: {session: {envelope: {rcptTo: {address: string}[]}}}) => s.session.envelope.rcptTo[0]!.address.split('@')[1]

describe('sender pool limits', () => {
  it('at most `senders` in flight, at most `perDomain` to one domain; all delivered once the receiver answers', async () => {
    receiver.data = () => 'stall'
    const ids = (
      await Promise.all(
        ['a', 'a', 'a', 'b', 'b', 'b'].map((d, i) => send(dataDir, 'alice@example.com', [`user${i}@${d}.example.net`], message(`pool ${d} ${i}`))),
      )
    ).map((r) => r.queued[0]!)
    await waitFor('three transactions held by the receiver', () => receiver.stalled.length >= 3)
    await sleep(400) // give the pool every chance to exceed its limits
    expect(receiver.stalled.length).toBe(3)
    const perDomain = receiver.stalled.reduce<Record<string, number>>((m, s) => ({...m, [domainOf(s)!]: (m[domainOf(s)!] ?? 0) + 1}), {})
    expect(Math.max(...Object.values(perDomain))).toBeLessThanOrEqual(2)
    expect(await peek(dataDir, async (s) => (await Promise.all(ids.map((id) => s.queue.entry(id)))).filter((e) => e!.state === 'sending').length)).toBe(3)

    receiver.data = () => undefined
    receiver.releaseStalled()
    for (const id of ids) await waitForEntry(dataDir, id, ['delivered'])
    expect(receiver.messages).toHaveLength(6)
    expect(receiver.dataCount).toBe(6) // one transaction each: nothing sent twice
  })
})
