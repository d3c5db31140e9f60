/**
 * `queue fail ID`: an administrator gives up on an entry now (Postfix's bounce of a queue file).
 * Its open recipients fail with "failed by the administrator", and the sender gets the same RFC
 * 3464 bounce an expiry sends (never for a null sender). The same steps run in the queue actor
 * (server running: serialized with the sending) and straight on the store (server stopped):
 *
 * 1. the entry is held in a commit of its own, so no sender claims it while the bounce is made;
 * 2. the bounce is built from the stored message and injected (stored or queued durably);
 * 3. the entry becomes final. A crash between 2 and 3 leaves it held, bounce sent: failing it
 *    again may send a second bounce, never none.
 */
import type {QueueStore} from '../store/backend.js'
import type {QueueEntry, QueueRecipient} from '../store/records.js'
import {buildDsn, type FailedRecipient} from './dsn.js'

export const FAILED_BY_ADMIN = 'failed by the administrator'

export interface FailResult {
  entry: QueueEntry
  /** the recipients that failed now */
  recipients: string[]
  /** where the bounce went; absent for a null sender or when it could not be delivered */
  bouncedTo?: string
  /** why the bounce could not be delivered */
  bounceError?: string
}

const isOpen = (r: QueueRecipient) => r.state === 'pending' || r.state === 'deferred'

/** step 3's rewrite: the open recipients fail; the entry is delivered when some recipient was, else failed */
export function failedByAdmin(entry: QueueEntry, at: number): Partial<QueueEntry> {
  const recipients = entry.recipients.map((r) => (isOpen(r) ? {...r, state: 'failed' as const, lastError: FAILED_BY_ADMIN} : r))
  return {recipients, state: recipients.some((r) => r.state === 'delivered') ? 'delivered' : 'failed', nextAttemptAt: at, lastError: FAILED_BY_ADMIN}
}

/** `inject` stores or queues the bounce from the null sender to `to` (the bus, or the store directly). */
export async function failEntry(queue: QueueStore, id: string, options: {hostname: string; inject: (to: string, dsn: Buffer) => Promise<unknown>}): Promise<FailResult> {
  const held = await queue.failBegin(id)
  const now = Date.now()
  const failed: FailedRecipient[] = held.recipients
    .filter(isOpen)
    .map((r) => ({address: r.address, reply: r.lastError ? `${FAILED_BY_ADMIN} (last error: ${r.lastError})` : FAILED_BY_ADMIN}))
  const result: Omit<FailResult, 'entry'> = {recipients: failed.map((f) => f.address)}
  if (held.from && failed.length) {
    const original = (await queue.message(held)) ?? Buffer.alloc(0)
    const dsn = buildDsn({hostname: options.hostname, to: held.from, arrivedAt: held.createdAt, lastAttemptAt: now, recipients: failed, original})
    try {
      await options.inject(held.from, dsn)
      result.bouncedTo = held.from
    } catch (err) {
      result.bounceError = (err as Error).message
    }
  }
  const entry = await queue.failEnd(held.id, (current) => failedByAdmin(current, now))
  return {entry, ...result}
}
