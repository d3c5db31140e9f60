/**
 * The spam actor: the built-in checks of mail from outside on the MX, and the decision.
 *  - `spam.connect` / `spam.close`: an MX connection opens (its block and allow list lookups
 *    start, ./connections.ts) and goes;
 *  - `spam.helo`: at MAIL FROM, the HELO name's findings (its lookup starts);
 *  - `spam.unknownRecipient`: a RCPT named nobody; past `maxUnknownRecipients` the front-end
 *    answers 421 and closes;
 *  - `spam.allowListed`: whether a DNS allow list vouches for the client (greylisting skips it);
 *  - `spam.check`, asked at the end of DATA after mail authentication: forged X-Spam-* fields
 *    removed, the score (./score.ts) of the lists, HELO, unknown recipients and the SPF/DKIM/DMARC
 *    results, the action by the thresholds, our X-Spam-* fields, one log line per message. With
 *    `spam.rspamd.url` set, rspamd (`rspamd.check`) decides instead; when it does not answer in
 *    time the built-in score does.
 * The front-end only turns the action into a reply. Submission and capture mode are never asked.
 */
import type {Actor, Bus} from '../bus.js'
import type {Logger} from '../log.js'
import {DnsCache} from '../mail-auth/dns.js'
import type {SpamConfig} from './config.js'
import {SpamConnections} from './connections.js'
import {heloFindings, type HeloTest} from './helo.js'
import {spamHeaders, withSubject, withoutSpamHeaders} from './headers.js'
import type {RspamdCheckReply} from './rspamd-types.js'
import {briefReasons, decide, monitored, scoreOf, type AuthResults, type Decision, type SpamAction} from './score.js'

export interface SpamConnectRequest {
  /** the SMTP session's id (src/smtp/protocol/) */
  session: string
  remoteAddress: string
  /** the address the client reached us on */
  localAddress: string
}

export interface SpamCheckRequest {
  session: string
  /** the transaction's id (as in our Received field): the log line's, and rspamd's queue id */
  id: string
  /** the message as mail authentication left it, without our fields */
  message: Buffer
  /** our Authentication-Results field, on top of the message (rspamd sees it) */
  authHeader?: Buffer
  /** what mail authentication found; absent when it is off */
  auth?: AuthResults
  mailFrom: string
  rcptTo: string[]
  remoteAddress: string
  helo: string
}

export interface SpamCheckReply {
  action: SpamAction
  /** why, briefly: the reply text's */
  reason: string
  score: number
  /** the message to store: without forged X-Spam-* fields (and with rspamd's subject) */
  message: Buffer
  /** our X-Spam-* fields, to go on top of it (with addHeaders) */
  headers?: Buffer
}

/** what a decision says, whoever made it */
interface Outcome extends Decision {
  score: number
  required: number
  tests: string[]
  reason: string
  source: 'builtin' | 'rspamd'
  subject?: string
}

/** rspamd's actions as ours */
const RSPAMD_ACTIONS: Record<RspamdCheckReply['action'], SpamAction> = {
  reject: 'reject',
  'soft reject': 'defer',
  greylist: 'defer',
  'rewrite subject': 'junk',
  'add header': 'junk',
  'no action': 'deliver',
}

export class SpamActor implements Actor {
  readonly name = 'spam'
  private unregister: (() => void)[] = []
  private readonly cache: DnsCache
  private readonly connections: SpamConnections

  /** `config` is the live config section: a reload assigns into it */
  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly options: {hostname: string; config: SpamConfig; dnsServers: string[]},
  ) {
    const {config} = options
    this.cache = new DnsCache(options.dnsServers, config, () => config.dnsBudgetMs)
    this.connections = new SpamConnections(
      () => this.cache.lookupsFor(config.dnsBudgetMs),
      (what) => this.log.warn(what, 'spam check: DNS lookup failed; counted as not listed'),
    )
  }

  async start(): Promise<void> {
    this.unregister = [
      this.bus.handle('spam.connect', (req) => this.connect(req)),
      this.bus.handle('spam.helo', ({session, helo}) => {
        if (this.config.mode !== 'off') this.connections.helo(session, helo, this.config)
        return null
      }),
      this.bus.handle('spam.unknownRecipient', ({session}) => this.unknownRecipient(session)),
      this.bus.handle('spam.allowListed', async ({session}) => ({allowListed: await this.allowListed(session)})),
      this.bus.handle('spam.check', (req) => this.check(req)),
      this.bus.handle('spam.close', ({session}) => {
        this.connections.close(session)
        return null
      }),
    ]
  }

  async stop(): Promise<void> {
    for (const unregister of this.unregister) unregister()
  }

  /** a reload: new DNS servers (the section itself was assigned in place) */
  reconfigure(servers: string[]): void {
    this.cache.setServers(servers)
  }

  private get config(): SpamConfig {
    return this.options.config
  }

  private connect({session, remoteAddress, localAddress}: SpamConnectRequest): null {
    if (this.config.mode !== 'off') this.connections.connect(session, {remoteAddress, localAddress, hostname: this.options.hostname}, this.config)
    return null
  }

  /** `close`: the connection is over its allowance (enforce mode) */
  private unknownRecipient(session: string): {close: boolean} {
    const count = this.connections.unknownRecipient(session)
    const {maxUnknownRecipients, mode} = this.config
    if (count <= maxUnknownRecipients) return {close: false}
    const c = this.connections.get(session)
    const close = mode === 'enforce'
    this.log.info({remoteAddress: c?.context.remoteAddress, unknownRecipients: count, action: close ? 'close' : 'monitor only: would close'}, 'spam check: too many unknown recipients')
    return {close}
  }

  private async allowListed(session: string): Promise<boolean> {
    const lists = (await this.connections.get(session)?.lists) ?? []
    return lists.some((l) => l.tests.some((t) => t.startsWith('DNSWL_')))
  }

  private async check(req: SpamCheckRequest): Promise<SpamCheckReply> {
    const config = this.config
    if (config.mode === 'off') return {action: 'deliver', reason: 'checks off', score: 0, message: req.message}
    const {message, removed} = withoutSpamHeaders(req.message)
    const outcome = (config.rspamd?.url && this.bus.has('rspamd.check') ? await this.rspamd(req, message) : undefined) ?? (await this.builtin(req))
    this.bus.publish('spam.decided', {action: outcome.action})
    this.log.info(
      {
        id: req.id,
        score: outcome.score,
        required: outcome.required,
        tests: outcome.tests.join(','),
        action: outcome.action,
        ...(outcome.would ? {would: outcome.would} : {}),
        source: outcome.source,
        ...(removed ? {forgedSpamHeadersRemoved: removed} : {}),
      },
      'spam check',
    )
    const spam = (outcome.would ?? outcome.action) !== 'deliver'
    const stored = outcome.subject !== undefined && outcome.action === 'junk' ? withSubject(message, outcome.subject) : message
    return {
      action: outcome.action,
      reason: outcome.reason,
      score: outcome.score,
      message: stored,
      ...(config.addHeaders ? {headers: spamHeaders(spam, outcome.score, outcome.required, outcome.tests)} : {}),
    }
  }

  private async builtin(req: SpamCheckRequest): Promise<Outcome> {
    const config = this.config
    const c = this.connections.get(req.session)
    const context = c?.context ?? {remoteAddress: req.remoteAddress, localAddress: '', hostname: this.options.hostname}
    const helo: readonly HeloTest[] = c?.helo?.name === req.helo ? await c.helo.tests : heloFindings(req.helo, context)
    const scored = scoreOf({lists: (await c?.lists) ?? [], helo, unknownRecipients: c?.unknownRecipients ?? 0, ...(req.auth ? {auth: req.auth} : {})}, config)
    const decision = decide(scored.score, config)
    return {...decision, score: scored.score, required: config.junkScore, tests: scored.tests.map((t) => t.name), reason: briefReasons(scored.tests), source: 'builtin'}
  }

  /** rspamd's verdict; undefined when it did not answer (the built-in score decides then) */
  private async rspamd(req: SpamCheckRequest, message: Buffer): Promise<Outcome | undefined> {
    const reply = await this.bus.call('rspamd.check', {
      message: req.authHeader ? Buffer.concat([req.authHeader, message]) : message,
      mailFrom: req.mailFrom,
      rcptTo: req.rcptTo,
      remoteAddress: req.remoteAddress,
      helo: req.helo,
      queueId: req.id,
    })
    if (reply.failed) {
      this.log.warn({id: req.id, failed: reply.failed}, 'spam check: rspamd did not answer; the built-in score decides')
      return undefined
    }
    const action = RSPAMD_ACTIONS[reply.action] ?? 'deliver'
    const symbols = reply.symbols.slice(0, 4).join(', ')
    return {
      ...monitored(action, this.config.mode),
      score: reply.score,
      required: reply.required,
      tests: reply.symbols,
      reason: symbols ? `rspamd: ${symbols}` : `rspamd: ${reply.action}`,
      source: 'rspamd',
      ...(reply.action === 'rewrite subject' && reply.subject ? {subject: reply.subject} : {}),
    }
  }
}
