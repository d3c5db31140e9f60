/**
 * The rules of `store.sieve` (./backend.ts) that both backends apply the same way, so a name or a
 * size one refuses the other refuses too: script names (RFC 5804 §1.6 and our '/'), the quota,
 * and the errors' wording.
 */
import {MailboxError} from '../errors.js'
import type {SieveQuota, SieveStore} from './backend.js'

/** the longest script name, in characters (code points) */
export const MAX_SIEVE_NAME_CHARS = 128

/** RFC 5804 §1.6: no control characters (C0, DEL, C1), no line or paragraph separator; '/' is ours (a name may become a file name) */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029/]/

/** throws `invalid` for a name no script may have */
export function checkSieveName(name: string): void {
  if (name === '') throw new MailboxError('invalid', 'a Sieve script name cannot be empty')
  if ([...name].length > MAX_SIEVE_NAME_CHARS) throw new MailboxError('invalid', `a Sieve script name is at most ${MAX_SIEVE_NAME_CHARS} characters`)
  if (FORBIDDEN.test(name)) throw new MailboxError('invalid', `the Sieve script name ${JSON.stringify(name)} has a control character or '/'`)
}

export const sieveSize = (content: string): number => Buffer.byteLength(content, 'utf8')

/**
 * throws `quota` when the text is over maxScriptBytes, or when a new script (`replacing` false)
 * would be one more than maxScripts (`count`: the user's scripts now)
 */
export function checkSieveQuota(quota: SieveQuota, count: number, replacing: boolean, size: number): void {
  if (size > quota.maxScriptBytes) throw new MailboxError('quota', `the Sieve script is ${size} bytes, over the limit of ${quota.maxScriptBytes}`)
  if (!replacing && count >= quota.maxScripts) throw new MailboxError('quota', `a user has at most ${quota.maxScripts} Sieve scripts`)
}

export const noSieveUser = (user: string): MailboxError => new MailboxError('not-found', `no user ${user}`)
export const noSieveScript = (user: string, name: string): MailboxError => new MailboxError('not-found', `${user} has no Sieve script ${JSON.stringify(name)}`)
export const sieveScriptExists = (user: string, name: string): MailboxError => new MailboxError('exists', `${user} has a Sieve script ${JSON.stringify(name)} already`)
export const activeSieveScript = (user: string, name: string): MailboxError =>
  new MailboxError('conflict', `the Sieve script ${JSON.stringify(name)} of ${user} is active: deactivate it first (or activate another)`)

/**
 * RFC 5804 §1.6: script names are Net-Unicode (NFC, RFC 5198). A client that sends a name in NFD
 * (macOS file names do) means the same script as one that sends it in NFC: names are stored and
 * looked up in NFC, whichever backend stores them.
 */
export function withNfcNames(sieve: SieveStore): SieveStore {
  const nfc = (name: string) => name.normalize('NFC')
  return {
    ...sieve,
    get: (user, name) => sieve.get(user, nfc(name)),
    put: (user, name, content, quota) => sieve.put(user, nfc(name), content, quota),
    activate: (user, name) => sieve.activate(user, name === null ? null : nfc(name)),
    remove: (user, name) => sieve.remove(user, nfc(name)),
    rename: (user, from, to) => sieve.rename(user, nfc(from), nfc(to)),
  }
}
