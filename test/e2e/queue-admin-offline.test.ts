/**
 * `mailbox queue hold|release|delete|flush|retry` with the server stopped: the commands change
 * the store directly, and a server started afterwards acts on what they left. Entries are
 * deferred by a first run against a receiver that answers 451; the retry schedule is one minute
 * (--config), so nothing retries on its own during the test.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, startServe, type Served} from '../helpers/cli.js'
import {Receiver, entryOf, inboxCount, message, queueCmd, queueList, send, sleep, waitForEntry, deferringFixture} from './queue-helpers.js'

let dataDir: string
let served: Served | undefined
let receiver: Receiver
let serveArgs: string[]
const ids: Record<string, string> = {}

const subjects = (r: Receiver) => r.messages.map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1]?.trim())

async function stopServe(): Promise<void> {
  expect(await served!.stop()).toBe(0)
  served = undefined
}

beforeAll(async () => {
  const fixture = await deferringFixture()
  dataDir = fixture.dataDir
  receiver = fixture.receiver
  const config = fixture.config
  serveArgs = ['--config', config, '--route', `example.net=127.0.0.1:${receiver.port}`]
  served = await startServe(dataDir, serveArgs)
  await Promise.all(
    ['held', 'deleted', 'flushed-1', 'flushed-2'].map(async (name) => {
      ids[name] = (await send(dataDir, 'alice@example.com', ['bob@example.net'], message(name))).queued[0]!
    }),
  )
  for (const id of Object.values(ids)) await waitForEntry(dataDir, id, ['deferred'])
  await stopServe()
  receiver.acceptAll()
})

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
})

describe('queue commands with the server stopped', () => {
  it('hold, delete and flush change the store; retry of a held entry is refused', async () => {
    expect(await queueCmd(dataDir, 'hold', ids.held!)).toBe(`held ${ids.held}\n`)
    expect((await entryOf(dataDir, ids.held!))!.state).toBe('held')
    const retried = await runCli(['queue', 'retry', ids.held!], {dataDir})
    expect(retried.code).not.toBe(0)
    expect(retried.stderr).toMatch(/cannot retry entry \S+: it is held/)

    expect(await queueCmd(dataDir, 'delete', ids.deleted!)).toBe(`deleted ${ids.deleted}\n`)
    expect(await entryOf(dataDir, ids.deleted!)).toBeUndefined()
    expect((await runCli(['queue', 'show', ids.deleted!], {dataDir})).code).not.toBe(0)

    const before = Date.now()
    expect(await queueCmd(dataDir, 'flush')).toBe('2 deferred entries due now\n')
    for (const name of ['flushed-1', 'flushed-2']) {
      const e = (await entryOf(dataDir, ids[name]!))!
      expect(e.state).toBe('queued')
      expect(e.nextAttemptAt).toBeGreaterThanOrEqual(before - 5)
      expect(e.nextAttemptAt).toBeLessThanOrEqual(Date.now())
    }
    expect(await queueCmd(dataDir, 'retry', '--all')).toBe('2 entries due now\n') // the two queued ones, not the held one
    expect((await entryOf(dataDir, ids.held!))!.state).toBe('held')
    expect((await queueList(dataDir)).map((e) => [e.id, e.state]).sort()).toEqual(
      [
        [ids.held, 'held'],
        [ids['flushed-1'], 'queued'],
        [ids['flushed-2'], 'queued'],
      ].sort(),
    )
  })

  it('a server started afterwards sends the flushed entries and not the held or deleted ones', async () => {
    served = await startServe(dataDir, serveArgs)
    await waitForEntry(dataDir, ids['flushed-1']!, ['delivered'])
    await waitForEntry(dataDir, ids['flushed-2']!, ['delivered'])
    await sleep(300)
    expect(subjects(receiver).sort()).toEqual(['flushed-1', 'flushed-2'])
    expect((await entryOf(dataDir, ids.held!))!.state).toBe('held')
    await stopServe()
  })

  it('release makes the held entry due; the next server start sends it, and nothing bounced', async () => {
    const before = Date.now()
    expect(await queueCmd(dataDir, 'release', ids.held!)).toBe(`released ${ids.held}\n`)
    const e = (await entryOf(dataDir, ids.held!))!
    expect(e.state).toBe('queued')
    expect(e.nextAttemptAt).toBeGreaterThanOrEqual(before - 5)
    expect(e.nextAttemptAt).toBeLessThanOrEqual(Date.now())
    served = await startServe(dataDir, serveArgs)
    const entry = await waitForEntry(dataDir, ids.held!, ['delivered', 'failed'])
    expect(entry).toMatchObject({state: 'delivered', attempts: 2})
    expect(subjects(receiver).sort()).toEqual(['flushed-1', 'flushed-2', 'held'])
    expect(await inboxCount(dataDir, 'alice@example.com')).toBe(0)
  })
})
