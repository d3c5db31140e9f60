/**
 * What a Sieve run's actions (../sieve/README.md) mean for one recipient's copy, pure: the
 * placements for the store, the redirects, a reject and a vacation reply to carry out, and a
 * short list of action names for the log and the `sieve.ran` event.
 */
import {normalizeFlags} from '../mailstore/flags.js'
import {INBOX} from '../mailstore/folder-rules.js'
import type {SieveAction, SieveOutcome, VacationAction} from '../sieve/index.js'
import type {Placement} from '../store/backend.js'

export interface UserActions {
  /** where copies go; empty: none (discard, reject, or redirect without :copy) */
  placements: Placement[]
  /** addresses to forward to, in the script's order */
  redirects: string[]
  reject?: {reason: string}
  vacation?: VacationAction
  /** e.g. ['fileinto:Lists', 'redirect', 'vacation']: for the log line and the metrics */
  summary: string[]
}

/**
 * IMAP keywords are atoms (RFC 3501 §9: no specials, no space); system flags must be ones IMAP
 * knows. A script may set anything as a flag (RFC 5232 §3 leaves it to the server): what cannot
 * be stored is left out.
 */
export function storableFlags(flags: string[]): string[] {
  const atoms = flags.filter((f) => /^\\?[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|~]+$/.test(f) && f.length <= 128)
  return normalizeFlags(atoms.filter((f) => !f.startsWith('\\') || /^\\(seen|answered|flagged|deleted|draft)$/i.test(f)))
}

export function actionsOf(outcome: SieveOutcome): UserActions {
  const result: UserActions = {placements: [], redirects: [], summary: []}
  for (const action of outcome.actions) apply(result, action)
  return result
}

function apply(result: UserActions, action: SieveAction): void {
  switch (action.type) {
    case 'keep':
      result.placements.push({folder: INBOX, flags: storableFlags(action.flags)})
      result.summary.push(action.implicit ? 'implicit-keep' : 'keep')
      return
    case 'fileinto':
      result.placements.push({folder: action.mailbox, flags: storableFlags(action.flags), ...(action.create ? {create: true} : {})})
      result.summary.push(`fileinto:${action.mailbox.slice(0, 100)}`)
      return
    case 'redirect':
      result.redirects.push(action.address)
      result.summary.push(action.copy ? 'redirect:copy' : 'redirect')
      return
    case 'reject':
      result.reject = {reason: action.reason}
      result.summary.push(action.ereject ? 'ereject' : 'reject')
      return
    case 'discard':
      result.summary.push('discard')
      return
    case 'vacation':
      result.vacation = action
      result.summary.push(action.suppressed ? 'vacation-suppressed' : 'vacation')
      return
  }
}
