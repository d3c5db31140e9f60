/**
 * What `mailbox dkim list|rotate|remove` do to a domain's keys. A rotation makes a new active pair
 * and retires the old one: retired keys sign nothing but stay (and their DNS records should stay
 * published) until `remove`, because mail already signed with them may still be in queues, ours
 * or a receiver's. Private keys never leave here: the views carry the DNS record instead.
 */
import {normalizeDomain} from '../address.js'
import {requireDomain} from '../directory/domains.js'
import type {DkimKeyRecord} from '../store/records.js'
import type {MailboxStore} from '../store/backend.js'
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
async function localDomain(store: MailboxStore, input: string): Promise<string> {
  const domain = normalizeDomain(input)
  await requireDomain(store, domain)
  return domain
}

/** every key of one domain, or of all local domains, active first within a domain */
export async function listDkimKeys(store: MailboxStore, domain?: string): Promise<DkimKeyView[]> {
  const domains = domain ? [await localDomain(store, domain)] : (await store.directory.domains()).map((d) => d.name)
  const keys = await Promise.all(domains.map((d) => store.dkim.keys(d)))
  return keys.flatMap((ofDomain) => ofDomain.sort((a, b) => (a.state === b.state ? 0 : a.state === 'active' ? -1 : 1)).map(viewOf))
}

export interface Rotation {
  domain: string
  /** the new pair: its records must be published now */
  active: DkimKeyView[]
  /** the pair it replaced: keep its records until `mailbox dkim remove` */
  retired: DkimKeyView[]
}

/** A new active pair for `domain`; the active one is retired in the same commit. */
export async function rotateDkimKeys(store: MailboxStore, input: string, now = Date.now()): Promise<Rotation> {
  const domain = await localDomain(store, input)
  // RSA generation takes a while: outside the write transaction, selectors checked again inside
  const taken = new Set((await store.dkim.keys(domain)).map((k) => k.selector))
  const fresh = generateDkimKeys(domain, now, taken)
  const retired = await store.dkim.rotate(domain, fresh, now)
  return {domain, active: fresh.map(viewOf), retired: retired.map(viewOf)}
}

/** Removes a retired key; an active one is refused (it signs the domain's mail). */
export async function removeDkimKey(store: MailboxStore, input: string, selector: string): Promise<DkimKeyView> {
  return viewOf(await store.dkim.remove(await localDomain(store, input), selector))
}

/** a TXT record as a zone-file line; strings of at most 255 characters each (RFC 1035 §3.3.14) */
export function zoneLine(record: DkimDnsRecord): string {
  const strings = record.value.match(/.{1,255}/g) ?? ['']
  return `${record.name}. IN TXT ${strings.map((s) => `"${s}"`).join(' ')}`
}
