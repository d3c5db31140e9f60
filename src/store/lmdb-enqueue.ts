/**
 * Creating outbound queue entries on LMDB, inside the delivery transaction. Apart from
 * ./lmdb-queue.ts because of what it loads (ids, so node:crypto): the store module imports
 * lmdb-queue.ts, and commands that never queue mail must not load it (test/e2e/cli-startup.test.ts).
 */
import {domainOf} from '../address.js'
import {newId} from '../ids.js'
import {putQueueEntry} from './lmdb-queue.js'
import type {QueueEntry, QueuePriority} from './records.js'
import type {Store} from './store.js'

/**
 * Creates the outbound entries (one per destination domain, so one connection to that domain's MX
 * can carry all its recipients) for `recipients`; each holds one reference on the blob. Inside the
 * caller's write transaction (delivery's), so a message accepted for remote recipients is queued
 * in the same commit that acknowledges it.
 */
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
