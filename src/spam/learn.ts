/**
 * What a user's move says about its messages (RFC 6154 special-use folders): into Junk, they are
 * spam; out of Junk into anything but Trash, they are ham (a user rescuing a message); anything
 * else says nothing. Trash is not ham: deleting a message from Junk is no verdict on it.
 */
import type {SpecialUse} from '../store/records.js'

export function learnKindOf(source: SpecialUse | undefined, target: SpecialUse | undefined): 'spam' | 'ham' | undefined {
  if (target === '\\Junk') return source === '\\Junk' ? undefined : 'spam'
  if (source === '\\Junk' && target !== '\\Trash') return 'ham'
  return undefined
}

/** the wait after `attempts` failed attempts: `firstMs`, doubling, at most an hour */
export function learnBackoff(attempts: number, firstMs: number): number {
  return Math.min(firstMs * 2 ** Math.max(0, attempts - 1), 3600_000)
}
