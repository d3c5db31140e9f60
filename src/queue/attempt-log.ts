/**
 * The log line of one delivery attempt, with what an admin greps for (Postfix's smtp lines say
 * to=, relay=, delay=, dsn=, status= per recipient; here one line per attempt): the entry, its
 * recipients, the next hop as named and the address connected to, the reply (code and text),
 * the TLS the connection got, how long since the message was queued, and when it is tried next.
 */
import {describeTls} from '../delivery/outbound-tls.js'
import type {AttemptResult} from '../delivery/smtp-client.js'
import type {QueueEntry} from '../store/records.js'

/** `entry` as claimed for the attempt, `updated` as recorded after it, `now` when it ended */
export function attemptLogFields(entry: QueueEntry, result: AttemptResult, updated: QueueEntry, now: number): Record<string, unknown> {
  const tried = result.recipients
  // the reply that decided the entry's state: the first one not delivered, else the first
  const decisive = tried.find((r) => r.outcome !== 'delivered') ?? tried[0]
  const code = decisive && /^[2-5]\d\d\b/.test(decisive.reply) ? Number(decisive.reply.slice(0, 3)) : undefined
  const differing = new Set(tried.map((r) => r.reply)).size > 1
  return {
    id: entry.id,
    attempt: entry.attempts,
    state: updated.state,
    domain: entry.domain,
    from: entry.from,
    to: tried.map((r) => r.address),
    relay: result.host || 'none',
    ...(result.address ? {address: result.address} : {}),
    ...(code !== undefined ? {code} : {}),
    ...(decisive ? {reply: decisive.reply} : {}),
    // recipients answered differently: each one's reply
    ...(differing ? {replies: Object.fromEntries(tried.map((r) => [r.address, `${r.outcome}: ${r.reply}`]))} : {}),
    tls: result.tls ? describeTls(result.tls) : 'none',
    delayMs: now - entry.createdAt,
    ...(updated.state === 'deferred' ? {nextAttemptAt: new Date(updated.nextAttemptAt).toISOString()} : {}),
  }
}
