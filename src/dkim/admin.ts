/**
 * What `mailbox dkim list|rotate|remove` do to a domain's keys. A rotation makes a new active pair
 * and retires the old one: retired keys sign nothing but stay (and their DNS records should stay
 * published) until `remove`, because mail already signed with them may still be in queues, ours
 * or a receiver's. Private keys never leave here: the views carry the DNS record instead.
 */
import {normalizeDomain} from '../address.js'
import {requireDomain} from '../directory/domains.js'
import {MailboxError} from '../errors.js'
import {dkimKeysOf, putDkimKeysInTxn, removeDkimKeyInTxn, retireDkimKeysInTxn} from '../store/dkim-keys.js'
import type {DkimKeyRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {dkimDnsRecord, generateDkimKeys, type DkimDnsRecord} from './keys.js'

export interface DkimKeyView {
  domain: string
  selector: string
  algorithm: DkimKeyRecord['algorithm']
  state: DkimKeyRecord['state']
  createdAt: number
  retiredAt: number | null
  /** the TXT record that publishes the public key */
  dns: DkimDnsRecord
}

export const viewOf = (key: DkimKeyRecord): DkimKeyView => ({
  domain: key.domain,
  selector: key.selector,
  algorithm: key.algorithm,
  state: key.state,
  createdAt: key.createdAt,
  retiredAt: key.retiredAt ?? null,
  dns: dkimDnsRecord(key),
})

/** a local domain's name, normalized; `not-found` for a domain that is not local */
function localDomain(store: Store, input: string): string {
  const domain = normalizeDomain(input)
  requireDomain(store, domain)
  return domain
}

/** every key of one domain, or of all local domains, active first within a domain */
export function listDkimKeys(store: Store, domain?: string): DkimKeyView[] {
  const domains = domain ? [localDomain(store, domain)] : [...store.domains.getKeys()].map(String)
  return domains.flatMap((d) =>
    dkimKeysOf(store, d)
      .sort((a, b) => (a.state === b.state ? 0 : a.state === 'active' ? -1 : 1))
      .map(viewOf),
  )
}

export interface Rotation {
  domain: string
  /** the new pair: its records must be published now */
  active: DkimKeyView[]
  /** the pair it replaced: keep its records until `mailbox dkim remove` */
  retired: DkimKeyView[]
}

/** A new active pair for `domain`; the active one is retired in the same commit. */
export function rotateDkimKeys(store: Store, input: string, now = Date.now()): Rotation {
  const domain = localDomain(store, input)
  // RSA generation takes a while: outside the write transaction, selectors checked again inside
  const taken = new Set(dkimKeysOf(store, domain).map((k) => k.selector))
  const fresh = generateDkimKeys(domain, now, taken)
  return store.transact(() => {
    requireDomain(store, domain)
    const retired = retireDkimKeysInTxn(store, domain, now)
    putDkimKeysInTxn(store, fresh)
    return {domain, active: fresh.map(viewOf), retired: retired.map(viewOf)}
  })
}

/** Removes a retired key; an active one is refused (it signs the domain's mail). */
export function removeDkimKey(store: Store, input: string, selector: string): DkimKeyView {
  const domain = localDomain(store, input)
  return store.transact(() => {
    const key = dkimKeysOf(store, domain).find((k) => k.selector === selector)
    if (!key) throw new MailboxError('not-found', `no DKIM selector ${selector} for ${domain} (see mailbox dkim list ${domain})`)
    if (key.state === 'active') {
      throw new MailboxError('conflict', `DKIM selector ${selector} is active: it signs ${domain}'s mail; rotate first (mailbox dkim rotate ${domain}), then remove the retired selector`)
    }
    return viewOf(removeDkimKeyInTxn(store, domain, selector))
  })
}

/** a TXT record as a zone-file line; strings of at most 255 characters each (RFC 1035 §3.3.14) */
export function zoneLine(record: DkimDnsRecord): string {
  const strings = record.value.match(/.{1,255}/g) ?? ['']
  return `${record.name}. IN TXT ${strings.map((s) => `"${s}"`).join(' ')}`
}
