/**
 * Creating outbound queue entries in PostgreSQL, inside the caller's transaction (a delivery's:
 * the message is queued in the commit that acknowledges it). One entry per destination domain,
 * as on LMDB (../lmdb-enqueue.ts), so one connection to a domain's MX carries all its
 * recipients; each entry holds one reference on the blob, counted by the caller.
 */
import type pg from 'pg'
import {domainOf} from '../../address.js'
import {newId} from '../../ids.js'
import type {QueueEntry, QueuePriority} from '../records.js'
import type {ChangeSignals} from './changes.js'
import {putQueueEntry} from './queue.js'

export interface EnqueueInput {
  from: string
  recipients: string[]
  blobId: string
  priority?: QueuePriority
}

/** The new entries for `recipients`, one per domain in the order the domains first appear, due now. */
export function queueEntriesFor(input: EnqueueInput, now = Date.now()): QueueEntry[] {
  const byDomain = new Map<string, string[]>()
  for (const r of input.recipients) byDomain.set(domainOf(r), [...(byDomain.get(domainOf(r)) ?? []), r])
  return [...byDomain].map(([domain, recipients]) => ({
    id: newId(),
    from: input.from,
    domain,
    recipients: recipients.map((address) => ({address, state: 'pending' as const})),
    blobId: input.blobId,
    priority: input.priority ?? 'default',
    state: 'queued' as const,
    attempts: 0,
    createdAt: now,
    nextAttemptAt: now,
  }))
}

/**
 * Writes the entries for `input` (see queueEntriesFor) inside `transaction()`; with `signals`, the
 * nodes' foremen hear at COMMIT that an entry is due.
 */
export async function enqueueEntries(client: pg.ClientBase, input: EnqueueInput, signals?: ChangeSignals): Promise<QueueEntry[]> {
  const entries = queueEntriesFor(input)
  for (const entry of entries) await putQueueEntry(client, entry)
  if (entries[0]) signals?.queue(entries[0].nextAttemptAt)
  return entries
}
