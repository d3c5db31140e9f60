/**
 * Creating outbound queue entries. One entry per destination domain, so one connection to that
 * domain's MX can carry all its recipients. Runs inside the caller's write transaction, so a
 * message accepted for remote recipients is queued in the same commit that acknowledges it.
 * (The delivery side — foreman, senders, retries — belongs to the queue and delivery actors.)
 */
import {domainOf} from '../address.js'
import {newId} from '../ids.js'
import {queueIndexKey} from '../store/keys.js'
import type {QueueEntry, QueuePriority} from '../store/records.js'
import type {Store} from '../store/store.js'

function putQueueEntry(store: Store, entry: QueueEntry): void {
  store.queue.putSync(entry.id, entry)
  store.queueIndex.putSync(queueIndexKey(entry.state, entry.priority, entry.nextAttemptAt, entry.id), null)
}

/** Creates the entries (one per domain) for `recipients`; each holds one reference on the blob. */
export function enqueueInTxn(store: Store, input: {from: string; recipients: string[]; blobId: string; priority?: QueuePriority}): QueueEntry[] {
  const byDomain = new Map<string, string[]>()
  for (const r of input.recipients) byDomain.set(domainOf(r), [...(byDomain.get(domainOf(r)) ?? []), r])
  const now = Date.now()
  return [...byDomain].map(([domain, recipients]) => {
    const entry: QueueEntry = {
      id: newId(),
      from: input.from,
      domain,
      recipients: recipients.map((address) => ({address, state: 'pending'})),
      blobId: input.blobId,
      priority: input.priority ?? 'default',
      state: 'queued',
      attempts: 0,
      createdAt: now,
      nextAttemptAt: now,
    }
    putQueueEntry(store, entry)
    return entry
  })
}
