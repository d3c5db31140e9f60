/** Message flags as stored: the canonical form both store backends keep (pure). */
import {MailboxError} from '../errors.js'

export type FlagMode = 'add' | 'remove' | 'replace'

const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft']
const SYSTEM_BY_LOWER = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]))

/** Canonical stored flags: system flags in their usual case, keywords as given, no duplicates, never \Recent (a session property). */
export function normalizeFlags(flags: string[]): string[] {
  const out = new Map<string, string>()
  for (const flag of flags) {
    const lower = flag.toLowerCase()
    if (lower === '\\recent') continue
    if (lower.startsWith('\\') && !SYSTEM_BY_LOWER.has(lower)) throw new MailboxError('invalid', `unknown system flag ${flag}`)
    if (!out.has(lower)) out.set(lower, SYSTEM_BY_LOWER.get(lower) ?? flag)
  }
  return [...out.values()]
}
