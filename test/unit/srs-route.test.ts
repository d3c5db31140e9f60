/**
 * Bounces to SRS addresses through recipient resolution (src/srs/route.ts, resolveForDelivery):
 * a real LMDB store with two local domains and its own SRS secret. A valid address of ours goes
 * where it stands for; a forged, expired or looping one is refused; SRS off or another domain's
 * address is left to the usual rules.
 */
import {createHmac} from 'node:crypto'
import {beforeAll, describe, expect, it} from 'vitest'
import {addDomain} from '../../src/directory/domains.js'
import {addAlias} from '../../src/directory/aliases.js'
import {addUser} from '../../src/directory/users.js'
import {resolveForDelivery} from '../../src/mailstore/submit.js'
import {srsForward, srsTimestamp} from '../../src/srs/index.js'
import {DEFAULT_SRS, SrsRefused, srsRecipient} from '../../src/srs/route.js'
import {srsSecret} from '../../src/srs/secret.js'
import {tempStore} from '../helpers/store.js'

const store = tempStore()
const SRS = DEFAULT_SRS
const DAY = 86_400_000
let secret: Buffer

beforeAll(async () => {
  for (const d of ['fwd.example', 'other.example']) await addDomain(store, d)
  await addUser(store, {address: 'dora@other.example', password: 'secret'})
  // a catch-all must not swallow SRS addresses: they are checked first
  await addAlias(store, '@fwd.example', ['dora@other.example'])
  secret = await srsSecret(store)
})

const refusal = async (address: string, now?: number) => {
  try {
    await srsRecipient(store, address, SRS, now)
  } catch (err) {
    expect(err).toBeInstanceOf(SrsRefused)
    return (err as SrsRefused).why
  }
  throw new Error(`${address} was not refused`)
}

describe('bounces to SRS addresses of our domains', () => {
  it('the secret is the store’s, made once', async () => {
    expect((await store.settings.secret('srs')).equals(secret)).toBe(true)
    expect(secret).toHaveLength(32)
  })

  it('a valid SRS0 address of a remote sender routes to that sender (the queue), however the client cased it', async () => {
    const srs = srsForward('Someone@Remote.Example', 'fwd.example', secret)
    expect(await resolveForDelivery(store, {address: srs, srs: SRS})).toEqual({local: [], remote: ['someone@remote.example']})
    expect(await resolveForDelivery(store, {address: srs.toUpperCase(), srs: SRS})).toEqual({local: [], remote: ['someone@remote.example']})
  })

  it('one standing for a user of another local domain is delivered to that user', async () => {
    const srs = srsForward('dora@other.example', 'fwd.example', secret)
    expect(await resolveForDelivery(store, {address: srs, srs: SRS})).toEqual({local: ['dora@other.example'], remote: []})
  })

  it('a non-ASCII capital in the original local part does not survive the lowercasing of RCPT: refused (README, Limits)', async () => {
    const srs = srsForward('Émile@remote.example', 'fwd.example', secret)
    expect(await srsRecipient(store, srs, SRS)).toBe('émile@remote.example')
    await expect(resolveForDelivery(store, {address: srs, srs: SRS})).rejects.toBeInstanceOf(SrsRefused)
  })

  it('a local part past 64 octets is accepted for SRS addresses (a long original domain)', async () => {
    const srs = srsForward('someone.with.a.long.name@mail.a-rather-long-subdomain.remote.example', 'fwd.example', secret)
    expect(srs.indexOf('@')).toBeGreaterThan(64)
    expect(await resolveForDelivery(store, {address: srs, srs: SRS})).toEqual({local: [], remote: ['someone.with.a.long.name@mail.a-rather-long-subdomain.remote.example']})
  })

  it('forged (another secret, an edited address) or expired: refused with the reason, never routed', async () => {
    expect(await refusal(srsForward('someone@remote.example', 'fwd.example', Buffer.from('not ours')))).toBe('SRS address hash does not match')
    expect(await refusal(srsForward('someone@remote.example', 'fwd.example', secret).replace('someone', 'victim'))).toBe('SRS address hash does not match')
    expect(await refusal(srsForward('someone@remote.example', 'fwd.example', secret, Date.now() - 22 * DAY))).toBe('SRS address expired')
    expect(await refusal('SRS0=abcd=LB=remote.example@fwd.example')).toBe('malformed SRS address')
    await expect(resolveForDelivery(store, {address: srsForward('someone@remote.example', 'fwd.example', Buffer.from('not ours')), srs: SRS})).rejects.toMatchObject({code: 'not-found'})
    // maxAgeDays is the config's
    const old = srsForward('someone@remote.example', 'fwd.example', secret, Date.now() - 5 * DAY)
    expect(await srsRecipient(store, old, SRS)).toBe('someone@remote.example')
    await expect(srsRecipient(store, old, {...SRS, maxAgeDays: 3})).rejects.toBeInstanceOf(SrsRefused)
  })

  it('SRS1 of another forwarder goes back to that forwarder’s SRS0 address', async () => {
    const theirs = srsForward('alice@orig.example', 'first.example', Buffer.from('their secret'))
    const srs1 = srsForward(theirs, 'fwd.example', secret)
    expect(await resolveForDelivery(store, {address: srs1, srs: SRS})).toEqual({local: [], remote: [theirs.toLowerCase()]})
  })

  it('SRS1 whose first forwarder is one of our domains is reversed once more, to the original sender', async () => {
    const ours = srsForward('alice@orig.example', 'other.example', secret)
    const srs1 = srsForward(ours, 'fwd.example', secret)
    expect(srs1.startsWith('SRS1=')).toBe(true)
    expect(await srsRecipient(store, srs1, SRS)).toBe('alice@orig.example')
    // the first forwarder's domain as another server may write it: any case
    const shouted = srsForward(ours.replace('@other.example', '@OTHER.Example'), 'fwd.example', secret)
    expect(await srsRecipient(store, shouted, SRS)).toBe('alice@orig.example')
    // its inner SRS0 forged: refused
    const forgedInner = srsForward(srsForward('alice@orig.example', 'other.example', Buffer.from('not ours')), 'fwd.example', secret)
    expect(await refusal(forgedInner)).toBe('SRS address hash does not match')
  })

  it('a chain of our own SRS addresses is followed one step past the first, no further', async () => {
    // SRS0 addresses whose original is itself an SRS address: srsForward never makes one, so by hand
    const raw0 = (original: string, domain: string) => {
      const at = original.lastIndexOf('@')
      const [user, host, stamp] = [original.slice(0, at), original.slice(at + 1), srsTimestamp(Date.now())]
      const hash = createHmac('sha1', secret).update(stamp.toLowerCase()).update(host.toLowerCase()).update(user.toLowerCase()).digest('base64').slice(0, 4)
      return `SRS0=${hash}=${stamp}=${host}=${user}@${domain}`
    }
    const first = srsForward('alice@orig.example', 'other.example', secret)
    const second = raw0(first, 'fwd.example')
    expect(await srsRecipient(store, second, SRS)).toBe('alice@orig.example')
    expect(await refusal(raw0(second, 'fwd.example'))).toBe('SRS address reverses to another of ours')
  })

  it('SRS off, or an SRS address of a domain not ours: the usual rules (the catch-all, or a remote address)', async () => {
    const srs = srsForward('someone@remote.example', 'fwd.example', secret)
    expect(await resolveForDelivery(store, {address: srs})).toEqual({local: ['dora@other.example'], remote: []})
    expect(await resolveForDelivery(store, {address: srs, srs: {...SRS, enabled: false}})).toEqual({local: ['dora@other.example'], remote: []})
    const elsewhere = srsForward('someone@remote.example', 'not-ours.example', secret)
    expect(await resolveForDelivery(store, {address: elsewhere, srs: SRS})).toEqual({local: [], remote: [elsewhere.toLowerCase()]})
  })
})
