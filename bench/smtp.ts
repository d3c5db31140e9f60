/**
 * Durable SMTP ingest: S sessions × M messages of L bytes (default 10 × 5000 × 10 KiB, one
 * message per connection, like Postfix's smtp-source default) into a real `mailbox serve`.
 * mailbox answers 250 only after the message is committed (fsynced) into the mailbox, so its
 * ingest rate is its end-to-end rate; the count is checked in the store afterwards.
 *
 * References measured in the same run:
 *  - raw durable LMDB puts of the same bytes with the same concurrency (the storage ceiling);
 *  - Postfix's smtp-sink with the same load (the SMTP-only ceiling), when postfix is installed;
 *  - Postfix → LMTP → Dovecot with the same load, end-to-end until Dovecot's IMAP STATUS shows
 *    every message (../shared/peer), when postfix and dovecot are installed and we are root.
 * The load generator is smtp-source when installed, else a small Node client (said in the output).
 * mailbox's ingest, smtp-sink and Postfix -> Dovecot are each the median of BENCH_SMTP_RUNS (3)
 * timed runs, every run printed beside it.
 *
 * Inbound authentication: every server here asks a loopback DNS publishing SPF, DKIM and DMARC
 * records for the sender's domain (example.net), so the figure above is with the checks on (the
 * default). Then the same ingest by the Node client of one DKIM-signed message with the checks
 * off (`inboundAuth.mode: "off"`) and on, twice each, and the ratio of the means.
 *
 * Spam checks: the same ingest with the built-in spam checks off (`spam.mode: "off"`) and on with
 * one DNS block list and one allow list on the loopback DNS (the client allow-listed, so both
 * answers are used; cached after the first connection), off/on/on/off, and the ratio.
 */
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {connect} from 'node:net'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {generateKeyPairSync} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {dkimSign} from 'mailauth'
import {mailboxMessagesRange} from '../src/store/keys.js'
import {openStore} from '../src/store/store.js'
import {startDns, type DnsServer} from '../test/helpers/dns.js'
import {onReplies} from '../test/helpers/smtp-replies.js'
import {cpuSeconds, freePort, startServe, which} from './serve.js'
import {fig, type FigureValue, higher, lower, median, report, tempDir, timed} from './util.js'

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10)
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5000)
const SIZE = Number(process.env.BENCH_SIZE ?? 10240)
/**
 * timed runs of the headline figures (mailbox's ingest, smtp-sink, Postfix -> Dovecot), the median
 * of each counting: one run of each swung by +-15 % on this 2-core VM, so a ratio of two single
 * runs said as much about the machine's moment as about the servers
 */
const RUNS = Number(process.env.BENCH_SMTP_RUNS ?? 3)
/** ../shared/peer beside the checkout; BENCH_PEER names it for a checkout elsewhere (a git worktree) */
const PEER = process.env.BENCH_PEER ?? fileURLToPath(new URL('../../shared/peer/', import.meta.url))
/** BENCH_SMTP_ONLY=auth runs only the inbound authentication off/on pair, =spam only the spam checks', =metrics only the metrics off/on pair, =greylist only the greylisting off/on pair, =sieve only Sieve at delivery off/on */
const ONLY_AUTH = process.env.BENCH_SMTP_ONLY === 'auth'
const ONLY_SPAM = process.env.BENCH_SMTP_ONLY === 'spam'
const ONLY_METRICS = process.env.BENCH_SMTP_ONLY === 'metrics'
/** =rspamd: ingest with every message checked by rspamd on this machine, against without (bench/smtp-rspamd.ts) */
const ONLY_RSPAMD = process.env.BENCH_SMTP_ONLY === 'rspamd'
const ONLY_GREYLIST = process.env.BENCH_SMTP_ONLY === 'greylist'
/** =sieve: ingest with Sieve at delivery off (sieve.enabled false: the path before Sieve) and on, the recipient without a script */
const ONLY_SIEVE = process.env.BENCH_SMTP_ONLY === 'sieve'

export async function benchSmtp(): Promise<void> {
  const {dir, cleanup} = tempDir()
  const sender = await senderDns()
  try {
    if (ONLY_AUTH) {
      const auth = await authIngest(dir, sender)
      return report('auth', `SMTP ingest, ${SESSIONS} sessions, ${MESSAGES} messages of ${SIZE} B, inbound authentication off and on`, authFigures(auth))
    }
    if (ONLY_RSPAMD) {
      const {rspamdIngest} = await import('./smtp-rspamd.js')
      const r = await rspamdIngest(dir, sender.flags, MESSAGES)
      return report('rspamd', `SMTP ingest, ${SESSIONS} sessions, ${MESSAGES} messages of ${SIZE} B, rspamd off and on`, {
        'load generator': loadGenerator().generator,
        'rspamd off (mean of 2)': fig(r.off, 'msgs/s', `(server CPU ${r.offCpuMs.toFixed(3)} ms/msg)`, 0),
        [`rspamd on, ${r.workers} normal workers (mean of 2)`]: fig(r.on, 'msgs/s', `(server CPU ${r.onCpuMs.toFixed(3)} ms/msg)`, 0),
        'ratio rspamd on / off': higher(r.on / r.off),
        'rspamd CPU per message (all its processes)': fig(r.rspamdCpuMs, 'ms', '', 3),
        "rspamd's scan time per message (its last scans)": fig(r.scanMs, 'ms', '', 3),
        'rspamd verdicts': JSON.stringify(r.verdicts),
      })
    }
    if (ONLY_GREYLIST) {
      const g = await greylistIngest(dir, sender)
      return report('greylist', `SMTP ingest, ${SESSIONS} sessions, ${MESSAGES} messages of ${SIZE} B, greylisting off and on (the sender's triplet passed)`, {
        'load generator': loadGenerator().generator,
        'greylisting off (mean of 2)': fig(g.off, 'msgs/s', `(server CPU ${g.offCpuMs.toFixed(3)} ms/msg)`, 0),
        'greylisting on, triplet passed (mean of 2)': fig(g.on, 'msgs/s', `(server CPU ${g.onCpuMs.toFixed(3)} ms/msg)`, 0),
        'ratio greylisting on / off, rate': higher(g.on / g.off, {goal: 0.9}),
        'ratio greylisting on / off, server CPU per message': lower(g.onCpuMs / g.offCpuMs, {goal: 1.1}),
      })
    }
    if (ONLY_SIEVE) {
      const v = await sieveIngest(dir, sender)
      return report('sieve', `SMTP ingest, ${SESSIONS} sessions, ${MESSAGES} messages of ${SIZE} B, Sieve at delivery off and on (the recipient has no script)`, {
        'load generator': loadGenerator().generator,
        'sieve off (mean of 2)': fig(v.off, 'msgs/s', `(server CPU ${v.offCpuMs.toFixed(3)} ms/msg)`, 0),
        'sieve on, no script: one active() read (mean of 2)': fig(v.on, 'msgs/s', `(server CPU ${v.onCpuMs.toFixed(3)} ms/msg)`, 0),
        'ratio sieve on / off, rate': higher(v.on / v.off, {goal: 0.95}),
        'ratio sieve on / off, server CPU per message': lower(v.onCpuMs / v.offCpuMs, {goal: 1.05}),
      })
    }
    if (ONLY_SPAM) {
      const spam = await spamIngest(dir, sender)
      return report('spam', `SMTP ingest, ${SESSIONS} sessions, ${MESSAGES} messages of ${SIZE} B, built-in spam checks off and on`, spamFigures(spam))
    }
    if (ONLY_METRICS) {
      const m = await metricsIngest(dir, sender)
      return report('metrics', `SMTP ingest, ${SESSIONS} sessions, ${MESSAGES} messages of ${SIZE} B, serve's metrics off and on`, {
        'load generator': loadGenerator().generator,
        'metrics off (mean of 2)': fig(m.off, 'msgs/s', `(server CPU ${m.offCpuMs.toFixed(3)} ms/msg)`, 0),
        'metrics on, /metrics scraped every second (mean of 2)': fig(m.on, 'msgs/s', `(server CPU ${m.onCpuMs.toFixed(3)} ms/msg)`, 0),
        'ratio metrics on / off, rate': higher(m.on / m.off, {goal: 0.95}),
        'ratio metrics on / off, server CPU per message': lower(m.onCpuMs / m.offCpuMs, {goal: 1.05}),
      })
    }
    const storage = await rawPuts(join(dir, 'raw'))
    const smtpSource = which('smtp-source')
    const {generator, load} = loadGenerator()
    const {rate: mailbox, cpuMs, rates} = await mailboxIngest(join(dir, 'data'), (port, n, to) => load(port, n, to), sender.flags, MESSAGES, undefined, RUNS)
    const auth = await authIngest(dir, sender)
    const spam = await spamIngest(dir, sender)
    const sinks = smtpSource && which('smtp-sink') && existsSync(PEER) ? Array.from({length: RUNS}, () => sinkIngest()).filter((r) => r !== undefined) : []
    const peers = smtpSource ? Array.from({length: RUNS}, () => peerEndToEnd()) : []
    const peerRuns = peers.filter((p) => p.endToEnd !== undefined)
    const runs = (values: number[]) => (values.length > 1 ? `(median of ${values.length}: ${values.map((v) => v.toFixed(0)).join(', ')})` : '')
    const figures: Record<string, FigureValue> = {
      'load generator': generator,
      'mailbox durable ingest (in mailbox)': fig(mailbox, 'msgs/s', runs(rates), 0),
      'server CPU per message (all threads)': fig(cpuMs, 'ms', '', 3),
      'reference: raw durable LMDB puts': fig(storage, 'puts/s', '', 0),
      'ratio mailbox / raw puts': higher(mailbox / storage),
    }
    if (sinks.length) {
      const sink = median(sinks)
      Object.assign(figures, {'reference: Postfix smtp-sink (discards)': fig(sink, 'msgs/s', runs(sinks), 0), 'ratio mailbox / smtp-sink': higher(mailbox / sink, {goal: 0.25})})
    }
    if (peerRuns.length === peers.length && peerRuns.length) {
      const endToEnd = median(peerRuns.map((p) => p.endToEnd!))
      Object.assign(figures, {
        'Postfix ingest (queued, not delivered)': fig(median(peerRuns.map((p) => p.ingest!)), 'msgs/s', runs(peerRuns.map((p) => p.ingest!)), 0),
        'Postfix -> Dovecot end-to-end': fig(endToEnd, 'msgs/s', runs(peerRuns.map((p) => p.endToEnd!)), 0),
        'ratio mailbox / Postfix->Dovecot e2e': higher(mailbox / endToEnd, {goal: 4}),
      })
    } else {
      figures['Postfix -> Dovecot'] = peers.find((p) => p.skipped)?.skipped ?? 'skipped: smtp-source not installed'
    }
    Object.assign(figures, authFigures(auth), spamFigures(spam))
    report('ingest', `SMTP ingest, ${SESSIONS} sessions, ${MESSAGES} messages of ${SIZE} B, one message per connection`, figures)
  } finally {
    await sender.dns.close()
    cleanup()
  }
}

function authFigures(auth: {off: number; on: number}): Record<string, FigureValue> {
  return {
    'inbound auth off (Node client, signed message; mean of 2)': fig(auth.off, 'msgs/s', '', 0),
    'inbound auth on (SPF+DKIM+DMARC, loopback DNS, cached; mean of 2)': fig(auth.on, 'msgs/s', '', 0),
    'ratio auth on / off': higher(auth.on / auth.off, {goal: 0.7}),
  }
}

function spamFigures(spam: {off: number; on: number}): Record<string, FigureValue> {
  return {
    'spam checks off (mean of 2)': fig(spam.off, 'msgs/s', '', 0),
    'spam checks on (one DNSBL + one DNSWL, loopback DNS, cached; mean of 2)': fig(spam.on, 'msgs/s', '', 0),
    'ratio spam checks on / off': higher(spam.on / spam.off, {goal: 0.8}),
  }
}

interface SenderDns {
  dns: DnsServer
  /** serve's flag for it */
  flags: string[]
  /** PEM of the DKIM key published as bench._domainkey.example.net */
  privateKey: string
}

/** a loopback DNS with example.net's SPF (127.0.0.1), DKIM key and DMARC p=reject */
async function senderDns(): Promise<SenderDns> {
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const dns = await startDns({
    'example.net': {TXT: ['v=spf1 ip4:127.0.0.1 -all']},
    'bench._domainkey.example.net': {TXT: [`v=DKIM1; k=rsa; p=${publicKey.export({type: 'spki', format: 'der'}).toString('base64')}`]},
    '_dmarc.example.net': {TXT: ['v=DMARC1; p=reject']},
  })
  return {dns, flags: ['--dns-server', `127.0.0.1:${dns.port}`], privateKey: privateKey.export({type: 'pkcs8', format: 'pem'}).toString()}
}

async function rawPuts(dataDir: string): Promise<number> {
  const store = openStore(dataDir)
  const record = Buffer.alloc(SIZE, 'x')
  let next = 0
  const worker = async () => {
    while (next < MESSAGES) await store.blobs.put(`k${next++}`, record)
  }
  const {ms} = await timed(() => Promise.all(Array.from({length: SESSIONS}, worker)))
  await store.close()
  return MESSAGES / (ms / 1000)
}

export type Load = (port: number, count: number, to: string) => Promise<void>

/**
 * msgs/s of `messages` (default BENCH_MESSAGES) through a fresh serve's SMTP, after a warm-up
 * (bench/import.ts compares against it), and the server's CPU milliseconds per message (all its threads)
 */
export async function mailboxIngest(
  dataDir: string,
  loadWith: Load,
  extra: string[] = [],
  messages = MESSAGES,
  /** run on the started server before the warm-up */
  prepare?: (port: number) => Promise<void>,
  /** timed runs of `messages` each, after the warm-up: the median rate and CPU count */
  timedRuns = 1,
): Promise<{rate: number; cpuMs: number; rates: number[]}> {
  const port = await freePort()
  const served = await startServe(dataDir, port, {domain: 'example.test', users: ['alice@example.test']}, extra)
  try {
    await prepare?.(port)
    const load = (n: number) => loadWith(port, n, 'alice@example.test')
    await load(Math.min(1000, messages)) // warm-up: a long-running server has its code optimized
    const rates: number[] = []
    const cpus: number[] = []
    for (let i = 0; i < timedRuns; i++) {
      const cpuBefore = cpuSeconds(served.child.pid!)
      const {ms} = await timed(() => load(messages))
      cpus.push(((cpuSeconds(served.child.pid!) - cpuBefore) * 1000) / messages)
      rates.push(messages / (ms / 1000))
    }
    const store = openStore(dataDir, {readOnly: true})
    const inbox = store.mailboxes.get(['alice@example.test', 'INBOX'])
    await store.close()
    const expected = messages * timedRuns + Math.min(1000, messages)
    if (inbox?.messages !== expected) throw new Error(`mailbox holds ${inbox?.messages} messages, expected ${expected}`)
    return {rate: median(rates), cpuMs: median(cpus), rates}
  } finally {
    await served.stop()
  }
}

/**
 * Ingest of one DKIM-signed message from example.net, with inbound authentication off and on:
 * msgs/s of each.
 */
async function authIngest(dir: string, sender: SenderDns): Promise<{off: number; on: number}> {
  const raw = plainMessage('alice@example.test')
  const {signatures} = await dkimSign(raw, {signatureData: [{signingDomain: 'example.net', selector: 'bench', privateKey: sender.privateKey}]} as never)
  const signed = Buffer.concat([Buffer.from(signatures), raw])
  const load: Load = (port, n, to) => nodeLoad(port, n, to, {message: signed})
  const {off, on, header} = await configuredPairs(dir, 'auth', load, sender, (enforce) => ({inboundAuth: {mode: enforce ? 'enforce' : 'off'}}))
  // measured what it says: the stored messages carry all three passes
  for (const pass of ['dkim=pass', 'spf=pass', 'dmarc=pass']) if (!header.includes(pass)) throw new Error(`inbound auth bench: no ${pass} in\n${header.slice(0, 1500)}`)
  return {off, on}
}

/** Ingest (as above, the ingest load generator) with the built-in spam checks off and on: msgs/s of each. */
async function spamIngest(dir: string, sender: SenderDns): Promise<{off: number; on: number}> {
  // 127.0.0.1 on the allow list; not on the block list (NXDOMAIN, cached as well)
  sender.dns.zone['1.0.0.127.wl.bench'] = {A: ['127.0.0.2']}
  const checks = {mode: 'enforce', dnsbl: [{zone: 'bl.bench', weight: 10}], dnswl: [{zone: 'wl.bench', weight: -1}]}
  const {load} = loadGenerator()
  const {off, on, header} = await configuredPairs(dir, 'spam', load, sender, (checksOn) => ({spam: checksOn ? checks : {mode: 'off'}}))
  // measured what it says: the stored messages were scored with the allow list's answer
  if (!/^X-Spam-Status: No, .*DNSWL_WL/m.test(header)) throw new Error(`spam bench: no DNSWL_WL in\n${header.slice(0, 1500)}`)
  return {off, on}
}

/**
 * Ingest off/on/on/off, each serve with the config file `configOf(on)`: the mean msgs/s of each,
 * and the header of the first message the first `on` run stored (to check it measured what it says)
 */
async function configuredPairs(dir: string, prefix: string, load: Load, sender: SenderDns, configOf: (on: boolean) => object): Promise<{off: number; on: number; header: string}> {
  const runs = await offOnOnOff(prefix, (name, on) => {
    const config = join(dir, `${name}.json`)
    writeFileSync(config, JSON.stringify(configOf(on)))
    return mailboxIngest(join(dir, name), load, ['--config', config, ...sender.flags]).then((m) => m.rate)
  })
  const store = openStore(join(dir, `${prefix}-on-1`), {readOnly: true})
  try {
    const inbox = store.mailboxes.get(['alice@example.test', 'INBOX'])!
    const first = [...store.messages.getRange({...mailboxMessagesRange(inbox.id), limit: 1})][0]!.value
    return {off: mean(runs.off), on: mean(runs.on), header: store.blobs.get(first.blobId)!.toString('latin1')}
  } finally {
    await store.close()
  }
}

/** off, on, on, off, each in a data dir `${prefix}-off-1` …: the mean of each cancels a load that drifts during the runs (a shared machine) */
export async function offOnOnOff<T>(prefix: string, run: (name: string, on: boolean) => Promise<T>): Promise<{off: T[]; on: T[]}> {
  const off1 = await run(`${prefix}-off-1`, false)
  const on1 = await run(`${prefix}-on-1`, true)
  const on2 = await run(`${prefix}-on-2`, true)
  const off2 = await run(`${prefix}-off-2`, false)
  return {off: [off1, off2], on: [on1, on2]}
}

export const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length
export {median}

/**
 * Ingest (as above) with serve's metrics off and on; on, /metrics is scraped every second (a
 * harsh Prometheus). The server's CPU per message is the steadier figure on a shared machine.
 */
async function metricsIngest(dir: string, sender: SenderDns): Promise<{off: number; on: number; offCpuMs: number; onCpuMs: number}> {
  const {load} = loadGenerator()
  const {off, on} = await offOnOnOff('metrics', async (name, metricsOn) => {
    if (!metricsOn) return mailboxIngest(join(dir, name), load, sender.flags)
    const port = await freePort()
    let scrapes = 0
    const scraper = setInterval(() => {
      void fetch(`http://127.0.0.1:${port}/metrics`).then(
        async (res) => void ((await res.text()).includes('mailbox_messages_received_total') && scrapes++),
        () => {},
      )
    }, 1000)
    try {
      const measured = await mailboxIngest(join(dir, name), load, [...sender.flags, '--metrics-port', String(port)])
      if (scrapes === 0) throw new Error('metrics bench: no scrape answered')
      return measured
    } finally {
      clearInterval(scraper)
    }
  })
  return {off: mean(off.map((m) => m.rate)), on: mean(on.map((m) => m.rate)), offCpuMs: mean(off.map((m) => m.cpuMs)), onCpuMs: mean(on.map((m) => m.cpuMs))}
}

/**
 * Ingest (as above) with greylisting off and on. On, the load's one triplet (a@example.net to
 * alice@example.test from 127.0.0.1) is passed first (a 450, then a retry after delayMs 0), so
 * the figure is the steady state of mail from a known correspondent: one greylist read per RCPT.
 */
async function greylistIngest(dir: string, sender: SenderDns): Promise<{off: number; on: number; offCpuMs: number; onCpuMs: number}> {
  const {load} = loadGenerator()
  const {off, on} = await offOnOnOff('greylist', (name, greylisting) => {
    const config = join(dir, `${name}.json`)
    writeFileSync(config, JSON.stringify({spam: {greylist: {enabled: greylisting, delayMs: 0}}}))
    return mailboxIngest(join(dir, name), load, ['--config', config, ...sender.flags], MESSAGES, greylisting ? passTriplet : undefined)
  })
  return {off: mean(off.map((m) => m.rate)), on: mean(on.map((m) => m.rate)), offCpuMs: mean(off.map((m) => m.cpuMs)), onCpuMs: mean(on.map((m) => m.cpuMs))}
}

/**
 * Ingest (as above) with Sieve at delivery off and on; the recipient has no script, so `on` is
 * what every user without one pays: one `store.sieve.active()` read per local recipient.
 */
async function sieveIngest(dir: string, sender: SenderDns): Promise<{off: number; on: number; offCpuMs: number; onCpuMs: number}> {
  const {load} = loadGenerator()
  const {off, on} = await offOnOnOff('sieve', (name, sieveOn) => {
    const config = join(dir, `${name}.json`)
    writeFileSync(config, JSON.stringify({sieve: {enabled: sieveOn}}))
    return mailboxIngest(join(dir, name), load, ['--config', config, ...sender.flags])
  })
  return {off: mean(off.map((m) => m.rate)), on: mean(on.map((m) => m.rate)), offCpuMs: mean(off.map((m) => m.cpuMs)), onCpuMs: mean(on.map((m) => m.cpuMs))}
}

/** RCPT twice in one session: greylisted (450), then passed (250) */
async function passTriplet(port: number): Promise<void> {
  const steps = ['EHLO bench\r\n', 'MAIL FROM:<a@example.net>\r\n', 'RCPT TO:<alice@example.test>\r\n', 'RSET\r\n', 'MAIL FROM:<a@example.net>\r\n', 'RCPT TO:<alice@example.test>\r\n', 'QUIT\r\n']
  const replies = await smtpSession(port, '127.0.0.1', steps)
  // greeting, EHLO, MAIL, RCPT, RSET, MAIL, RCPT, QUIT
  if (!replies[3]?.startsWith('450 4.7.1') || !replies[6]?.startsWith('250')) throw new Error(`greylist bench: the triplet did not pass: ${replies.join(' | ')}`)
}

/**
 * One SMTP session on a socket: after each reply (a multi-line one's last line) the next step
 * is written; after the last step's reply the socket is ended. Resolves with the replies once it
 * closed; a reply `refused` says is an error.
 */
function smtpSession(port: number, host: string, steps: (string | Buffer)[], refused: (line: string) => boolean = () => false): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host)
    const replies: string[] = []
    onReplies(socket, (line) => {
      if (refused(line)) {
        reject(new Error(`bench client got: ${line}`))
        return true
      }
      replies.push(line)
      const step = steps.shift()
      if (step === undefined) {
        socket.end()
        return true
      }
      socket.write(step)
      return false
    })
    socket.on('close', () => resolve(replies))
    socket.on('error', reject)
  })
}

/** where and how hard a load generator sends */
export interface LoadTarget {
  /** the server's address (default 127.0.0.1) */
  host?: string
  /** connections at a time (default BENCH_SESSIONS) */
  sessions?: number
}

/** the ingest load generator: smtp-source when installed, else the Node client below; both send BENCH_SIZE-byte messages */
export function loadGenerator(): {generator: string; load: (port: number, count: number, to: string, target?: LoadTarget) => Promise<void>} {
  return which('smtp-source')
    ? {generator: 'smtp-source (postfix)', load: smtpSourceLoad}
    : {generator: 'built-in Node client', load: (port, count, to, target) => nodeLoad(port, count, to, target)}
}

function smtpSourceLoad(port: number, count: number, to: string, {host = '127.0.0.1', sessions = SESSIONS}: LoadTarget = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('smtp-source', ['-s', String(sessions), '-m', String(count), '-l', String(SIZE), '-f', 'a@example.net', '-t', to, `${host}:${port}`], {stdio: ['ignore', 'ignore', 'pipe']})
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => (code === 0 && !err.trim() ? resolve() : reject(new Error(`smtp-source: ${code} ${err}`))))
  })
}

/** the bench message, about SIZE bytes, CRLF-terminated (no line starts with a dot) */
function plainMessage(to: string): Buffer {
  return Buffer.from(`From: a@example.net\r\nTo: ${to}\r\nSubject: bench\r\n\r\n${'x'.repeat(SIZE - 60).replace(/(.{76})/g, '$1\r\n')}\r\n`)
}

/** One message per connection, `sessions` at a time: greeting, EHLO, MAIL, RCPT, DATA, QUIT. */
async function nodeLoad(port: number, count: number, to: string, options: LoadTarget & {message?: Buffer} = {}): Promise<void> {
  const {message = plainMessage(to), host = '127.0.0.1', sessions = SESSIONS} = options
  const body = Buffer.concat([message, Buffer.from('.\r\n')])
  let left = count
  const one = () => smtpSession(port, host, ['EHLO bench\r\n', 'MAIL FROM:<a@example.net>\r\n', `RCPT TO:<${to}>\r\n`, 'DATA\r\n', body, 'QUIT\r\n'], (line) => !/^[23]/.test(line)).then(() => {})
  await Promise.all(
    Array.from({length: sessions}, async () => {
      while (left-- > 0) await one()
    }),
  )
}

function sinkIngest(): number | undefined {
  const out = spawnSync(join(PEER, 'smtp-sink-ref.sh'), ['-s', String(SESSIONS), '-m', String(MESSAGES), '-l', String(SIZE)], {encoding: 'utf8'})
  return Number(/= ([\d.]+) msgs\/s/.exec(out.stdout)?.[1]) || undefined
}

function peerEndToEnd(): {ingest: number; endToEnd: number; skipped?: undefined} | {skipped: string; ingest?: undefined; endToEnd?: undefined} {
  if (!existsSync(PEER)) return {skipped: 'skipped: ../shared/peer not found'}
  if (!which('postfix') || !which('dovecot')) return {skipped: 'skipped: apt-get install postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd'}
  if (process.getuid?.() !== 0) return {skipped: 'skipped: the peer scripts must run as root'}
  // the peer's daemons drop to their own users: the root must be traversable (mkdtemp gives 0700)
  const root = mkdtempSync(join(tmpdir(), 'mbx-peer-'))
  chmodSync(root, 0o755)
  const env = {...process.env, PEER_ROOT: root}
  try {
    const start = spawnSync(join(PEER, 'peer-start.sh'), ['--fresh'], {env, encoding: 'utf8'})
    if (start.status !== 0) return {skipped: `peer did not start: ${(start.stderr || start.stdout).trim().slice(-300)}`}
    const out = spawnSync(
      join(PEER, 'smtp-bench.sh'),
      ['127.0.0.1:10025', '-s', String(SESSIONS), '-m', String(MESSAGES), '-l', String(SIZE), '--verify-imap', '127.0.0.1:10143', '--user', 'test@example.com', '--pass', 'secret'],
      {env, encoding: 'utf8'},
    )
    const ingest = Number(/ingest: .*= ([\d.]+) msgs\/s/.exec(out.stdout)?.[1])
    const endToEnd = Number(/delivered: .*= ([\d.]+) msgs\/s end-to-end/.exec(out.stdout)?.[1])
    if (!endToEnd) return {skipped: `peer run failed: ${out.stdout.slice(-300)} ${out.stderr.slice(-300)}`}
    return {ingest, endToEnd}
  } finally {
    spawnSync(join(PEER, 'peer-stop.sh'), [], {env, stdio: 'ignore'})
    rmSync(root, {recursive: true, force: true})
  }
}
