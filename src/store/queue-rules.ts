/**
 * What both queue backends (./lmdb-queue.ts, ./pg/queue.ts) agree on: the states, which are final
 * and due, the order entries are listed in, and how an id that names no entry, or several, is
 * refused.
 */
import {MailboxError} from '../errors.js'
import type {QueueState} from './records.js'

export const QUEUE_STATES: QueueState[] = ['queued', 'sending', 'deferred', 'held', 'delivered', 'failed']
/** the order `entries()` lists states in when not given one */
export const LISTED_STATES: QueueState[] = ['sending', 'queued', 'deferred', 'held', 'failed', 'delivered']
/** an entry in these states holds no blob reference any more */
export const FINAL: QueueState[] = ['delivered', 'failed']
/** states a sender may claim from */
export const DUE: QueueState[] = ['queued', 'deferred']

/**
 * entries one commit of a bulk change or purge rewrites: a long queue is changed in steps,
 * between which sessions are served (a step of 500 held the event loop ~30 ms; of 100, ~6 ms)
 */
export const BULK_BATCH = 100

/** how many candidates an ambiguous id lists */
export const CANDIDATES_SHOWN = 10

/** an administrator's id as matched against entry ids (prefix or suffix); `invalid` when empty */
export function idNeedle(given: string): string {
  const needle = given.trim().toLowerCase()
  if (!needle) throw new MailboxError('invalid', 'give a queue entry id')
  return needle
}

/** the refusal of an id that names no entry (`not-found`) or `total` entries, the first of them in `matches` (`conflict`) */
export function unmatchedId(given: string, matches: string[], total = matches.length): MailboxError {
  if (total === 0) return new MailboxError('not-found', `no queue entry ${given}`)
  const shown = matches.slice(0, CANDIDATES_SHOWN).join(', ')
  const more = total > CANDIDATES_SHOWN ? ` and ${total - CANDIDATES_SHOWN} more` : ''
  return new MailboxError('conflict', `queue id ${given} is ambiguous: it matches ${shown}${more}; give more of it`)
}

/** the refusal of an administrator's change the entry's state does not allow */
export const notAllowed = (verb: string, id: string, state: QueueState) => new MailboxError('conflict', `cannot ${verb} entry ${id}: it is ${state}`)
/** the refusal of a delete while the entry is out on a sender */
export const beingSent = (id: string) => new MailboxError('conflict', `entry ${id} is being sent right now; try again in a moment`)
/** the refusal of `queue fail`'s last step for an entry deleted since its first */
export const deletedMeanwhile = (id: string) => new MailboxError('not-found', `queue entry ${id} was deleted meanwhile`)
