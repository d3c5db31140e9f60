/** `mailbox srs forward|reverse`: SRS addresses made and read with the store's secret, as serve does. */
import {normalizeDomain} from '../address.js'
import {MailboxError} from '../errors.js'
import type {MailboxStore} from '../store/backend.js'
import {isSrsAddress, srsForward, srsRefusal, srsReverse} from './index.js'
import {srsSecret} from './secret.js'

export async function srsForwardWithStore(store: MailboxStore, sender: string, domainInput: string): Promise<{sender: string; domain: string; address: string}> {
  const domain = normalizeDomain(domainInput)
  if (!(await store.directory.isLocalDomain(domain))) throw new MailboxError('not-found', `${domain} is not a local domain: SRS addresses are made in the domain mail is forwarded from`)
  return {sender, domain, address: srsForward(sender, domain, await srsSecret(store))}
}

export async function srsReverseWithStore(store: MailboxStore, address: string, maxAgeDays: number): Promise<{address: string; original: string}> {
  if (!isSrsAddress(address)) throw new MailboxError('invalid', `not an SRS address: ${address}`)
  const secret = await srsSecret(store)
  const original = srsReverse(address, secret, Date.now(), maxAgeDays)
  if (original === undefined) throw new MailboxError('not-found', `${srsRefusal(address, secret, Date.now(), maxAgeDays)}: ${address}`)
  return {address, original}
}
