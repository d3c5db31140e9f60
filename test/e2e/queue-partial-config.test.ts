/**
 * A config file that sets only {"queue": {"retry": {"maxLifetimeMs": …}}} keeps the rest of the
 * retry policy (the default schedule): the first deferral is scheduled one schedule step later,
 * and the entry is deferred, not stuck in `sending` (it used to be, after `Cannot read
 * properties of undefined` when the shallow merge had dropped retry.scheduleMs).
 */
import {describe, expect, it} from 'vitest'
import {DEFAULT_RETRY} from '../../src/queue/backoff.js'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {setupUsers} from './smtp-helpers.js'
import {Receiver, message, queueShow, send, waitForEntry, writeQueueConfig} from './queue-helpers.js'

const LIFETIME_MS = 3_600_000

describe('a config file with only queue.retry.maxLifetimeMs', () => {
  it('a temporary failure defers the entry by the default first retry step', async () => {
    const dataDir = tempDataDir()
    await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
    const receiver = await Receiver.start()
    let served: Served | undefined
    try {
      receiver.rcpt = () => ({code: 451, message: 'try again later'})
      const config = writeQueueConfig(dataDir, {retry: {maxLifetimeMs: LIFETIME_MS}})
      served = await startServe(dataDir, ['--config', config, '--route', `example.net=127.0.0.1:${receiver.port}`])
      const before = Date.now()
      const sent = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('partial retry config'))
      const id = sent.queued[0]!
      const entry = await waitForEntry(dataDir, id, ['deferred', 'failed', 'delivered'], 20_000)
      expect(receiver.rcptSeen).toContain('bob@example.net')
      expect(entry.state).toBe('deferred')
      expect(entry.attempts).toBe(1)
      expect(entry.recipients).toEqual([expect.objectContaining({address: 'bob@example.net', state: 'deferred', lastError: '451 try again later'})])
      // the default schedule's first step (1 min), measured from the attempt
      expect(entry.nextAttemptAt).toBeGreaterThanOrEqual(before + DEFAULT_RETRY.scheduleMs[0]!)
      expect(entry.nextAttemptAt).toBeLessThanOrEqual(Date.now() + DEFAULT_RETRY.scheduleMs[0]!)
      expect((await queueShow(dataDir, id)).attemptLog.at(-1)!.result).toBe('deferred')
      expect(served.output()).not.toContain('Cannot read properties')
    } finally {
      await served?.stop()
      await receiver.close()
    }
  }, 60_000) // setup, start, one delivery attempt: generous for a loaded CI machine
})
