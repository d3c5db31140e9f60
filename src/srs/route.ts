/**
 * Bounces to SRS addresses (RCPT TO on the MX, `mailbox send`): an SRS0/SRS1 address of one of
 * our domains stands for the address it was made from, when its hash checks with our secret and
 * it is not too old; then mail to it goes there (a remote address: the queue, with the message's
 * own envelope sender, normally <>). One whose hash or age fails is refused, so only addresses
 * this installation made route out: no open relay through made-up SRS addresses.
 *
 * An SRS1 address reverses to the first forwarder's SRS0 address; when that forwarder is us
 * (one of our domains) it is reversed once more, never further: a chain of our own addresses
 * longer than that is refused, not followed.
 */
import {domainOf, normalizeAddress, normalizeDomain} from '../address.js'
import {isMailboxError, MailboxError} from '../errors.js'
import type {DirectoryStore, SettingsStore} from '../store/backend.js'
import {DEFAULT_SRS_MAX_AGE_DAYS, isSrsAddress, srsRefusal, srsReverse} from './index.js'
import {srsSecret} from './secret.js'

export interface SrsConfig {
  /** rewrite the sender of forwarded mail, and route bounces to SRS addresses of local domains */
  enabled: boolean
  /** an SRS address older than this many days is refused */
  maxAgeDays: number
}

export const DEFAULT_SRS: SrsConfig = {enabled: true, maxAgeDays: DEFAULT_SRS_MAX_AGE_DAYS}

/** an SRS address of ours that does not reverse: the SMTP front-end answers 550 5.1.1 with `why` */
export class SrsRefused extends MailboxError {
  constructor(
    address: string,
    readonly why: string,
  ) {
    super('not-found', `${why}: ${address}`)
  }
}

/**
 * Where mail to `address` (normalized) goes: itself, unless SRS is on and it is an SRS address of
 * a local domain; then the original address it stands for (normalized), or SrsRefused.
 */
export async function srsRecipient(store: {directory: DirectoryStore; settings: SettingsStore}, address: string, config: SrsConfig | undefined, now = Date.now()): Promise<string> {
  // a reversed address carries its domain as the forwarder wrote it (any case, perhaps a U-label)
  const ours = async (a: string) => {
    if (!isSrsAddress(a)) return false
    try {
      return await store.directory.isLocalDomain(normalizeDomain(domainOf(a)))
    } catch (err) {
      if (isMailboxError(err, 'invalid')) return false
      throw err
    }
  }
  if (!config?.enabled || !(await ours(address))) return address
  const secret = await srsSecret(store)
  const reverse = (a: string) => {
    const original = srsReverse(a, secret, now, config.maxAgeDays)
    if (original === undefined) throw new SrsRefused(address, srsRefusal(a, secret, now, config.maxAgeDays))
    return original
  }
  let original = reverse(address)
  if (await ours(original)) {
    original = reverse(original)
    if (await ours(original)) throw new SrsRefused(address, 'SRS address reverses to another of ours')
  }
  try {
    return normalizeAddress(original)
  } catch {
    throw new SrsRefused(address, 'SRS address stands for an address this server cannot route')
  }
}
