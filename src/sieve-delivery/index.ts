/**
 * Users' Sieve scripts at final delivery (see docs/sieve.md). For each local recipient with an
 * active script the script runs on the message, and its actions become part of the delivery:
 * placements (keep, fileinto with flags and :create, discard) and further messages (redirects)
 * go into the one commit of ../mailstore/submit.ts; a reject refuses the message at SMTP time
 * when it had one recipient, else it is a notice to the sender; vacation replies and those
 * notices are injected after the commit (`afterCommit`).
 *
 * A recipient without a script costs one `active()` read and nothing else. A script that fails
 * (runtime error, a limit) keeps the message in INBOX, logged: nothing is lost.
 */
import {domainOf, normalizeAddress} from '../address.js'
import {isMailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import {analyzeMessage} from '../mailstore/analyze.js'
import {INBOX} from '../mailstore/folder-rules.js'
import {resolveForDelivery} from '../mailstore/submit.js'
import {headerEnd, parseHeader} from '../mime/header.js'
import {parseAddressList} from '../mime/address-list.js'
import {runSieve, type Script, type SieveOutcome, type VacationAction} from '../sieve/index.js'
import type {DeliveryInput, MailboxStore, Placement} from '../store/backend.js'
import type {MailboxRecord} from '../store/records.js'
import {placementName} from '../store/placements.js'
import {runLimits, type SieveDeliveryConfig} from './config.js'
import {actionsOf} from './outcome.js'
import {rejectionNotice, vacationReply} from './replies.js'
import {ScriptCache} from './scripts.js'
import {srsForward} from '../srs/index.js'
import {srsSecret} from '../srs/secret.js'
import type {SrsConfig} from '../srs/route.js'

/**
 * A redirected copy that reaches a local user runs that user's script too (as it would through
 * an MTA); past this many hops a redirect is kept instead. Delivered-To stops loops sooner.
 */
const MAX_HOPS = 4

/**
 * Redirects made by the scripts of redirected copies (hop 1 and on), per message: users who
 * forward to each other would otherwise multiply it (five made 165 copies, each the whole message
 * in memory and on disk); past this many a redirect is kept instead.
 */
export const MAX_NESTED_REDIRECTS = 16

export interface SieveDeliveryOptions {
  /** config `sieve`, read at each message (a reload assigns into it) */
  config: SieveDeliveryConfig
  /** our host name: Message-IDs and MAILER-DAEMON of the messages sent back */
  hostname: string
  log: Logger
  /** config `srs` (read at each forward): off, forwards keep the original sender */
  srs?: SrsConfig
}

/** one script run, for the log and the `sieve.ran` event */
export interface SieveReport {
  user: string
  script: string
  actions: string[]
  errors?: string[]
  steps: number
  ms: number
}

export interface SievePlan {
  /** per user with a script: where the copies go */
  placements: Record<string, Placement[]>
  /** redirected copies, each with its own bytes and envelope sender */
  also: DeliveryInput[]
  /** refusals: `hop` 0 are the envelope recipients' own users */
  rejected: {user: string; reason: string; sender: string; hop: number}[]
  vacations: {user: string; action: VacationAction}[]
  reports: SieveReport[]
  /** users whose script makes a folder (`fileinto :create`), with their folders before: the `folder.changed` events after the commit */
  foldersBefore: {user: string; folders: MailboxRecord[]}[]
}

/** what a delivery's scripts did, for the events published after the commit */
export type SieveRun = Pick<SievePlan, 'reports' | 'foldersBefore'>

export interface SieveMessage {
  /** the message as received (our Received on top, no Return-Path) */
  raw: Buffer
  mailFrom: string
  rcptTo: string[]
  local: string[]
}

/** something that injects a local message (../mailstore/submit.ts injectMessage), durably, DKIM-signed */
export type Inject = (from: string, to: string, raw: Buffer) => Promise<unknown>

export class SieveDelivery {
  private readonly cache = new ScriptCache()

  constructor(private readonly options: SieveDeliveryOptions) {}

  get enabled(): boolean {
    return this.options.config.enabled
  }

  get hostname(): string {
    return this.options.hostname
  }

  get srs(): SrsConfig | undefined {
    return this.options.srs
  }

  /** a user's script changed: its parse is dropped */
  forget(user: string): void {
    this.cache.forget(user)
  }

  async plan(store: MailboxStore, message: SieveMessage, hop = 0, nested = {left: MAX_NESTED_REDIRECTS}): Promise<SievePlan> {
    const plan: SievePlan = {placements: {}, also: [], rejected: [], vacations: [], reports: [], foldersBefore: []}
    for (const user of new Set(message.local)) {
      const active = await this.cache.active(store.sieve, user)
      if (!active) continue
      const log = this.options.log.child({user, script: active.name})
      if (!active.parsed.ok) {
        // stored before a change of the language's limits, or by hand: kept, as a failed run would be
        log.warn({errors: active.parsed.errors.map((e) => `line ${e.line}: ${e.message}`)}, 'sieve script does not parse: kept in INBOX')
        plan.reports.push({user, script: active.name, actions: ['implicit-keep'], errors: ['parse'], steps: 0, ms: 0})
        continue
      }
      const list = await store.mail.folders(user)
      const folders = new Set(list.filter((f) => !f.noselect).map((f) => f.name))
      const {outcome, ms} = this.run(active.parsed.script, user, message, folders)
      if (outcome.errors.length) log.warn({errors: outcome.errors, steps: outcome.steps}, 'sieve script failed: kept in INBOX')
      const actions = actionsOf(outcome)
      for (const p of actions.placements) {
        const name = placementName(p.folder)
        if (!p.create && (name === undefined || !folders.has(name))) log.info({folder: p.folder.slice(0, 200)}, 'sieve fileinto: no such folder, kept in INBOX')
      }
      if (actions.placements.some((p) => p.create && !folders.has(placementName(p.folder) ?? ''))) plan.foldersBefore.push({user, folders: list})
      for (const address of actions.redirects) {
        if (!(await this.redirect(store, user, address, message, {hop, nested}, plan, log))) keepToo(actions.placements)
      }
      if (actions.reject) plan.rejected.push({user, reason: actions.reject.reason, sender: message.mailFrom, hop})
      if (actions.vacation) plan.vacations.push({user, action: actions.vacation})
      plan.placements[user] = actions.placements
      const report = {user, script: active.name, actions: actions.summary, steps: outcome.steps, ms, ...(outcome.errors.length ? {errors: outcome.errors} : {})}
      plan.reports.push(report)
      log.info({actions: report.actions, steps: report.steps, ms}, 'sieve')
    }
    return plan
  }

  /** one run of `user`'s script on the message (synchronous: bounded by the config's limits), and its milliseconds */
  private run(script: Script, user: string, message: SieveMessage, folders: Set<string>): {outcome: SieveOutcome; ms: number} {
    const started = performance.now()
    const outcome = runSieve(
      script,
      {
        envelope: {from: message.mailFrom, to: recipientOf(user, message.rcptTo)},
        message: message.raw,
        user,
        now: new Date(),
        mailboxExists: (name) => folders.has(placementName(name) ?? ''),
      },
      runLimits(this.options.config),
    )
    return {outcome, ms: Math.round((performance.now() - started) * 1000) / 1000}
  }

  /**
   * Forwards `user`'s copy to `address`, or says why not (false: the caller keeps the message).
   * The copy gets `Delivered-To: user` on top; a message that already has it went through this
   * user's redirect before (a loop). Remote targets get it with the sender rewritten by SRS (in
   * the user's domain) unless the sender is local or null; local ones through their own scripts.
   */
  private async redirect(store: MailboxStore, user: string, address: string, message: SieveMessage, {hop, nested}: {hop: number; nested: {left: number}}, plan: SievePlan, log: Logger): Promise<boolean> {
    if (deliveredTo(message.raw).has(user)) {
      log.info({to: address}, 'sieve redirect: the message was delivered to this user before (a loop), kept instead')
      return false
    }
    if (hop >= MAX_HOPS) {
      log.info({to: address, hop}, 'sieve redirect: too many hops, kept instead')
      return false
    }
    if (hop > 0 && nested.left <= 0) {
      log.info({to: address, hop}, 'sieve redirect: the message was redirected too often already, kept instead')
      return false
    }
    let target: string
    let resolved: {local: string[]; remote: string[]}
    let sender: string | undefined
    try {
      target = normalizeAddress(address)
      resolved = await resolveForDelivery(store, {address: target, srs: this.options.srs})
      // a sender SRS cannot rewrite (not an address) would otherwise fail the whole delivery
      if (resolved.remote.length) sender = await this.forwardSender(store, message.mailFrom, user)
    } catch (err) {
      if (!isMailboxError(err)) throw err
      log.warn({to: address, reason: err.message}, 'sieve redirect refused: kept instead')
      return false
    }
    if (hop > 0) nested.left--
    const raw = Buffer.concat([Buffer.from(`Delivered-To: ${user}\r\n`), message.raw])
    if (sender !== undefined) {
      plan.also.push({localRaw: raw, analysis: analyzeMessage(raw), mailFrom: sender, rcptTo: [target], local: [], remote: resolved.remote})
    }
    if (resolved.local.length) {
      const inner = await this.plan(store, {raw, mailFrom: message.mailFrom, rcptTo: [target], local: resolved.local}, hop + 1, nested)
      const localRaw = Buffer.concat([Buffer.from(`Return-Path: <${message.mailFrom}>\r\n`), raw])
      plan.also.push({localRaw, analysis: analyzeMessage(localRaw), mailFrom: message.mailFrom, rcptTo: [target], local: resolved.local, remote: [], placements: inner.placements}, ...inner.also)
      plan.rejected.push(...inner.rejected)
      plan.vacations.push(...inner.vacations)
      plan.reports.push(...inner.reports)
      plan.foldersBefore.push(...inner.foldersBefore)
    }
    log.info({to: target, local: resolved.local.length, remote: resolved.remote.length}, 'sieve redirect')
    return true
  }

  /**
   * the envelope sender of a forward to a remote address: SRS0 (or SRS1) in the forwarding
   * user's domain, unless the sender is null or local, or `srs.enabled` is off
   */
  private async forwardSender(store: MailboxStore, sender: string, user: string): Promise<string> {
    if (sender === '' || this.options.srs?.enabled === false || (await store.directory.isLocalDomain(domainOf(sender)))) return sender
    return srsForward(sender, domainOf(user), await srsSecret(store))
  }

  /**
   * After the delivery commit: the vacation replies (at most one per sender and period, claimed
   * durably) and the refusal notices a reject could not give at SMTP time. Best effort: a
   * failure is logged, the delivery stands.
   */
  async afterCommit(store: MailboxStore, plan: SievePlan, original: Buffer, inject: Inject): Promise<void> {
    const now = Date.now()
    for (const r of plan.rejected) {
      if (r.sender === '') continue // a bounce is never answered
      const notice = rejectionNotice({hostname: this.options.hostname, sender: r.sender, user: r.user, reason: r.reason, original, arrivedAt: now})
      await this.send(inject, '', r.sender, notice, {user: r.user, kind: 'reject notice'})
    }
    for (const {user, action} of plan.vacations) {
      // the message is committed: a failure here must not become an SMTP error (the client would send it again)
      try {
        await this.vacation(store, user, action, now, inject)
      } catch (err) {
        this.options.log.warn({user, to: action.to, err}, 'sieve vacation: no reply, it failed')
      }
    }
  }

  private async vacation(store: MailboxStore, user: string, action: VacationAction, now: number, inject: Inject): Promise<void> {
    const log = this.options.log.child({user})
    if (action.suppressed) return log.info({to: action.to, reason: action.suppressed}, 'sieve vacation: no reply')
    if (!(await store.sieve.claimVacationReply(user, action.hash, now, action.periodSeconds * 1000))) {
      return log.info({to: action.to}, 'sieve vacation: replied within the period already')
    }
    const from = await this.vacationFrom(store, user, action)
    await this.send(inject, '', action.to, vacationReply({action, from, hostname: this.options.hostname, now}), {user, kind: 'vacation reply'})
  }

  private async send(inject: Inject, from: string, to: string, raw: Buffer, what: {user: string; kind: string}): Promise<void> {
    try {
      await inject(from, to, raw)
      this.options.log.info({...what, to}, 'sieve: sent')
    } catch (err) {
      this.options.log.warn({...what, to, err: isMailboxError(err) ? err.message : err}, 'sieve: could not be sent')
    }
  }

  /** `:from` when it is one of the user's addresses (their own, or an alias that delivers only to them), else the user's address */
  private async vacationFrom(store: MailboxStore, user: string, action: VacationAction): Promise<string> {
    if (action.from === undefined) return user
    const field = action.from.replace(/[\r\n]+/g, ' ').slice(0, 500)
    const parsed = parseAddressList(field).find((a) => a.mailbox !== undefined && a.host)
    try {
      const address = parsed ? normalizeAddress(`${parsed.mailbox}@${parsed.host}`) : ''
      if (address === user) return field
      const resolution = address ? await store.directory.resolve(address) : undefined
      if (resolution && resolution.remote.length === 0 && resolution.local.length === 1 && resolution.local[0] === user) return field
    } catch (err) {
      if (!isMailboxError(err)) throw err
    }
    this.options.log.info({user, from: field}, 'sieve vacation: :from is not one of the user\'s addresses, the user\'s address is used')
    return user
  }
}

/** the envelope recipient that reached `user`: their own address (or with a +detail), else the only one, else the user */
function recipientOf(user: string, rcptTo: string[]): string {
  const [local, domain] = [user.slice(0, user.lastIndexOf('@')), domainOf(user)]
  const own = rcptTo.find((r) => {
    const lower = r.toLowerCase()
    return lower === user || (domainOf(lower) === domain && lower.slice(0, lower.lastIndexOf('@')).split('+')[0] === local)
  })
  return own ?? (rcptTo.length === 1 ? rcptTo[0]! : user)
}

/** the addresses in the message's Delivered-To fields (lower case) */
export function deliveredTo(raw: Buffer): Set<string> {
  // UTF-8: the field we write names the user as stored (an SMTPUTF8 address stays UTF-8)
  const head = raw.subarray(0, headerEnd(raw, 0, Math.min(raw.length, 256 * 1024))).toString('utf8')
  const out = new Set<string>()
  for (const field of parseHeader(head)) if (field.key === 'delivered-to') out.add(field.value.trim().replace(/^<|>$/g, '').toLowerCase())
  return out
}

/** a copy in INBOX, unless there is one already */
function keepToo(placements: Placement[]): void {
  if (!placements.some((p) => p.folder === INBOX)) placements.push({folder: INBOX, flags: []})
}
