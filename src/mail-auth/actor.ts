/**
 * The mail authentication actor, owner of the mail-auth threads (./verifier-pool.ts):
 *  - `mailauth.check`, asked by the MX at the end of DATA for mail from outside: has
 *    Authentication-Results fields that claim our authserv-id removed and SPF, DKIM, DMARC and
 *    ARC verified (./verify.ts) in a thread through a time-limited, cached DNS (./dns.ts),
 *    decides (./policy.ts) and logs one line per verdict. The front-end only turns the action
 *    into a reply.
 *  - `mailauth.sign`, asked by the mailstore as it queues a message we vouch for: its
 *    DKIM-Signature fields, made in a thread, so the submission's reply waits for them but the
 *    event loop does not.
 */
import type {Actor, Bus} from '../bus.js'
import type {Logger} from '../log.js'
import type {MailboxStore} from '../store/backend.js'
import type {SigningKey} from '../dkim/sign.js'
import {scanHeader, unsignedHeaderLength, withoutForgedResults} from './headers.js'
import {joinedMovable} from '../movable.js'
import {claimedDomains, decide, type Action, type InboundAuthConfig, type PolicyInput} from './policy.js'
import {MailAuthPool, type DnsSetup, type VerifyResult} from './verifier-pool.js'
import {VerdictCache} from './verdict-cache.js'
import {resultsHeader} from './results-header.js'
import type {Verdict} from './verify.js'

export interface CheckRequest {
  /** the transaction's id (as in our Received field), for the log line */
  id: string
  /** the message as the client sent it, in pieces (left as they are) */
  pieces: Buffer[]
  remoteAddress: string
  helo: string
  /** MAIL FROM, '' for the null sender */
  mailFrom: string
}

export interface CheckReply {
  action: Action
  reason: string
  /** the message to store, joined: without forged Authentication-Results, otherwise the same bytes */
  message: Buffer
  /** our Authentication-Results field, to go on top (absent when checks are off) */
  header?: Buffer
  /** the results it records, for the spam score (absent when checks are off) */
  verdict?: {spf: string; dkim: string[]; dmarc: string}
}

export interface SignRequest {
  /** the message as it leaves (not changed, not kept) */
  message: Buffer
  domain: string
  keys: SigningKey[]
}

export class MailAuthActor implements Actor {
  readonly name = 'mailauth'
  private unregister: (() => void)[] = []
  private pool?: MailAuthPool
  private readonly verdicts: VerdictCache

  /** `config` is the live config section: a reload assigns into it */
  constructor(
    private readonly bus: Bus,
    private readonly store: MailboxStore,
    private readonly log: Logger,
    private readonly options: {hostname: string; config: InboundAuthConfig; dnsServers: string[]},
  ) {
    const {config} = options
    // read at each use: a reload assigns into `config`
    this.verdicts = new VerdictCache({
      get dnsCacheEntries() {
        return config.dnsCacheEntries
      },
      get dnsCacheTtlMs() {
        return config.dnsCacheTtlMs
      },
    })
  }

  async start(): Promise<void> {
    // the threads start at the first SMTP connection, not here: loading mailauth is half of a
    // start's CPU, which a node that takes no mail (IMAP only, MX off) never needs; a client's
    // greeting, EHLO, MAIL, RCPT and DATA give the thread time to come up before its first
    // message. With checks off, signing starts them at its first use.
    this.unregister = [
      this.bus.handle('mailauth.warm', async () => {
        if (this.options.config.mode !== 'off') this.threads()
        return null
      }),
      this.bus.handle('mailauth.check', (req) => this.check(req)),
      this.bus.handle('mailauth.sign', ({message, domain, keys}) => this.threads().sign({message, domain, keys, now: Date.now()})),
    ]
  }

  async stop(): Promise<void> {
    for (const unregister of this.unregister) unregister()
    await this.pool?.close()
  }

  /** a reload: `config` was assigned in place; the threads get its DNS settings and `servers` */
  reconfigure(servers: string[]): void {
    this.options.dnsServers = servers
    this.verdicts.clear()
    this.pool?.setDns(this.dnsSetup())
  }

  private threads(): MailAuthPool {
    const {verifierThreads, threadMemoryMb} = this.options.config
    this.pool ??= new MailAuthPool({count: verifierThreads, heapMb: threadMemoryMb}, this.dnsSetup(), (err, pauseMs) =>
      this.log.error({err, restartInMs: pauseMs}, 'mail-auth thread failed; replaced'),
    )
    return this.pool
  }

  private dnsSetup(): DnsSetup {
    const {config, dnsServers} = this.options
    return {servers: dnsServers, limits: {dnsCacheEntries: config.dnsCacheEntries, dnsCacheTtlMs: config.dnsCacheTtlMs}, budgetMs: config.dnsBudgetMs}
  }

  private async check(req: CheckRequest): Promise<CheckReply> {
    const {hostname, config} = this.options
    // RFC 8601 §5: whatever else happens, nobody outside speaks for this server (the thread sees
    // to that as it verifies; here when it did not)
    const cleaned = () => withoutForgedResults(req.pieces.length === 1 ? req.pieces[0]! : Buffer.concat(req.pieces), hostname)
    if (config.mode === 'off') return {action: 'accept', reason: 'checks off', message: cleaned().message}
    const verified = await this.verify(req, hostname, config)
    const verdict = verified?.verdict ?? failedVerdict(hostname)
    const {message, removed} = verified ?? cleaned()
    // a message the verifier could not finish is asked again later, even with onTempError
    // "accept": its From addresses are unknown, so a forged local sender could not be refused
    const claims = {mailFrom: req.mailFrom, headerFrom: verdict.headerFrom}
    const decision = verified
      ? decide({...verdict, mailFrom: req.mailFrom}, await this.localDomainsOf(claims), config)
      : config.mode === 'enforce'
        ? {action: 'defer' as const, reason: 'verification failed'}
        : {action: 'accept' as const, reason: 'monitor only: verification failed'}
    this.log.info(
      {
        id: req.id,
        spf: verdict.spf.result,
        dkim: verdict.dkim.map((d) => (d.domain ? `${d.result}:${d.domain}` : d.result)).join(' '),
        dmarc: verdict.dmarc.result,
        arc: verdict.arc.result,
        action: decision.action,
        reason: decision.reason,
        ...(removed ? {forgedResultsRemoved: removed} : {}),
      },
      'mail authentication',
    )
    const results = {spf: verdict.spf.result, dkim: verdict.dkim.map((d) => d.result), dmarc: verdict.dmarc.result}
    return {...decision, message, header: headerBytes(verdict), verdict: results}
  }

  /** which of the domains the message claims are local, asked of the store before the (synchronous) policy */
  private async localDomainsOf(verdict: Pick<PolicyInput, 'mailFrom' | 'headerFrom'>): Promise<(domain: string) => boolean> {
    const claimed = [...claimedDomains(verdict)]
    const local = await Promise.all(claimed.map((domain) => this.store.directory.isLocalDomain(domain)))
    const set = new Set(claimed.filter((_, i) => local[i]))
    return (domain) => set.has(domain)
  }

  /** the verdicts and the cleaned message; undefined when the verifier failed (logged) */
  private async verify(req: CheckRequest, hostname: string, config: InboundAuthConfig): Promise<VerifyResult | undefined> {
    const first = req.pieces[0] ?? Buffer.alloc(0)
    // scanned once for all three questions: every field lies inside `header`, at the same offsets
    const scanned = scanHeader(first)
    const headerOnly = unsignedHeaderLength(first, scanned)
    const header = first.subarray(0, headerOnly)
    const key = headerOnly ? VerdictCache.keyOf(header, req, scanned.fields) : undefined
    try {
      const kept = key === undefined ? undefined : this.verdicts.get(key)
      const verified = kept
        ? {verdict: kept, ...withoutForgedResults(header, hostname, scanned.fields)}
        : await this.threads().verify({
            // one copy, moved to the thread and back: the pieces stay for when it fails
            message: headerOnly ? joinedMovable([header]) : joinedMovable(req.pieces),
            remoteAddress: req.remoteAddress,
            helo: req.helo,
            mailFrom: req.mailFrom,
            hostname,
            budgetMs: config.dnsBudgetMs,
            maxDkimSignatures: config.maxDkimSignatures,
          })
      if (key !== undefined && !kept) this.verdicts.add(key, verified.verdict)
      // the (cleaned) header back in front of the body that stayed here
      if (headerOnly) verified.message = Buffer.concat([verified.message, first.subarray(headerOnly), ...req.pieces.slice(1)])
      return verified
    } catch (err) {
      this.log.error({err, id: req.id}, 'mail authentication failed')
      return undefined
    }
  }
}

/** a verdict's Authentication-Results field as bytes, made once per verdict (a kept one serves many messages; the bytes are only read) */
const headerBytesOf = new WeakMap<Verdict, Buffer>()
function headerBytes(verdict: Verdict): Buffer {
  let bytes = headerBytesOf.get(verdict)
  if (!bytes) headerBytesOf.set(verdict, (bytes = Buffer.from(verdict.header, 'utf8')))
  return bytes
}

/** what is recorded when the verifier failed: a temporary error of every method */
function failedVerdict(hostname: string): Verdict {
  const rows = ['spf=temperror', 'dkim=temperror', 'arc=none', 'dmarc=temperror'].map((row) => `${row} (verification failed)`)
  return {
    spf: {result: 'temperror', domain: ''},
    dkim: [{result: 'temperror'}],
    dmarc: {result: 'temperror'},
    arc: {result: 'none'},
    headerFrom: [],
    header: resultsHeader(hostname, rows),
  }
}
