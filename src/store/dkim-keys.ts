/**
 * DKIM keys in the store (`dkimKeys`, keyed [domain, selector]). The writers run inside the
 * caller's write transaction (`…InTxn`), so a domain and its keys are created or removed together.
 */
import {MailboxError} from '../errors.js'
import {dkimKeyKey, domainDkimKeysRange} from './keys.js'
import type {DkimKeyRecord} from './records.js'
import type {Store} from './store.js'

/** every key of a domain, active and retired, oldest first */
export function dkimKeysOf(store: Store, domain: string): DkimKeyRecord[] {
  return [...store.dkimKeys.getRange(domainDkimKeysRange(domain)).map(({value}) => value)].sort((a, b) => a.createdAt - b.createdAt || a.selector.localeCompare(b.selector))
}

/** the keys that sign a domain's outgoing mail */
export function activeDkimKeys(store: Store, domain: string): DkimKeyRecord[] {
  return dkimKeysOf(store, domain).filter((k) => k.state === 'active')
}

export function putDkimKeysInTxn(store: Store, keys: DkimKeyRecord[]): void {
  for (const key of keys) {
    if (store.dkimKeys.get(dkimKeyKey(key.domain, key.selector))) throw new MailboxError('exists', `DKIM selector ${key.selector} already exists for ${key.domain}`)
    store.dkimKeys.putSync(dkimKeyKey(key.domain, key.selector), key)
  }
}

/** Marks a domain's active keys retired (they stop signing); returns them as they are now. */
export function retireDkimKeysInTxn(store: Store, domain: string, at: number): DkimKeyRecord[] {
  return activeDkimKeys(store, domain).map((key) => {
    const retired: DkimKeyRecord = {...key, state: 'retired', retiredAt: at}
    store.dkimKeys.putSync(dkimKeyKey(domain, key.selector), retired)
    return retired
  })
}

export function removeDkimKeyInTxn(store: Store, domain: string, selector: string): DkimKeyRecord {
  const key = store.dkimKeys.get(dkimKeyKey(domain, selector))
  if (!key) throw new MailboxError('not-found', `no DKIM selector ${selector} for ${domain}`)
  store.dkimKeys.removeSync(dkimKeyKey(domain, selector))
  return key
}

export function removeDomainDkimKeysInTxn(store: Store, domain: string): void {
  for (const key of [...store.dkimKeys.getKeys(domainDkimKeysRange(domain))]) store.dkimKeys.removeSync(key as [string, string])
}
