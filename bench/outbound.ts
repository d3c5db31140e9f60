/**
 * Outbound delivery: N messages of L bytes (default 2000 × 10 KiB) injected into a real
 * `mailbox serve` through its control socket (`mailstore.inject`, in parallel batches), queued
 * for a remote domain routed (`--route sink.test=127.0.0.1:PORT`) to an in-process SMTP sink that
 * discards, and timed until the store's queue index shows every entry delivered. The queue runs
 * with its default pool (senders, per-domain limit: printed).
 *
 * Reference measured in the same run: the same sink fed directly by nodemailer's SMTP pool
 * transport (pool: true) with as many connections as the queue opens to one domain
 * (min(senders, perDomain)) and the same messages — a client that keeps its connections open and
 * has no store, queue or retry bookkeeping. A second reference, nodemailer
 * without the pool (a new connection per message, 8 at a time, on the first
 * min(N, 400) messages), shows what a connection per message costs on this sink by itself:
 * smtp-server waits a fixed 100 ms before its greeting (early-talker check), so a sender that
 * opens one connection per message is bounded by its concurrency / ~0.1 s whatever else it does.
 *
 * What delivery costs everyone else: one IMAP client (logged in, INBOX selected) sends NOOP in a
 * loop (a 5 ms pause between commands), first on the idle server (after the warm-up), then
 * throughout the timed run; the p99 round trip of each. Queue commits that fsync on the event loop show up here at once.
 */
import {connect} from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import nodemailer from 'nodemailer'
import {SMTPServer} from 'smtp-server'
import {connectControl, type ControlClient} from '../src/control/client.js'
import {DEFAULT_QUEUE} from '../src/queue/actor.js'
import {queueStateRange} from '../src/store/keys.js'
import type {QueueState} from '../src/store/records.js'
import {openStore} from '../src/store/store.js'
import {freePort, startServe} from './serve.js'
import {report, tempDir, timed} from './util.js'

const MESSAGES = Number(process.env.BENCH_OUTBOUND_MESSAGES ?? 2000)
const SIZE = Number(process.env.BENCH_SIZE ?? 10240)
const BATCH = Number(process.env.BENCH_OUTBOUND_BATCH ?? 50)
const WARMUP = Math.min(200, MESSAGES)
const TIMEOUT_MS = Number(process.env.BENCH_OUTBOUND_TIMEOUT_MS ?? 300_000)
const IDLE_NOOP_MS = Number(process.env.BENCH_OUTBOUND_IDLE_NOOP_MS ?? 3000)
/** the NOOP client's pause between commands: a busy mail client, not a load generator of its own */
const NOOP_GAP_MS = Number(process.env.BENCH_OUTBOUND_NOOP_GAP_MS ?? 5)
const REPLY_TIMEOUT_MS = 30_000
/** connections to the one destination domain: the queue's per-domain limit within its pool */
const CONNECTIONS = Math.min(DEFAULT_QUEUE.senders, DEFAULT_QUEUE.perDomain)
const FROM = 'alice@example.com'
const TO = 'bob@sink.test'

/** A message of exactly `size` bytes, CRLF lines of 76 characters in the body. */
function makeMessage(i: number, size: number): Buffer {
  const head = `From: Alice <${FROM}>\r\nTo: <${TO}>\r\nSubject: outbound bench ${i}\r\nMessage-ID: <bench-${i}@example.com>\r\n\r\n`
  let body = ''
  const line = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, 76) + '\r\n'
  while (head.length + body.length + line.length <= size - 2) body += line
  body += 'x'.repeat(Math.max(0, size - 2 - head.length - body.length)) + '\r\n'
  return Buffer.from(head + body, 'latin1')
}

interface Sink {
  port: number
  received: number
  close(): Promise<void>
}

async function startSink(): Promise<Sink> {
  const sink = {port: 0, received: 0, close: async () => {}}
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    disableReverseLookup: true,
    maxClients: 1000,
    onData(stream, _session, callback) {
      stream.on('data', () => {}) // discard
      stream.on('end', () => {
        sink.received++
        callback()
      })
    },
  })
  server.on('error', () => {})
  sink.port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.server.address() as {port: number}).port)))
  sink.close = () =>
    new Promise((resolve) => {
      for (const c of server.connections) c._socket.destroy()
      server.close(() => resolve())
    })
  return sink
}

function queueCounts(dataDir: string): Record<QueueState, number> {
  const store = openStore(dataDir, {readOnly: true})
  try {
    const states: QueueState[] = ['queued', 'sending', 'deferred', 'held', 'delivered', 'failed']
    return Object.fromEntries(states.map((s) => [s, store.queueIndex.getKeysCount(queueStateRange(s))])) as Record<QueueState, number>
  } finally {
    void store.close()
  }
}

async function waitDelivered(dataDir: string, total: number): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS
  for (;;) {
    const c = queueCounts(dataDir)
    if (c.delivered >= total) return
    if (c.failed) throw new Error(`outbound bench: ${c.failed} entries failed: ${JSON.stringify(c)}`)
    if (Date.now() > deadline) throw new Error(`outbound bench: not all delivered within ${TIMEOUT_MS} ms: ${JSON.stringify(c)}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Injects messages [from, to) through the control socket, BATCH calls in flight at a time. */
async function inject(client: ControlClient, messages: string[], from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += BATCH) {
    const calls = []
    for (let j = i; j < Math.min(to, i + BATCH); j++) calls.push(client.call('mailstore.inject', {from: FROM, to: [TO], raw: messages[j]!}))
    const replies = await Promise.all(calls)
    for (const r of replies) if (r.queued.length !== 1) throw new Error(`outbound bench: inject queued ${r.queued.length} entries`)
  }
}

/** A logged-in IMAP session (INBOX selected) that times NOOP round trips, one command at a time. */
async function imapNooper(port: number, user: string): Promise<{noops(while_: () => boolean): Promise<number[]>; count(): number; close(): void}> {
  const socket = connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  let buffered = ''
  let waiting: {tag: string; resolve: () => void; reject: (e: Error) => void} | undefined
  const lines: string[] = []
  const fail = (err: Error) => waiting?.reject(err)
  socket.on('error', fail)
  socket.on('close', () => fail(new Error('outbound bench: the IMAP connection closed')))
  const greeted = new Promise<void>((resolve, reject) => (waiting = {tag: '*', resolve, reject}))
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1')
    for (let eol = buffered.indexOf('\r\n'); eol >= 0; eol = buffered.indexOf('\r\n')) {
      const line = buffered.slice(0, eol)
      buffered = buffered.slice(eol + 2)
      lines.push(line)
      if (waiting && line.startsWith(`${waiting.tag} `)) {
        const w = waiting
        waiting = undefined
        if (w.tag === '*' || line.startsWith(`${w.tag} OK`)) w.resolve()
        else w.reject(new Error(`outbound bench: IMAP said ${line}`))
      }
    }
  })
  let next = 1
  const run = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const tag = `n${next++}`
      const timer = setTimeout(() => reject(new Error(`outbound bench: no reply to ${text} within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS)
      const settle = <T>(fn: (v: T) => void) => (v: T) => (clearTimeout(timer), fn(v))
      waiting = {tag, resolve: settle(resolve), reject: settle(reject)}
      socket.write(`${tag} ${text}\r\n`)
    })
  await greeted
  await run(`LOGIN "${user}" "pw"`)
  await run('SELECT INBOX')
  let samples: number[] = []
  return {
    async noops(while_) {
      samples = []
      while (while_()) {
        const start = process.hrtime.bigint()
        await run('NOOP')
        samples.push(Number(process.hrtime.bigint() - start) / 1e6)
        lines.length = 0
        await sleep(NOOP_GAP_MS)
      }
      return samples
    },
    count: () => samples.length,
    close: () => socket.destroy(),
  }
}

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN
}

interface MailboxFigures {
  delivered: number
  injected: number
  /** NOOP round trips (ms) on the idle server and during the timed run */
  idleNoops: number[]
  busyNoops: number[]
  /** of them, the NOOPs after the last injection: the queue delivering alone */
  tailNoops: number[]
}

/** mailbox: inject, then wait until every entry is delivered, with an IMAP client timing NOOPs throughout. */
async function mailboxOutbound(dataDir: string, sink: Sink, raws: Buffer[]): Promise<MailboxFigures> {
  const smtpPort = await freePort()
  const imapPort = await freePort()
  const served = await startServe(dataDir, smtpPort, {domain: 'example.com', users: [FROM]}, [
    '--route',
    `sink.test=127.0.0.1:${sink.port}`,
    '--imap-port',
    String(imapPort),
    '--allow-insecure-auth',
  ])
  const client = await connectControl(dataDir)
  if (!client) throw new Error('outbound bench: no control socket')
  const imap = await imapNooper(imapPort, FROM)
  try {
    const b64 = raws.map((r) => r.toString('base64'))
    // warm-up: a long-running server has its code optimized
    await inject(client, b64, 0, WARMUP)
    await waitDelivered(dataDir, WARMUP)
    const idleUntil = Date.now() + IDLE_NOOP_MS
    const idleNoops = await imap.noops(() => Date.now() < idleUntil)
    const before = sink.received
    let injectedMs = 0
    let running = true
    const busy = imap.noops(() => running)
    let tailFrom = 0
    const {ms} = await timed(async () => {
      const started = Date.now()
      await inject(client, b64, 0, MESSAGES)
      injectedMs = Date.now() - started
      tailFrom = imap.count()
      await waitDelivered(dataDir, WARMUP + MESSAGES)
    }).finally(() => (running = false))
    const busyNoops = await busy
    const tailNoops = busyNoops.slice(tailFrom)
    if (sink.received - before < MESSAGES) throw new Error(`outbound bench: the sink got ${sink.received - before} of ${MESSAGES}`)
    return {delivered: MESSAGES / (ms / 1000), injected: MESSAGES / (injectedMs / 1000), idleNoops, busyNoops, tailNoops}
  } finally {
    imap.close()
    client.close()
    await served.stop()
  }
}

/** Reference: nodemailer's pool straight to the sink. */
async function nodemailerPool(sink: Sink, raws: Buffer[]): Promise<number> {
  const transport = nodemailer.createTransport({pool: true, maxConnections: CONNECTIONS, host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true})
  try {
    const sendAll = (from: number, to: number) => Promise.all(raws.slice(from, to).map((raw) => transport.sendMail({envelope: {from: FROM, to: [TO]}, raw})))
    await sendAll(0, WARMUP)
    const before = sink.received
    const {ms} = await timed(() => sendAll(0, MESSAGES))
    if (sink.received - before < MESSAGES) throw new Error(`outbound bench: the sink got ${sink.received - before} of ${MESSAGES} from nodemailer`)
    return MESSAGES / (ms / 1000)
  } finally {
    transport.close()
  }
}

/** Reference 2: a new connection per message (nodemailer without the pool), 8 at a time. */
async function nodemailerPerMessage(sink: Sink, raws: Buffer[]): Promise<{rate: number; n: number}> {
  const n = Math.min(raws.length, 400)
  const transport = nodemailer.createTransport({host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true})
  let next = 0
  const before = sink.received
  const {ms} = await timed(() =>
    Promise.all(
      Array.from({length: 8}, async () => {
        while (next < n) await transport.sendMail({envelope: {from: FROM, to: [TO]}, raw: raws[next++]!})
      }),
    ),
  )
  if (sink.received - before < n) throw new Error(`outbound bench: the sink got ${sink.received - before} of ${n} from nodemailer`)
  return {rate: n / (ms / 1000), n}
}

export async function benchOutbound(): Promise<void> {
  const {dir, cleanup} = tempDir()
  const sink = await startSink()
  try {
    const raws = Array.from({length: MESSAGES}, (_, i) => makeMessage(i, SIZE))
    const reference = await nodemailerPool(sink, raws)
    const perMessage = await nodemailerPerMessage(sink, raws)
    const mailbox = await mailboxOutbound(join(dir, 'data'), sink, raws)
    report(`Outbound delivery, ${MESSAGES} messages of ${SIZE} B to one routed domain (in-process smtp-server sink that discards)`, {
      'queue pool (default)': `${DEFAULT_QUEUE.senders} senders, at most ${DEFAULT_QUEUE.perDomain} per domain`,
      'mailbox inject (control socket)': `${mailbox.injected.toFixed(0)} msgs/s, ${BATCH} calls in flight`,
      'mailbox inject -> delivered': `${mailbox.delivered.toFixed(0)} msgs/s`,
      [`reference: nodemailer pool, ${CONNECTIONS} conns`]: `${reference.toFixed(0)} msgs/s`,
      'ratio mailbox / nodemailer pool': (mailbox.delivered / reference).toFixed(2),
      'IMAP NOOP p99, idle server': `${p99(mailbox.idleNoops).toFixed(2)} ms (${mailbox.idleNoops.length} NOOPs)`,
      'IMAP NOOP p99, during delivery': `${p99(mailbox.busyNoops).toFixed(2)} ms (${mailbox.busyNoops.length} NOOPs)`,
      'ratio NOOP p99 delivering / idle': (p99(mailbox.busyNoops) / p99(mailbox.idleNoops)).toFixed(2),
      'IMAP NOOP p99, after the last inject': `${p99(mailbox.tailNoops).toFixed(2)} ms (${mailbox.tailNoops.length} NOOPs: the queue delivering alone)`,
      'reference: 1 conn per message, 8 at once': `${perMessage.rate.toFixed(0)} msgs/s (${perMessage.n} messages)`,
      'ratio mailbox / 1 conn per message': (mailbox.delivered / perMessage.rate).toFixed(2),
    })
  } finally {
    await sink.close()
    cleanup()
  }
}
