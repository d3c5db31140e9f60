/**
 * What a STORE does to one message's flags, pure, so every store backend applies the same rule
 * (LMDB: ./lmdb-messages.ts; PostgreSQL: ./pg/message-changes.ts): `add` keeps the present flags
 * in their order and appends the new ones not there yet (keywords compared case-insensitively, as
 * normalizeFlags does); `remove` drops case-insensitively; `replace` sets exactly the given flags.
 * Flags given are canonical (normalizeFlags of ../mailstore/flags.ts).
 */
import {normalizeFlags, type FlagMode} from '../mailstore/flags.js'

export function nextFlags(current: string[], mode: FlagMode, flags: string[]): string[] {
  if (mode === 'replace') return flags
  if (mode === 'add') return normalizeFlags([...current, ...flags])
  const drop = new Set(flags.map((f) => f.toLowerCase()))
  return current.filter((f) => !drop.has(f.toLowerCase()))
}

/** the same set of flags, in any order: no change, so no new MODSEQ */
export const sameFlags = (a: string[], b: string[]): boolean => a.length === b.length && a.every((f) => b.includes(f))

export const isSeen = (flags: string[]): boolean => flags.includes('\\Seen')
