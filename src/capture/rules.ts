/**
 * Capture-mode fault injection: `mailbox capture rule add --to PATTERN --reply "451 4.3.0 …"`.
 * In capture mode a recipient matching a rule gets the rule's reply instead of acceptance, at
 * RCPT or after DATA, for the next N messages (`--times`) or always. Rules live in the store and
 * are read on every check, so changes reach a running server at once.
 */
import {MailboxError} from '../errors.js'
import {newId} from '../ids.js'
import type {CaptureRuleRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {compilePattern, type Pattern} from '../pattern.js'

export interface RuleReply {
  code: number
  /** the text after the code, enhanced status code included */
  text: string
}

/** `451 4.3.0 try again later` → {code: 451, text: '4.3.0 try again later'}; only 4xx and 5xx */
export function parseReply(reply: string): RuleReply {
  const m = /^([45]\d\d)(?:[ -](.*))?$/.exec(reply.trim())
  if (!m) throw new MailboxError('invalid', `a reply must start with a 4xx or 5xx code, e.g. "451 4.3.0 try again later"`)
  if (/[\r\n]/.test(reply)) throw new MailboxError('invalid', 'a reply must be one line')
  return {code: Number(m[1]), text: m[2]?.trim() || 'Rejected by capture rule'}
}

export function addRule(store: Store, input: {to: string; reply: string; stage?: 'rcpt' | 'data'; times?: number}): CaptureRuleRecord {
  compilePattern(input.to)
  parseReply(input.reply)
  if (input.times !== undefined && (!Number.isInteger(input.times) || input.times < 1)) throw new MailboxError('invalid', '--times must be a positive whole number')
  const rule: CaptureRuleRecord = {
    id: newId(),
    to: input.to,
    reply: input.reply.trim(),
    stage: input.stage ?? 'rcpt',
    ...(input.times !== undefined ? {remaining: input.times} : {}),
    createdAt: Date.now(),
  }
  store.transact(() => store.captureRules.putSync(rule.id, rule))
  return rule
}

export function listRules(store: Store): CaptureRuleRecord[] {
  return [...store.captureRules.getRange().map(({value}) => value)]
}

export function removeRule(store: Store, id: string): CaptureRuleRecord {
  return store.transact(() => {
    const rule = store.captureRules.get(id)
    if (!rule) throw new MailboxError('not-found', `no capture rule ${id}`)
    store.captureRules.removeSync(id)
    return rule
  })
}

export function clearRules(store: Store): number {
  return store.transact(() => {
    const ids = [...store.captureRules.getKeys()]
    for (const id of ids) store.captureRules.removeSync(id)
    return ids.length
  })
}

/** compiled rule patterns by source: a check runs on every RCPT, compiling is the costly part */
const compiled = new Map<string, Pattern | undefined>()
const MAX_COMPILED = 256

function compiledRule(source: string): Pattern | undefined {
  if (compiled.has(source)) return compiled.get(source)
  if (compiled.size >= MAX_COMPILED) compiled.clear()
  let pattern: Pattern | undefined
  try {
    pattern = compilePattern(source)
  } catch {
    pattern = undefined // stored before a limit tightened: it matches nothing
  }
  compiled.set(source, pattern)
  return pattern
}

/** The first rule (oldest first) of `stage` matching any of `recipients`. */
function firstMatch(store: Store, stage: 'rcpt' | 'data', recipients: string[]): CaptureRuleRecord | undefined {
  for (const {value: rule} of store.captureRules.getRange()) {
    if (rule.stage !== stage) continue
    const matches = compiledRule(rule.to)
    if (matches && recipients.some(matches)) return rule
  }
  return undefined
}

/**
 * The first rule (oldest first) of `stage` matching any of `recipients`, consumed once: its
 * remaining count drops, and a rule that has fired its last time is removed. A rule without a
 * count is only read. A count is taken in an async commit (shared with the other writes of the
 * turn, its fsync off the event loop) that matches again inside the write transaction, so two
 * concurrent messages cannot both take the last firing.
 */
export async function takeFault(store: Store, stage: 'rcpt' | 'data', recipients: string[]): Promise<RuleReply | undefined> {
  if (store.captureRules.getKeysCount() === 0) return undefined // the common case: no rules, no write
  const seen = firstMatch(store, stage, recipients)
  if (!seen) return undefined
  if (seen.remaining === undefined) return parseReply(seen.reply)
  const taken = await store.transactAsync(() => {
    const rule = firstMatch(store, stage, recipients)
    if (rule?.remaining !== undefined) {
      if (rule.remaining <= 1) store.captureRules.removeSync(rule.id)
      else store.captureRules.putSync(rule.id, {...rule, remaining: rule.remaining - 1})
    }
    return rule
  })
  return taken && parseReply(taken.reply)
}
