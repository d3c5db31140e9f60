/**
 * The sender thread (src/delivery/sender-thread.ts) against a real SMTP sink on loopback: attempts
 * go out from the thread and a kept connection carries the next message; a thread that dies with
 * an attempt in hand gives it back deferred (never a hang, never a lost result), is restarted after
 * a pause when it died young, and delivers again afterwards.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {SenderThread} from '../../src/delivery/sender-thread.js'
import {Receiver} from '../e2e/queue-helpers.js'

let receiver: Receiver
let port = 0
/** while set, DATA is held without a reply (an attempt stays in the thread's hands) */
let holding = false

beforeAll(async () => {
  receiver = await Receiver.start()
  port = receiver.port
  receiver.data = () => (holding ? 'stall' : undefined)
})

afterAll(() => receiver.close())

const job = (i: number) => ({domain: 'sink.test', from: 'a@example.com', recipients: [`r${i}@sink.test`], message: Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n`)})

function newThread(errors: Error[]): SenderThread {
  return new SenderThread(
    {route: {routes: {'sink.test': `127.0.0.1:${port}`}, dnsServers: [], insecure: false}, client: {hostname: 'mx.example.com', connectTimeoutMs: 10_000, socketTimeoutMs: 30_000}, nice: 10},
    (err) => errors.push(err),
  )
}

/** the thread's worker, to kill it as a crash would */
const workerOf = (sender: SenderThread) => (sender as unknown as {thread?: {worker: {terminate(): Promise<number>}}}).thread!.worker

describe('sender thread', () => {
  it('delivers from the thread, and a kept connection carries the next message', async () => {
    const sender = newThread([])
    try {
      const first = await sender.attempt(job(1))
      expect(first.result.recipients).toEqual([{address: 'r1@sink.test', outcome: 'delivered', reply: expect.stringMatching(/^250 /)}])
      expect(first.session).toBeDefined()
      const second = await sender.attempt(job(2), first.session)
      expect(second.result.recipients[0]!.outcome).toBe('delivered')
      // the first opened the connection in the thread (its greeting is in the transcript); the second had none to open
      expect(first.result.transcript.some((l) => l.startsWith('S: 220'))).toBe(true)
      expect(second.result.transcript.some((l) => l.startsWith('S: 220'))).toBe(false)
      // a message that owns its memory (as the store reads it) moves to the thread without a copy
      const big = {...job(3), message: Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(64 * 1024)}\r\n`)}
      const third = await sender.attempt(big, second.session)
      expect(third.result.recipients[0]!.outcome).toBe('delivered')
      expect(big.message.byteLength).toBe(0) // detached: moved, not cloned
      expect(receiver.messages.at(-1)!.raw).toContain('x'.repeat(64 * 1024))
      sender.close(third.session!)
    } finally {
      await sender.stop()
    }
  })

  it('a thread that dies with an attempt in hand: the attempt comes back deferred, and after a pause a new thread delivers', async () => {
    const errors: Error[] = []
    const sender = newThread(errors)
    try {
      holding = true
      const inHand = sender.attempt(job(3))
      // wait until the sink holds the data, then kill the thread as a crash would
      const deadline = Date.now() + 10_000
      while (receiver.stalled.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(receiver.stalled).toHaveLength(1)
      await workerOf(sender).terminate()
      const lost = await inHand
      expect(lost.result.recipients).toEqual([{address: 'r3@sink.test', outcome: 'deferred', reply: expect.stringContaining('451 4.3.0 the delivery thread stopped')}])
      expect(lost.session).toBeUndefined()
      expect(errors).toHaveLength(1)
      holding = false
      // it died young: the next start waits a pause, and attempts meanwhile are deferred at once
      const early = await sender.attempt(job(4))
      expect(early.result.recipients[0]).toMatchObject({outcome: 'deferred', reply: expect.stringContaining('restarting')})
      await new Promise((r) => setTimeout(r, 700))
      const after = await sender.attempt(job(5))
      expect(after.result.recipients[0]!.outcome).toBe('delivered')
    } finally {
      holding = false
      await sender.stop()
    }
  })

  it('an attempt the thread does not finish by its deadline comes back deferred and is reported', async () => {
    const errors: Error[] = []
    const sender = newThread(errors)
    try {
      // the thread starts with the first attempt, and keeps its 30 s socket timeout; the main
      // side's deadline then shrinks to 4×50 + 8×50 ms
      await sender.attempt(job(80))
      // (only a bug in the thread can outlast its own timeouts, so this is how a test gets one)
      const {client} = (sender as unknown as {setup: {client: {connectTimeoutMs: number; socketTimeoutMs: number}}}).setup
      client.connectTimeoutMs = 50
      client.socketTimeoutMs = 50
      holding = true
      const started = Date.now()
      const late = await sender.attempt(job(8))
      expect(late.result.recipients[0]).toMatchObject({outcome: 'deferred', reply: expect.stringContaining('took too long')})
      expect(Date.now() - started).toBeLessThan(5000)
      expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('did not finish an attempt for sink.test')])
    } finally {
      holding = false
      await sender.stop()
    }
  })

  it('starts with the first attempt, at the configured nice value, alone: the event loop keeps its priority', async () => {
    // field 19 of /proc/PID/task/TID/stat is the nice value (after the command name in parentheses)
    const nices = () => readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]))
    const before = nices().filter((n) => n === 10).length
    const sender = newThread([])
    try {
      // no thread until there is something to deliver
      expect((sender as unknown as {thread?: unknown}).thread).toBeUndefined()
      await sender.attempt(job(9)) // the thread has started and answered
      expect(nices().filter((n) => n === 10).length).toBe(before + 1)
      expect(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16])).toBe(0)
    } finally {
      await sender.stop()
    }
  })

  it('stop ends the thread: an attempt after it is deferred, nothing is left running', async () => {
    const sender = newThread([])
    await sender.attempt(job(6))
    await sender.stop()
    const late = await sender.attempt(job(7))
    expect(late.result.recipients[0]!.outcome).toBe('deferred')
  })
})
