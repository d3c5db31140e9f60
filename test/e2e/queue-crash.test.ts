/**
 * Crash safety of the outbound queue: `kill -9` of serve while an entry is being sent (the
 * receiver took the message data and stalls before answering), then a restart with a working
 * receiver: the message is delivered (a duplicate would be acceptable, a loss is not).
 */
import {afterAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {setupUsers} from './smtp-helpers.js'
import {Receiver, entryOf, message, queueList, queueShow, send, waitFor, waitForEntry} from './queue-helpers.js'

let served: Served | undefined
let receiver: Receiver | undefined

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
})

describe('kill -9 while sending', () => {
  it('the entry left `sending` is sent again after the restart', {timeout: 45_000}, async () => {
    const dataDir = tempDataDir()
    await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
    receiver = await Receiver.start()
    receiver.data = () => 'stall' // read the message, never answer
    const args = ['--route', `example.net=127.0.0.1:${receiver.port}`]
    served = await startServe(dataDir, args)

    const sent = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('sent across a crash', 'crash-body-marker\n'))
    const id = sent.queued[0]!
    await waitFor('the receiver to get the DATA', () => receiver!.dataCount >= 1)
    expect(await entryOf(dataDir, id)).toMatchObject({state: 'sending', attempts: 1})
    expect(receiver.messages).toHaveLength(0)

    served.child.kill('SIGKILL')
    expect(await served.exited).toBe('SIGKILL')
    // the store, as the crash left it
    expect((await queueList(dataDir)).find((e) => e.id === id)).toMatchObject({state: 'sending', attempts: 1})

    receiver.acceptAll()
    served = await startServe(dataDir, args)
    expect(served.output()).toMatch(/"recovered":1\b.*entries left sending by a previous run are queued again/)
    await waitForEntry(dataDir, id, ['delivered', 'failed'])
    const got = await receiver.waitForMessages(1)
    expect(got.length).toBeGreaterThanOrEqual(1)
    expect(got.every((m) => m.raw.includes('Subject: sent across a crash') && m.raw.endsWith('\r\ncrash-body-marker\r\n'))).toBe(true)
    const shown = await queueShow(dataDir, id)
    expect(shown).toMatchObject({state: 'delivered', attempts: 2})
    expect(shown.attemptLog.map((a) => [a.attempt, a.result])).toEqual([[2, 'delivered']])
  })
})
