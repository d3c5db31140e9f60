/**
 * POP3 retrieval: M messages of L bytes (default 500 × 100 KiB) stored for one user over SMTP,
 * then one client retrieves them all (USER/PASS, STAT, RETR 1..M one after the other, QUIT,
 * nothing deleted) from a real `mailbox serve` over loopback; MB/s counts the message bytes
 * received. A first pass (mailbox measures every message for STAT then; a long-running server
 * has that cached), then mailbox and Dovecot passes alternate, the best of each counting: the
 * machine's noise and the client's own warm-up fall on both alike.
 *
 * References measured in the same run:
 *  - the same bytes written by a plain Node socket server and read by a client over loopback,
 *    with no protocol at all (the ceiling for this machine and this client);
 *  - Dovecot's POP3 on the same workload (../shared/peer: Postfix → LMTP → Dovecot), when
 *    postfix and dovecot are installed and we are root.
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, rmSync} from 'node:fs'
import {connect, createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import nodemailer from 'nodemailer'
import {freePort, startServe, which} from './serve.js'
import {fig, type FigureValue, higher, report, tempDir, timed} from './util.js'

const MESSAGES = Number(process.env.BENCH_POP3_MESSAGES ?? 500)
const SIZE = Number(process.env.BENCH_POP3_SIZE ?? 100 * 1024)
/** measured passes per server, after one first pass; the best counts (shared machines are noisy) */
const PASSES = Number(process.env.BENCH_POP3_PASSES ?? 3)
/** BENCH_PEER_DIR: where the peer is when this checkout is not next to ../shared (a worktree) */
const PEER = process.env.BENCH_PEER_DIR ?? fileURLToPath(new URL('../../shared/peer/', import.meta.url))

interface Pass {
  /** USER + PASS (mailbox: an argon2id verify) */
  loginMs: number
  statMs: number
  /** RETR 1..M */
  retrMs: number
  bytes: number
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000)

interface Target {
  port: number
  user: string
  password: string
  stop(): Promise<void>
}

const best = (passes: Pass[]) => passes.reduce((a, b) => (b.retrMs < a.retrMs ? b : a))
const rate = (p: {bytes: number; retrMs: number}) => mbps(p.bytes, p.retrMs)

export async function benchPop3(): Promise<void> {
  const {dir, cleanup} = tempDir()
  const messages = Array.from({length: MESSAGES}, (_, i) => makeMessage(i))
  let mailbox: Target | undefined
  let peer: Target | {skipped: string} | undefined
  try {
    mailbox = await startMailbox(join(dir, 'data'), messages)
    peer = await startPeer(messages)
    const dovecot = 'port' in peer ? peer : undefined
    const first = await retrievePass(mailbox, messages)
    if (dovecot) await retrievePass(dovecot, messages)
    const ours: Pass[] = []
    const theirs: Pass[] = []
    for (let i = 0; i < PASSES; i++) {
      ours.push(await retrievePass(mailbox, messages))
      if (dovecot) theirs.push(await retrievePass(dovecot, messages))
    }
    const sink = await socketSink(messages.map(toWireForm))
    const m = best(ours)
    const figures: Record<string, FigureValue> = {
      'mailbox POP3 RETR': fig(rate(m), 'MB/s', `(${m.retrMs.toFixed(0)} ms)`, 0),
      'mailbox STAT, first session': `${first.statMs.toFixed(1)} ms (sizes recorded at delivery)`,
      'mailbox STAT, later sessions': `${m.statMs.toFixed(1)} ms (sizes read from each message's bookkeeping)`,
      'mailbox USER/PASS': `${m.loginMs.toFixed(1)} ms (argon2id once, then the verified-credentials cache)`,
      'reference: plain loopback socket': fig(mbps(sink.bytes, sink.ms), 'MB/s', '', 0),
      'ratio mailbox / socket': higher(rate(m) / mbps(sink.bytes, sink.ms)),
    }
    if (theirs.length) {
      const d = best(theirs)
      Object.assign(figures, {
        'Dovecot POP3 RETR': fig(rate(d), 'MB/s', `(${d.retrMs.toFixed(0)} ms)`, 0),
        'Dovecot STAT': `${d.statMs.toFixed(1)} ms`,
        'Dovecot USER/PASS': `${d.loginMs.toFixed(1)} ms`,
        'ratio mailbox / Dovecot RETR': higher(rate(m) / rate(d), {goal: 1}),
      })
    } else {
      figures['Dovecot POP3'] = 'skipped' in peer ? peer.skipped : 'skipped'
    }
    report(
      'retr',
      `POP3 RETR, one client, ${MESSAGES} messages of ${(SIZE / 1024).toFixed(0)} KiB (${((MESSAGES * SIZE) / 1e6).toFixed(0)} MB), plaintext over loopback, best of ${PASSES} passes`,
      figures,
    )
  } finally {
    await mailbox?.stop()
    if (peer && 'stop' in peer) await peer.stop()
    cleanup()
  }
}

/** headers and 76-character text lines up to `SIZE` bytes, CRLF */
function makeMessage(i: number): Buffer {
  const head = `From: bench@example.net\r\nTo: user@example.com\r\nSubject: pop3 bench ${i}\r\nMessage-ID: <pop3-bench-${i}@example.net>\r\n\r\n`
  const line = `${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, 74)}${String(i % 100).padStart(2, '0')}\r\n`
  return Buffer.from(head + line.repeat(Math.max(1, Math.floor((SIZE - head.length) / line.length))))
}

/** what a POP3 server sends for it: no dot lines in this workload, so the bytes plus the terminator */
const toWireForm = (raw: Buffer) => Buffer.concat([raw, Buffer.from('.\r\n')])

async function deliver(port: number, to: string, messages: Buffer[]): Promise<void> {
  const transport = nodemailer.createTransport({host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 4, maxMessages: Infinity})
  try {
    let next = 0
    await Promise.all(
      Array.from({length: 4}, async () => {
        while (next < messages.length) {
          const raw = messages[next++]!
          await transport.sendMail({envelope: {from: 'bench@example.net', to: [to]}, raw})
        }
      }),
    )
  } finally {
    transport.close()
  }
}

async function startMailbox(dataDir: string, messages: Buffer[]): Promise<Target> {
  const [smtp, pop3] = [await freePort(), await freePort()]
  const served = await startServe(dataDir, smtp, {domain: 'example.com', users: ['user@example.com']}, ['--allow-insecure-auth', '--pop3-port', String(pop3)])
  try {
    await deliver(smtp, 'user@example.com', messages)
  } catch (err) {
    await served.stop()
    throw err
  }
  return {port: pop3, user: 'user@example.com', password: 'pw', stop: () => served.stop()}
}

const TERMINATOR = Buffer.from('\r\n.\r\n')

/**
 * A minimal POP3 client that costs as little as possible per byte: replies are parsed as they
 * stream by, bodies are only searched for the terminating dot line (a chunk is never copied),
 * so the figures are the server's. One command at a time.
 */
class BenchClient {
  private mode: 'line' | 'body' = 'line'
  private line = ''
  private tail: Buffer = Buffer.alloc(0)
  private bytes = 0
  private current?: {multi: boolean; status?: string; resolve: (r: {status: string; bytes: number}) => void; reject: (e: Error) => void}

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('close', () => this.current?.reject(new Error('connection closed')))
    socket.on('error', () => {})
  }

  static async open(port: number): Promise<BenchClient> {
    const socket = connect(port, '127.0.0.1')
    socket.setNoDelay(true)
    const client = new BenchClient(socket)
    await client.expect(false) // the greeting
    return client
  }

  private expect(multi: boolean): Promise<{status: string; bytes: number}> {
    return new Promise((resolve, reject) => (this.current = {multi, resolve, reject}))
  }

  private finish(status: string, bytes: number): void {
    const current = this.current!
    this.current = undefined
    if (!status.startsWith('+OK')) current.reject(new Error(`POP3 server said: ${status}`))
    else current.resolve({status, bytes})
  }

  private onData(chunk: Buffer): void {
    let off = 0
    while (off < chunk.length) {
      if (this.mode === 'line') {
        const nl = chunk.indexOf(0x0a, off)
        this.line += chunk.toString('latin1', off, nl === -1 ? chunk.length : nl)
        if (nl === -1) return
        off = nl + 1
        const status = this.line.replace(/\r$/, '')
        this.line = ''
        if (this.current?.multi && status.startsWith('+OK')) {
          this.current.status = status
          this.mode = 'body'
          this.tail = Buffer.from('\r\n') // a body may be empty: ".\r\n" right after the status line
          this.bytes = 0
        } else {
          this.finish(status, 0)
        }
        continue
      }
      const data = off ? chunk.subarray(off) : chunk
      // the terminator may start in the bytes before this chunk
      let end = -1
      const across = Buffer.concat([this.tail, data.subarray(0, 4)]).indexOf(TERMINATOR)
      if (across !== -1) end = across + 5 - this.tail.length
      else {
        const at = data.indexOf(TERMINATOR)
        if (at !== -1) end = at + 5
      }
      if (end === -1) {
        this.bytes += data.length
        this.tail = data.length >= 4 ? Buffer.from(data.subarray(data.length - 4)) : Buffer.concat([this.tail, data]).subarray(-4)
        return
      }
      // everything up to the terminator's ".\r\n" is body (the CRLF before the dot included)
      this.mode = 'line'
      this.finish(this.current!.status!, this.bytes + end - 3)
      off += end
    }
  }

  cmd(line: string, multi = false): Promise<{status: string; bytes: number}> {
    const reply = this.expect(multi)
    this.socket.write(line + '\r\n')
    return reply
  }

  end(): void {
    this.socket.destroy()
  }
}

/** one session: login, STAT, RETR 1..M, QUIT */
async function retrievePass(target: Target, messages: Buffer[]): Promise<Pass> {
  const expected = messages.length
  const client = await BenchClient.open(target.port)
  const {ms: loginMs} = await timed(async () => {
    await client.cmd(`USER ${target.user}`)
    await client.cmd(`PASS ${target.password}`)
  })
  const {ms: statMs, result: stat} = await timed(() => client.cmd('STAT'))
  const count = Number(stat.status.split(' ')[1])
  if (count !== expected) throw new Error(`STAT says ${count} messages, expected ${expected}`)
  const {ms: retrMs, result: bytes} = await timed(async () => {
    let total = 0
    for (let n = 1; n <= expected; n++) total += (await client.cmd(`RETR ${n}`, true)).bytes
    return total
  })
  await client.cmd('QUIT')
  client.end()
  // each server adds its own trace headers: at least the bytes that were sent must come back
  const sent = messages.reduce((n, m) => n + m.length, 0)
  if (bytes < sent || bytes > sent + expected * 1024) throw new Error(`received ${bytes} message bytes for ${sent} sent`)
  return {loginMs, statMs, retrMs, bytes}
}

/** The same bytes with no protocol: a server writes every message (as sent on the wire), a client reads them all. */
async function socketSink(chunks: Buffer[]): Promise<{ms: number; bytes: number}> {
  const total = chunks.reduce((n, c) => n + c.length, 0)
  const server = createServer((socket) => {
    socket.setNoDelay(true)
    let i = 0
    const pump = () => {
      while (i < chunks.length) if (!socket.write(chunks[i++]!)) return void socket.once('drain', pump)
      socket.end()
    }
    socket.once('data', pump) // starts when the client asks, like a RETR
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('go\r\n'))
      let got = 0
      socket.on('data', (d: Buffer) => (got += d.length))
      socket.on('end', () => resolve(got))
      socket.on('error', reject)
    })
  try {
    await once() // warm-up
    let best = Infinity
    for (let i = 0; i < PASSES; i++) {
      const {ms, result: bytes} = await timed(once)
      if (bytes !== total) throw new Error(`sink: read ${bytes} of ${total} bytes`)
      best = Math.min(best, ms)
    }
    return {ms: best, bytes: total - 3 * chunks.length} // the message bytes, as counted for the POP3 runs
  } finally {
    server.close()
  }
}

async function startPeer(messages: Buffer[]): Promise<Target | {skipped: string}> {
  if (!existsSync(PEER)) return {skipped: 'skipped: ../shared/peer not found'}
  if (!which('postfix') || !which('dovecot')) return {skipped: 'skipped: apt-get install postfix dovecot-core dovecot-pop3d dovecot-lmtpd'}
  if (process.getuid?.() !== 0) return {skipped: 'skipped: the peer scripts must run as root'}
  // the peer's daemons drop to their own users: the root must be traversable (mkdtemp gives 0700)
  const root = mkdtempSync(join(tmpdir(), 'mbx-peer-'))
  chmodSync(root, 0o755)
  const env = {...process.env, PEER_ROOT: root}
  const stop = async () => {
    spawnSync(join(PEER, 'peer-stop.sh'), [], {env, stdio: 'ignore'})
    rmSync(root, {recursive: true, force: true})
  }
  try {
    const start = spawnSync(join(PEER, 'peer-start.sh'), ['--fresh'], {env, encoding: 'utf8'})
    if (start.status !== 0) {
      await stop()
      return {skipped: `peer did not start: ${(start.stderr || start.stdout).trim().slice(-300)}`}
    }
    await deliver(10025, 'test@example.com', messages)
    // Postfix hands the mail to Dovecot over LMTP in the background: wait until POP3 sees it all
    const deadline = Date.now() + 180_000
    for (;;) {
      const c = await BenchClient.open(10110)
      await c.cmd('USER test@example.com')
      await c.cmd('PASS secret')
      const count = Number((await c.cmd('STAT')).status.split(' ')[1])
      await c.cmd('QUIT')
      c.end()
      if (count === messages.length) break
      if (count > messages.length || Date.now() > deadline) throw new Error(`Dovecot holds ${count} of ${messages.length} messages`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    return {port: 10110, user: 'test@example.com', password: 'secret', stop}
  } catch (err) {
    await stop()
    return {skipped: `peer run failed: ${(err as Error).message}`}
  }
}
