/**
 * `mailbox queue hold|release|delete|flush|retry` with the server running: the commands go
 * through the control socket to the queue actor and take effect at once. The retry schedule is
 * one minute (--config), so deferred entries never retry on their own during the test.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, startServe, type Served} from '../helpers/cli.js'
import {Receiver, entryOf, inboxCount, message, queueCmd, queueList, send, sleep, waitForEntry, deferringFixture} from './queue-helpers.js'

let dataDir: string
let served: Served
let receiver: Receiver
/** entry ids by test message name */
const ids: Record<string, string> = {}

const subjects = (r: Receiver) => r.messages.map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1]?.trim())

beforeAll(async () => {
  const fixture = await deferringFixture()
  dataDir = fixture.dataDir
  receiver = fixture.receiver
  const config = fixture.config
  served = await startServe(dataDir, ['--config', config, '--route', `example.net=127.0.0.1:${receiver.port}`])
  await Promise.all(
    ['held', 'deleted', 'flushed-1', 'flushed-2'].map(async (name) => {
      ids[name] = (await send(dataDir, 'alice@example.com', ['bob@example.net'], message(name))).queued[0]!
    }),
  )
  for (const id of Object.values(ids)) await waitForEntry(dataDir, id, ['deferred'])
  receiver.acceptAll() // from now on the receiver takes everything: only the queue decides
})

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
})

describe('queue commands with the server running', () => {
  it('every entry starts deferred, due in about a minute', async () => {
    const list = await queueList(dataDir, 'deferred')
    expect(list.map((e) => e.id).sort()).toEqual(Object.values(ids).sort())
    for (const e of list) {
      expect(e.attempts).toBe(1)
      expect(e.nextAttemptAt - Date.now()).toBeGreaterThan(30_000)
    }
  })

  it('hold keeps a deferred entry from being sent, even after `queue retry`', async () => {
    expect(await queueCmd(dataDir, 'hold', ids.held!)).toBe(`held ${ids.held}\n`)
    expect((await queueList(dataDir, 'held')).map((e) => e.id)).toEqual([ids.held])
    const retried = await runCli(['queue', 'retry', ids.held!], {dataDir})
    expect(retried.code).not.toBe(0)
    expect(retried.stderr).toMatch(/cannot retry entry \S+: it is held/)
    // holding twice is refused too: it is no longer queued or deferred
    expect((await runCli(['queue', 'hold', ids.held!], {dataDir})).code).not.toBe(0)
    await sleep(300)
    expect((await entryOf(dataDir, ids.held!))!.state).toBe('held')
    expect(subjects(receiver)).not.toContain('held')
  })

  it('delete removes an entry without sending it and without a bounce', async () => {
    expect(await queueCmd(dataDir, 'delete', ids.deleted!)).toBe(`deleted ${ids.deleted}\n`)
    expect(await entryOf(dataDir, ids.deleted!)).toBeUndefined()
    expect((await queueList(dataDir)).map((e) => e.id)).not.toContain(ids.deleted)
    const shown = await runCli(['queue', 'show', ids.deleted!], {dataDir})
    expect(shown.code).not.toBe(0)
    expect(shown.stderr).toMatch(/no queue entry/)
    await sleep(300)
    expect(await inboxCount(dataDir, 'alice@example.com')).toBe(0)
    expect(subjects(receiver)).not.toContain('deleted')
  })

  it('flush makes every deferred entry due now (and leaves the held one alone)', async () => {
    expect(await queueCmd(dataDir, 'flush')).toBe('2 deferred entries due now\n')
    await waitForEntry(dataDir, ids['flushed-1']!, ['delivered'])
    await waitForEntry(dataDir, ids['flushed-2']!, ['delivered'])
    expect(subjects(receiver).sort()).toEqual(['flushed-1', 'flushed-2'])
    // retry --all takes queued and deferred entries only
    expect(await queueCmd(dataDir, 'retry', '--all')).toBe('0 entries due now\n')
    await sleep(300)
    expect((await entryOf(dataDir, ids.held!))!.state).toBe('held')
    expect(subjects(receiver)).not.toContain('held')
  })

  it('release makes a held entry due: it is sent at once', async () => {
    expect(await queueCmd(dataDir, 'release', ids.held!)).toBe(`released ${ids.held}\n`)
    const entry = await waitForEntry(dataDir, ids.held!, ['delivered', 'failed', 'deferred'])
    expect(entry).toMatchObject({state: 'delivered', attempts: 2})
    expect(subjects(receiver).sort()).toEqual(['flushed-1', 'flushed-2', 'held'])
    // releasing something that is not held is refused
    expect((await runCli(['queue', 'release', ids.held!], {dataDir})).code).not.toBe(0)
    expect(await inboxCount(dataDir, 'alice@example.com')).toBe(0)
  })
})
