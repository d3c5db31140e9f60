/**
 * Outbound delivery: N messages of L bytes (default 2000 × 10 KiB) injected into a real
 * `mailbox serve` through its control socket (`mailstore.inject`, in parallel batches), queued
 * for a remote domain routed (`--route sink.test=127.0.0.1:PORT`) to an in-process SMTP sink
 * (a plain socket responder, see startSink).
 * The sink first answers 451, so every entry is deferred once; then `queue flush` makes all of
 * them due at once, and the run is timed until the store's queue index shows every entry
 * delivered (the sink now accepting and discarding). The queue runs with its default pool
 * (senders, per-domain limit: printed).
 *
 * Reference measured in the same run: the same sink fed directly by nodemailer's SMTP pool
 * transport (pool: true) with as many connections as the queue opens to one domain
 * (min(senders, perDomain)) and the same messages — a client that keeps its connections open and
 * has no store, queue or retry bookkeeping. A second reference, nodemailer
 * without the pool (a new connection per message, 8 at a time, on the first
 * min(N, 400) messages), shows what a connection per message costs by itself.
 *
 * DKIM: the messages are from a local domain's address, so they are signed (Ed25519 and RSA) when
 * injected, as they are queued. The mailbox run is made twice in the same bench on fresh data dirs,
 * with `dkim.sign` false and true, and the ratios signed / unsigned of the inject rate (where the
 * signing is) and of the delivery rate (the signed messages are ~1 KB larger) are printed.
 *
 * What delivery costs everyone else: one IMAP client (logged in, INBOX selected, on a worker
 * thread so the sink's work on the main thread does not delay its replies) sends NOOP in a loop
 * (a 5 ms pause between commands), first on the idle server (after the warm-up), then throughout
 * the timed run; the p99 round trip of each. Queue commits that fsync on the event loop show up here at once.
 * A third series runs while nodemailer's pool sends the same messages to the same sink and the
 * server has nothing to do: the NOOP cost of this machine's cores being that busy, without mailbox.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createServer, type Socket} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import nodemailer from 'nodemailer'
import {connectControl, type ControlClient} from '../src/control/client.js'
import {DEFAULT_QUEUE} from '../src/queue/actor.js'
import type {QueueState} from '../src/store/records.js'
import {openStore} from '../src/store/store.js'
import {workerFromSource} from '../src/worker-from-source.js'
import {freePort, startServe} from './serve.js'
import {fig, higher, lower, report, tempDir, timed} from './util.js'

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
  /** answer 451 to every RCPT (to fill the queue with deferred entries) */
  refusing: boolean
  close(): Promise<void>
}

/**
 * A plain socket SMTP sink: it answers each command line, counts each message at the data's
 * terminating dot and keeps nothing. Much cheaper than a full SMTP server, so the CPU this
 * process takes from the server under test (both share this machine's cores) stays small, and
 * it answers at once (no greeting delay).
 */
async function startSink(): Promise<Sink> {
  const END = Buffer.from('\r\n.\r\n')
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.setNoDelay(true)
    let inData = false
    let pending: Buffer = Buffer.alloc(0)
    const answer = (line: string) => socket.write(`${line}\r\n`)
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      for (;;) {
        if (inData) {
          const end = pending.indexOf(END)
          if (end < 0) {
            pending = pending.subarray(Math.max(0, pending.length - 4)) // a terminator may straddle chunks
            return
          }
          pending = pending.subarray(end + END.length)
          inData = false
          sink.received++
          answer('250 2.0.0 discarded')
          continue
        }
        const eol = pending.indexOf('\r\n')
        if (eol < 0) return
        const verb = pending.subarray(0, Math.min(4, eol)).toString('latin1').toUpperCase()
        // the data starts with the line after DATA: keep its CRLF so a terminator there is seen
        pending = pending.subarray(verb === 'DATA' ? eol : eol + 2)
        if (verb === 'EHLO' || verb === 'HELO') answer('250 sink')
        else if (verb === 'RCPT') answer(sink.refusing ? '451 4.3.2 not now' : '250 2.1.5 ok')
        else if (verb === 'DATA') {
          inData = true
          answer('354 go ahead')
        } else if (verb === 'QUIT') socket.end('221 2.0.0 bye\r\n')
        else answer('250 2.0.0 ok') // MAIL, RSET, NOOP
      }
    })
    answer('220 sink ESMTP')
  })
  const sink: Sink = {port: 0, received: 0, refusing: false, close: async () => {}}
  sink.port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as {port: number}).port)))
  sink.close = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })
  return sink
}


/** Polls the store's queue index (read-only, one handle for the whole wait) until `total` entries are in `state`. */
async function waitState(dataDir: string, state: QueueState, total: number): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS
  const store = openStore(dataDir, {readOnly: true})
  try {
    for (;;) {
      const c = await store.queue.counts()
      if (c[state] >= total) return
      if (c.failed) throw new Error(`outbound bench: ${c.failed} entries failed: ${JSON.stringify(c)}`)
      if (Date.now() > deadline) throw new Error(`outbound bench: not all ${state} within ${TIMEOUT_MS} ms: ${JSON.stringify(c)}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  } finally {
    await store.close()
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

/** The NOOP timer on its worker thread (./noop-probe.ts): a series runs from start() until stop(). */
export async function imapNooper(port: number, user: string): Promise<{start(): void; stop(): Promise<number[]>; close(): Promise<void>}> {
  // a worker does not inherit the bench's TypeScript loader (tsx): see src/worker-from-source.ts
  const worker = workerFromSource(new URL('./noop-probe.ts', import.meta.url), {
    workerData: {port, user, password: 'pw', gapMs: NOOP_GAP_MS, replyTimeoutMs: REPLY_TIMEOUT_MS},
  })
  type Reply = {ready?: true; samples?: number[]; error?: string}
  const next = () =>
    new Promise<Reply>((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      worker.once('error', onError)
      worker.once('message', (m: Reply) => {
        worker.off('error', onError)
        if (m.error) reject(new Error(m.error))
        else resolve(m)
      })
    })
  await next()
  return {
    start: () => worker.postMessage({start: true}),
    async stop() {
      const reply = next()
      worker.postMessage({stop: true})
      return (await reply).samples!
    },
    // terminated, not asked: a NOOP still waiting for its reply (the bench failing mid-run) must
    // not keep the thread alive and turn the real error into the probe's timeout 30 s later
    async close() {
      await worker.terminate()
    },
  }
}

export function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN
}

interface MailboxFigures {
  delivered: number
  injected: number
  /** NOOP round trips (ms) on the idle server and during the timed run */
  idleNoops: number[]
  busyNoops: number[]
  /** NOOP round trips while nodemailer's pool sends the same messages to the same sink and this server idles */
  machineBusyNoops: number[]
}

/**
 * mailbox: the queue is filled while the sink answers 451 (every entry deferred once), then
 * `queue flush` makes them all due at once and the run is timed until every entry is delivered,
 * with an IMAP client timing NOOPs throughout. So the timed run is the queue's delivery alone,
 * like the nodemailer reference (which has no ingest either); the injection rate is printed apart.
 */
async function mailboxOutbound(dataDir: string, sink: Sink, raws: Buffer[], sign: boolean): Promise<MailboxFigures> {
  const smtpPort = await freePort()
  const imapPort = await freePort()
  // deferred entries wait 10 minutes: nothing retries on its own before the flush
  const config = join(dataDir, '..', `outbound-bench-${sign ? 'signed' : 'unsigned'}.json`)
  writeFileSync(config, JSON.stringify({queue: {retry: {scheduleMs: [600_000]}}, dkim: {sign}}))
  const served = await startServe(dataDir, smtpPort, {domain: 'example.com', users: [FROM]}, [
    '--config',
    config,
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
    await waitState(dataDir, 'delivered', WARMUP)
    sink.refusing = true
    const started = Date.now()
    await inject(client, b64, 0, MESSAGES)
    const injectedMs = Date.now() - started
    await waitState(dataDir, 'deferred', MESSAGES)
    sink.refusing = false
    imap.start()
    await sleep(IDLE_NOOP_MS)
    const idleNoops = await imap.stop()
    const before = sink.received
    imap.start()
    const {ms} = await timed(async () => {
      const flushed = await client.call('queue.flush', {})
      if (flushed.length !== MESSAGES) throw new Error(`outbound bench: flush made ${flushed.length} of ${MESSAGES} entries due`)
      await waitState(dataDir, 'delivered', WARMUP + MESSAGES)
    })
    const busyNoops = await imap.stop()
    if (sink.received - before < MESSAGES) throw new Error(`outbound bench: the sink got ${sink.received - before} of ${MESSAGES}`)
    // the same traffic on this machine without the server's work: what the cores' contention alone costs a NOOP
    imap.start()
    await nodemailerPool(sink, raws)
    const machineBusyNoops = await imap.stop()
    return {delivered: MESSAGES / (ms / 1000), injected: MESSAGES / (injectedMs / 1000), idleNoops, busyNoops, machineBusyNoops}
  } finally {
    await imap.close()
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
    const unsigned = await mailboxOutbound(join(dir, 'data-unsigned'), sink, raws, false)
    const mailbox = await mailboxOutbound(join(dir, 'data'), sink, raws, true)
    report('delivery', `Outbound delivery, ${MESSAGES} messages of ${SIZE} B to one routed domain (in-process socket sink that discards)`, {
      'queue pool (default)': `${DEFAULT_QUEUE.senders} senders, at most ${DEFAULT_QUEUE.perDomain} per domain`,
      'mailbox inject (control socket), DKIM-signed': fig(mailbox.injected, 'msgs/s', `(${BATCH} calls in flight, the queue deferring them meanwhile)`, 0),
      'mailbox inject, dkim.sign false': fig(unsigned.injected, 'msgs/s', '', 0),
      'ratio inject signed / unsigned': higher(mailbox.injected / unsigned.injected),
      'mailbox queue flush -> delivered, DKIM-signed': fig(mailbox.delivered, 'msgs/s', '', 0),
      'mailbox queue flush -> delivered, dkim.sign false': fig(unsigned.delivered, 'msgs/s', '', 0),
      'ratio delivered signed / unsigned': higher(mailbox.delivered / unsigned.delivered),
      [`reference: nodemailer pool, ${CONNECTIONS} conns`]: fig(reference, 'msgs/s', '', 0),
      'ratio mailbox / nodemailer pool': higher(mailbox.delivered / reference),
      'IMAP NOOP p99, idle server': fig(p99(mailbox.idleNoops), 'ms', `(${mailbox.idleNoops.length} NOOPs)`, 2),
      'IMAP NOOP p99, during delivery': fig(p99(mailbox.busyNoops), 'ms', `(${mailbox.busyNoops.length} NOOPs)`, 2),
      'ratio NOOP p99 delivering / idle': lower(p99(mailbox.busyNoops) / p99(mailbox.idleNoops)),
      'IMAP NOOP p99, server idle while nodemailer sends the same to the sink': `${p99(mailbox.machineBusyNoops).toFixed(2)} ms (${mailbox.machineBusyNoops.length} NOOPs): ${(p99(mailbox.machineBusyNoops) / p99(mailbox.idleNoops)).toFixed(2)}x idle, the machine's contention alone`,
      'reference: 1 conn per message, 8 at once': fig(perMessage.rate, 'msgs/s', `(${perMessage.n} messages)`, 0),
      'ratio mailbox / 1 conn per message': higher(mailbox.delivered / perMessage.rate),
    })
  } finally {
    await sink.close()
    cleanup()
  }
}
