/**
 * Runs a validated script against one message for one recipient and returns what to do with
 * it: a list of actions, never side effects (delivery, redirects and vacation replies are the
 * caller's). Implicit keep follows RFC 5228 §2.10.2; a runtime error or a limit hit throws the
 * actions away and keeps the message (§2.10.6), with the reason in `errors`.
 */
import type {Hash} from 'node:crypto'
import {lazyRequire} from '../lazy-require.js'
import type {Argument} from './parser.js'
import {Budget, sieveLimits, SieveRuntimeError, type SieveLimits} from './limits.js'
import {matchOne, compareValues, relationHolds, type MatchType} from './match.js'
import {addressPart, splitAddress, SieveMessage, type AddressParts} from './message.js'
import {datePart, localOffset, parseDateHeader, parseZone, type ZonedTime} from './dates.js'
import {stringsOf, type Node, type Script} from './validate.js'

export interface SieveInput {
  envelope: {
    /** the envelope sender (MAIL FROM); "" for the null reverse-path */
    from: string
    /** the recipient being delivered */
    to: string
  }
  message: Buffer
  /** the account the script belongs to */
  user: string
  now: Date
  /** for the mailboxexists test (RFC 5490 §3.1); without it no mailbox exists */
  mailboxExists?: (name: string) => boolean
}

export type SieveAction =
  | {type: 'keep'; flags: string[]; /** the implicit keep (no action cancelled it, or the script failed) */ implicit: boolean}
  | {type: 'fileinto'; mailbox: string; flags: string[]; create: boolean; copy: boolean}
  | {type: 'redirect'; address: string; copy: boolean}
  | {type: 'reject'; reason: string; ereject: boolean}
  | {type: 'discard'}
  | VacationAction

/** everything RFC 5230 needs to decide on and build the reply */
export interface VacationAction {
  type: 'vacation'
  /** who the reply goes to: the envelope sender */
  to: string
  /** the reply's Subject: :subject, or "Auto: " and the original subject */
  subject: string
  /** :from, when given (the caller must check it is one of the user's addresses) */
  from?: string
  /** the user's addresses: the recipient, the account (when it is an address) and :addresses */
  addresses: string[]
  /** the reason is a MIME entity (headers and body), not plain text */
  mime: boolean
  reason: string
  /** :handle, or one derived from the reason, subject, from and :mime (RFC 5230 §4.2) */
  handle: string
  /** minimum time between two replies to one sender, from :days (default 7) or :seconds */
  periodSeconds: number
  /** sha256 of the handle and the lowercased sender: the key of "already replied" records */
  hash: string
  /** the original's Message-ID and References, for In-Reply-To and References */
  inReplyTo?: string
  references?: string
  /** why no reply may be sent (RFC 5230 §4.5, RFC 3834): null sender, list, bulk, auto-submitted, not addressed to the user… */
  suppressed?: string
}

export interface SieveOutcome {
  actions: SieveAction[]
  /** runtime errors and limits hit; when not empty the outcome is the implicit keep */
  errors: string[]
  /** steps the run took (commands, tests and comparisons) */
  steps: number
}

/** what ends a run early without error */
class Stop {}

const DEFAULT_DAYS = 7
const MAX_PERIOD_SECONDS = 365 * 86400
const VARIABLE_REF = /\$\{([^{}]*)\}/g
const VARIABLE_NAME = /^(?:[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*|[0-9]+)$/i
const MAILBOX_LIKE = /^[^\s@<>()]+@[^\s@<>()]+$/

export function runScript(script: Script, input: SieveInput, overrides?: Partial<SieveLimits>): SieveOutcome {
  const limits = sieveLimits(overrides)
  const run = new Run(script, input, limits)
  try {
    try {
      run.block(script.commands)
    } catch (err) {
      if (!(err instanceof Stop)) throw err
    }
    return {actions: run.finish(), errors: [], steps: run.budget.steps}
  } catch (err) {
    // whatever went wrong, the message is kept (RFC 5228 §2.10.6); a bug of ours says so in the log
    const message = err instanceof SieveRuntimeError ? err.message : `internal error: ${(err as Error)?.message ?? String(err)}`
    return {actions: [{type: 'keep', flags: [], implicit: true}], errors: [message], steps: run.budget.steps}
  }
}

class Run {
  readonly budget: Budget
  private readonly message: SieveMessage
  private readonly variables = new Map<string, string>()
  private matchVars: string[] = []
  private flags: string[] = []
  private actions: SieveAction[] = []
  private implicitKeep = true
  private readonly useVariables: boolean

  constructor(
    private readonly script: Script,
    private readonly input: SieveInput,
    private readonly limits: SieveLimits,
  ) {
    this.budget = new Budget(limits)
    this.message = new SieveMessage(input.message, limits)
    this.useVariables = script.requires.has('variables')
  }

  block(commands: Node[]): void {
    for (const c of commands) this.command(c)
  }

  // ---- strings and variables (RFC 5229)

  private expand(s: string): string {
    if (!this.useVariables || !s.includes('${')) return s
    const out = s.replace(VARIABLE_REF, (whole, name: string) => {
      if (!VARIABLE_NAME.test(name)) return whole
      if (/^[0-9]+$/.test(name)) return this.matchVars[Number(name)] ?? ''
      if (name.includes('.')) return whole // no namespaces are supported: left as written
      return this.variables.get(name.toLowerCase()) ?? ''
    })
    this.budget.charge(out.length)
    return out
  }

  private str(arg: Argument | undefined): string {
    return arg?.kind === 'string' ? this.expand(arg.value) : ''
  }

  private list(arg: Argument | undefined): string[] {
    return arg ? stringsOf(arg).map((s) => this.expand(s)) : []
  }

  private tagStr(node: Node, tag: string): string | undefined {
    const a = node.tags.get(tag)
    return a ? this.str(a) : undefined
  }

  private setVariable(name: string, value: string): void {
    const key = name.toLowerCase()
    if (!this.variables.has(key) && this.variables.size >= this.limits.maxVariables) {
      throw new SieveRuntimeError(`more than ${this.limits.maxVariables} variables`)
    }
    this.variables.set(key, truncateUtf8(value, this.limits.maxVariableBytes))
  }

  // ---- commands

  private command(c: Node): void {
    this.budget.step()
    switch (c.name) {
      case 'if': {
        for (const branch of [c, ...(c.branches ?? [])]) {
          if (branch.name === 'else' || this.test(branch.tests[0]!)) {
            this.block(branch.block ?? [])
            return
          }
        }
        return
      }
      case 'stop':
        throw new Stop()
      case 'keep':
        this.implicitKeep = false
        return this.add({type: 'keep', flags: this.flagsFor(c), implicit: false})
      case 'discard':
        this.implicitKeep = false
        return this.add({type: 'discard'})
      case 'fileinto': {
        const copy = c.tags.has('copy')
        if (!copy) this.implicitKeep = false
        const mailbox = this.str(c.args[0])
        if (!mailbox) throw new SieveRuntimeError(`line ${c.line}: fileinto needs a mailbox name`)
        return this.add({type: 'fileinto', mailbox, flags: this.flagsFor(c), create: c.tags.has('create'), copy})
      }
      case 'redirect': {
        const copy = c.tags.has('copy')
        const address = this.str(c.args[0]).trim()
        if (!MAILBOX_LIKE.test(address)) throw new SieveRuntimeError(`line ${c.line}: redirect to an invalid address "${address}"`)
        if (!copy) this.implicitKeep = false
        if (this.actions.some((a) => a.type === 'redirect' && a.address.toLowerCase() === address.toLowerCase())) return
        if (this.actions.filter((a) => a.type === 'redirect').length >= this.limits.maxRedirects) {
          throw new SieveRuntimeError(`line ${c.line}: more than ${this.limits.maxRedirects} redirects`)
        }
        return this.add({type: 'redirect', address, copy})
      }
      case 'reject':
      case 'ereject':
        if (this.actions.some((a) => a.type === 'reject')) throw new SieveRuntimeError(`line ${c.line}: the message is already rejected`)
        this.implicitKeep = false
        return this.add({type: 'reject', reason: this.str(c.args[0]), ereject: c.name === 'ereject'})
      case 'vacation':
        if (this.actions.some((a) => a.type === 'vacation')) throw new SieveRuntimeError(`line ${c.line}: vacation used twice`)
        return this.add(this.vacation(c))
      case 'set':
        return this.setVariable(c.args[0]!.kind === 'string' ? c.args[0].value : '', applyModifiers(this.str(c.args[1]), c.tags))
      case 'setflag':
      case 'addflag':
      case 'removeflag':
        return this.flagCommand(c)
    }
  }

  private add(action: SieveAction): void {
    if (action.type === 'fileinto' || action.type === 'keep') {
      // keep is filing into INBOX (whose name is case-insensitive, RFC 3501 §5.1)
      const target = (a: SieveAction) => (a.type === 'keep' ? 'INBOX' : a.type === 'fileinto' ? (a.mailbox.toUpperCase() === 'INBOX' ? 'INBOX' : a.mailbox) : undefined)
      const same = this.actions.find((a) => target(a) === target(action))
      // RFC 5228 §4.1: filing into one mailbox twice stores the message once (with the flags of both)
      if (same && (same.type === 'keep' || same.type === 'fileinto')) {
        same.flags = unionFlags(same.flags, action.flags)
        if (same.type === 'fileinto' && action.type === 'fileinto') {
          same.create ||= action.create
          same.copy &&= action.copy
        }
        return
      }
    }
    if (this.actions.length >= this.limits.maxActions) throw new SieveRuntimeError(`more than ${this.limits.maxActions} actions`)
    this.actions.push(action)
  }

  /** :flags, or the internal variable (RFC 5232 §5) */
  private flagsFor(c: Node): string[] {
    if (!this.script.requires.has('imap4flags')) return []
    const given = c.tags.get('flags')
    return given ? parseFlags(this.list(given)) : [...this.flags]
  }

  private flagCommand(c: Node): void {
    const named = c.args.length === 2
    const current = named ? parseFlags([this.variables.get(this.str(c.args[0]).toLowerCase()) ?? '']) : this.flags
    const given = parseFlags(this.list(c.args[named ? 1 : 0]))
    let next: string[]
    if (c.name === 'setflag') next = given
    else if (c.name === 'addflag') next = unionFlags(current, given)
    else next = current.filter((f) => !given.some((g) => g.toLowerCase() === f.toLowerCase()))
    if (named) this.setVariable(c.args[0]!.kind === 'string' ? c.args[0].value : '', next.join(' '))
    else this.flags = next
  }

  finish(): SieveAction[] {
    const reject = this.actions.find((a) => a.type === 'reject')
    if (reject) {
      // RFC 5429 §2.1: a rejected message is not also delivered, forwarded or answered
      const other = this.actions.find((a) => a.type === 'keep' || a.type === 'fileinto' || a.type === 'redirect' || a.type === 'vacation')
      if (other) throw new SieveRuntimeError(`reject cannot be combined with ${other.type}`)
    }
    if (this.implicitKeep) this.add({type: 'keep', flags: [...this.flags], implicit: true})
    return this.actions
  }

  // ---- tests

  private test(t: Node): boolean {
    this.budget.step()
    switch (t.name) {
      case 'true':
        return true
      case 'false':
        return false
      case 'not':
        return !this.test(t.tests[0]!)
      case 'allof':
        return t.tests.every((x) => this.test(x))
      case 'anyof':
        return t.tests.some((x) => this.test(x))
      case 'exists':
        return this.list(t.args[0]).every((h) => this.message.rawValues(h).length > 0)
      case 'size': {
        const limit = t.args[0]?.kind === 'number' ? t.args[0].value : 0
        return t.tags.has('over') ? this.message.size > limit : this.message.size < limit
      }
      case 'header':
        return this.match(t, this.list(t.args[0]).flatMap((h) => this.message.values(h)), this.list(t.args[1]))
      case 'address': {
        const part = addressPartOf(t)
        const values = this.list(t.args[0]).flatMap((h) => this.message.addresses(h).map((a) => addressPart(a, part)))
        return this.match(t, defined(values), this.list(t.args[1]))
      }
      case 'envelope': {
        const part = addressPartOf(t)
        const values = this.list(t.args[0]).map((which) => addressPart(this.envelopeAddress(which), part))
        return this.match(t, defined(values), this.list(t.args[1]))
      }
      case 'body': {
        const transform = t.tags.has('raw') ? 'raw' : t.tags.has('content') ? 'content' : 'text'
        return this.match(t, this.message.body(transform, this.list(t.tags.get('content'))), this.list(t.args[0]))
      }
      case 'string':
        return this.match(t, this.list(t.args[0]), this.list(t.args[1]), true)
      case 'hasflag': {
        const named = t.args.length === 2
        const flags = named ? parseFlags(this.list(t.args[0]).map((v) => this.variables.get(v.toLowerCase()) ?? '')) : this.flags
        return this.match(t, flags, this.list(t.args[named ? 1 : 0]))
      }
      case 'date':
      case 'currentdate':
        return this.dateTest(t)
      case 'mailboxexists':
        return this.list(t.args[0]).every((name) => this.input.mailboxExists?.(name) ?? false)
      default:
        return false
    }
  }

  private envelopeAddress(which: string): AddressParts {
    const value = which.toLowerCase() === 'from' ? this.input.envelope.from : this.input.envelope.to
    // the null reverse-path is "" in every part (RFC 5228 §5.4)
    return value ? splitAddress(value) : {all: '', localpart: '', domain: ''}
  }

  private dateTest(t: Node): boolean {
    const current = t.name === 'currentdate'
    let at: ZonedTime | undefined
    if (current) {
      const time = this.input.now.getTime()
      at = {time, offset: localOffset(time)}
    } else {
      const value = this.message.rawValues(this.str(t.args[0]))[0]
      at = value === undefined ? undefined : parseDateHeader(value)
      if (!at) return false
    }
    const zone = this.tagStr(t, 'zone')
    if (zone !== undefined) {
      const offset = parseZone(zone)
      if (offset === undefined) throw new SieveRuntimeError(`line ${t.line}: invalid time zone "${zone}"`)
      at = {time: at.time, offset}
    } else if (!current && !t.tags.has('originalzone')) at = {time: at.time, offset: localOffset(at.time)}
    const part = datePart(at, this.str(t.args[current ? 0 : 1]))
    if (part === undefined) throw new SieveRuntimeError(`line ${t.line}: unknown date part`)
    return this.match(t, [part], this.list(t.args[current ? 1 : 2]))
  }

  /** any value against any key, under the test's comparator and match type */
  private match(t: Node, values: string[], keys: string[], skipEmptyInCount = false): boolean {
    const comparatorArg = t.tags.get('comparator')
    const comparator = comparatorArg?.kind === 'string' ? comparatorArg.value.toLowerCase() : 'i;ascii-casemap'
    const type = matchTypeOf(t)
    if (type.kind === 'count') {
      const count = String(skipEmptyInCount ? values.filter((v) => v !== '').length : values.length)
      return keys.some((k) => relationHolds(compareValues(count, k, comparator), type.relation))
    }
    for (const value of values) {
      for (const key of keys) {
        const result = matchOne(value, key, type, comparator, this.budget, this.limits)
        if (result.matched) {
          if (this.useVariables && result.captures) this.matchVars = result.captures.slice(0, 10)
          return true
        }
      }
    }
    return false
  }

  // ---- vacation (RFC 5230)

  private vacation(c: Node): VacationAction {
    const reason = this.str(c.args[0])
    const subjectTag = this.tagStr(c, 'subject')
    const from = this.tagStr(c, 'from')
    const mime = c.tags.has('mime')
    // the account's own address counts too: mail may arrive through an alias (RFC 5230 §4.5)
    const own = this.input.user.includes('@') ? [this.input.user] : []
    const addresses = [this.input.envelope.to, ...own, ...this.list(c.tags.get('addresses'))].filter((a, i, all) => a && all.findIndex((b) => b.toLowerCase() === a.toLowerCase()) === i)
    const handle = this.tagStr(c, 'handle') ?? sha256(['vacation', reason, subjectTag ?? '', from ?? '', mime ? 'mime' : ''].join('\0'))
    const days = c.tags.get('days')
    const seconds = c.tags.get('seconds')
    const periodSeconds =
      seconds?.kind === 'number'
        ? Math.min(seconds.value, MAX_PERIOD_SECONDS)
        : Math.min(Math.max(days?.kind === 'number' ? days.value : DEFAULT_DAYS, 1) * 86400, MAX_PERIOD_SECONDS)
    const sender = this.input.envelope.from
    const originalSubject = this.message.values('subject')[0] ?? ''
    const messageId = this.message.rawValues('message-id')[0]
    const references = this.message.rawValues('references')[0]
    const action: VacationAction = {
      type: 'vacation',
      to: sender,
      subject: subjectTag ?? `Auto: ${originalSubject}`.trim(),
      ...(from !== undefined ? {from} : {}),
      addresses,
      mime,
      reason,
      handle,
      periodSeconds,
      hash: sha256(handle + '\0' + sender.toLowerCase()),
      ...(messageId ? {inReplyTo: messageId, references: [references, messageId].filter(Boolean).join(' ')} : {}),
    }
    const suppressed = this.vacationSuppressed(addresses)
    if (suppressed) action.suppressed = suppressed
    return action
  }

  private vacationSuppressed(addresses: string[]): string | undefined {
    const sender = this.input.envelope.from
    if (!sender) return 'the sender is null (a bounce)'
    const local = splitAddress(sender).localpart.toLowerCase()
    if (/^(owner-.*|.*-request|mailer-daemon|listserv|majordomo|postmaster|.*-bounces?(\+.*)?|no-?reply)$/.test(local)) return `the sender ${sender} is a list or a daemon`
    const auto = this.message.rawValues('auto-submitted')[0]
    if (auto && auto.trim().toLowerCase().split(/[\s;(]/)[0] !== 'no') return 'the message is auto-submitted'
    if (['list-id', 'list-post', 'list-unsubscribe', 'list-help', 'list-subscribe', 'list-owner'].some((h) => this.message.rawValues(h).length)) return 'the message came from a mailing list'
    const precedence = this.message.rawValues('precedence')[0]?.trim().toLowerCase()
    if (precedence && ['bulk', 'list', 'junk'].includes(precedence)) return `the message has Precedence: ${precedence}`
    const mine = new Set(addresses.map((a) => stripDetail(a.toLowerCase())))
    if (mine.has(stripDetail(sender.toLowerCase()))) return 'the message is from the user'
    const recipients = ['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc'].flatMap((h) => this.message.addresses(h).map((a) => stripDetail(a.all.toLowerCase())))
    if (!recipients.some((r) => mine.has(r))) return 'the user is not in To, Cc or Bcc'
    return undefined
  }
}

const stripDetail = (address: string) => {
  const {localpart, domain} = splitAddress(address)
  const plus = localpart.indexOf('+')
  return (plus === -1 ? localpart : localpart.slice(0, plus)) + '@' + domain
}

let crypto: {createHash(algorithm: string): Hash} | undefined
function sha256(text: string): string {
  crypto ??= lazyRequire<typeof import('node:crypto')>('node:crypto')
  return crypto.createHash('sha256').update(text).digest('hex')
}

const defined = (values: (string | undefined)[]): string[] => values.filter((v): v is string => v !== undefined)

function addressPartOf(t: Node): string {
  for (const p of ['localpart', 'domain', 'user', 'detail']) if (t.tags.has(p)) return p
  return 'all'
}

function matchTypeOf(t: Node): MatchType {
  for (const kind of ['count', 'value'] as const) {
    const r = t.tags.get(kind)
    if (r?.kind === 'string') return {kind, relation: r.value.toLowerCase()}
  }
  for (const kind of ['contains', 'matches', 'regex'] as const) if (t.tags.has(kind)) return {kind}
  return {kind: 'is'}
}

/** flag lists are space-separated within each string (RFC 5232 §3); duplicates dropped, case-insensitively */
function parseFlags(strings: string[]): string[] {
  return unionFlags([], strings.flatMap((s) => s.split(/\s+/).filter(Boolean)))
}

function unionFlags(a: string[], b: string[]): string[] {
  const out = [...a]
  for (const f of b) if (!out.some((x) => x.toLowerCase() === f.toLowerCase())) out.push(f)
  return out
}

/** RFC 5229 §4: modifiers apply by precedence, :length last */
function applyModifiers(value: string, tags: Map<string, unknown>): string {
  let v = value
  if (tags.has('lower')) v = v.toLowerCase()
  if (tags.has('upper')) v = v.toUpperCase()
  if (tags.has('lowerfirst')) v = v.charAt(0).toLowerCase() + v.slice(1)
  if (tags.has('upperfirst')) v = v.charAt(0).toUpperCase() + v.slice(1)
  if (tags.has('quotewildcard')) v = v.replace(/[*?\\]/g, '\\$&')
  if (tags.has('quoteregex')) v = v.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')
  if (tags.has('length')) v = String(Array.from(v).length)
  return v
}

function truncateUtf8(value: string, maxBytes: number): string {
  if (value.length * 3 <= maxBytes || Buffer.byteLength(value) <= maxBytes) return value
  // cut on a character boundary (RFC 5229 §3: truncation must not split a character)
  const bytes = Buffer.from(value).subarray(0, maxBytes)
  return new TextDecoder().decode(bytes).replace(/\uFFFD$/, '')
}
