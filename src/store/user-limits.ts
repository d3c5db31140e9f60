/**
 * A user's two limits, RFC 9208's STORAGE and MESSAGE resources: `quota` bytes and `maxMessages`
 * messages, over all their folders together; 0 (or an absent `maxMessages`) is unlimited. One
 * check serves APPEND and COPY (inside the store's transaction, on both backends) and SMTP's RCPT
 * (../mailstore/submit.ts), so a full mailbox is refused the same way whichever limit it reached.
 */
import {MailboxError} from '../errors.js'
import type {UserRecord} from './records.js'

export type UserLimits = Pick<UserRecord, 'quota' | 'maxMessages'>

/** what a user's folders hold, or what an operation adds to them */
export interface Amount {
  messages: number
  size: number
}

export const hasLimits = (limits: UserLimits): boolean => !!limits.quota || !!limits.maxMessages

/**
 * The one form both backends keep a user record in: `maxMessages` absent when unlimited (0), so
 * records compare equal across backends and a `store copy` round-trips them exactly.
 */
export function withLimits<T extends {maxMessages?: number}>(record: T): T {
  if (record.maxMessages) return record
  const {maxMessages: _, ...rest} = record
  return rest as T
}

/** which limit `adding` to `usage` would pass, if any */
export function limitPassed(limits: UserLimits, usage: Amount, adding: Amount): 'storage' | 'messages' | undefined {
  if (limits.quota && usage.size + adding.size > limits.quota) return 'storage'
  if (limits.maxMessages && usage.messages + adding.messages > limits.maxMessages) return 'messages'
  return undefined
}

/** throws `quota` when `adding` to `usage` passes one of the user's limits */
export function checkLimits(user: string, limits: UserLimits, usage: Amount, adding: Amount): void {
  const passed = limitPassed(limits, usage, adding)
  if (passed) throw new MailboxError('quota', `mailbox ${user} is over its quota${passed === 'messages' ? ` (at most ${limits.maxMessages} messages)` : ''}`)
}
