/**
 * Capture-mode fault injection: `mailbox capture rule add --to PATTERN --reply "451 4.3.0 …"`.
 * In capture mode a recipient matching a rule gets the rule's reply instead of acceptance, at
 * RCPT or after DATA, for the next N messages (`--times`) or always. Rules live in the store
 * (`store.capture`, ../store/backend.ts) and are read on every check, so changes reach a running
 * server at once. This module holds the rules about rules, shared by every backend: what a valid
 * one is, and which one a recipient matches.
 */
import {MailboxError} from '../errors.js'
import {newId} from '../ids.js'
import type {NewCaptureRule} from '../store/backend.js'
import type {CaptureRuleRecord} from '../store/records.js'
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

/** A new rule checked (pattern within the pattern limits, reply, count) and made a record. */
export function captureRuleRecord(input: NewCaptureRule): CaptureRuleRecord {
  compilePattern(input.to)
  parseReply(input.reply)
  if (input.remaining !== undefined && (!Number.isInteger(input.remaining) || input.remaining < 1)) throw new MailboxError('invalid', '--times must be a positive whole number')
  const stage = input.stage ?? 'rcpt'
  if (stage !== 'rcpt' && stage !== 'data') throw new MailboxError('invalid', '--stage must be rcpt or data')
  return {
    id: newId(),
    to: input.to,
    reply: input.reply.trim(),
    stage,
    ...(input.remaining !== undefined ? {remaining: input.remaining} : {}),
    createdAt: Date.now(),
  }
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

/** The first of `rules` (give them oldest first) of `stage` matching any of `recipients`. */
export function firstMatch(rules: Iterable<CaptureRuleRecord>, stage: 'rcpt' | 'data', recipients: string[]): CaptureRuleRecord | undefined {
  for (const rule of rules) {
    if (rule.stage !== stage) continue
    const matches = compiledRule(rule.to)
    if (matches && recipients.some(matches)) return rule
  }
  return undefined
}
