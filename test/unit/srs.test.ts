/**
 * SRS (src/srs/index.ts): fixed vectors computed from postsrsd's algorithm outside this code
 * (HMAC-SHA1 over the lowercased stamp, domain and local part, base64, 4 characters; the day
 * number mod 1024 in base32), round trips, tampering, expiry, the SRS1 chain, case, quoting.
 * test/unit/srs-postsrsd.test.ts checks the same against Debian's postsrsd itself.
 */
import {describe, expect, it} from 'vitest'
import {isSrsAddress, srsForward, srsRefusal, srsReverse, srsTimestamp} from '../../src/srs/index.js'

const SECRET = Buffer.from('mailbox-test-secret')
/** 2027-01-15T08:00:00Z: day 20833, stamp LB */
const NOW = 1_800_000_000_000
const DAY = 86_400_000

describe('srsForward: the vectors', () => {
  it('the day stamp is the day number mod 1024 in base32, high character first', () => {
    expect(srsTimestamp(NOW)).toBe('LB')
    expect(srsTimestamp(0)).toBe('AA')
    expect(srsTimestamp(1023 * DAY)).toBe('77')
    expect(srsTimestamp(1024 * DAY)).toBe('AA')
  })

  it.each([
    ['alice@remote.example', 'SRS0=SEms=LB=remote.example=alice@fwd.example'],
    // the hash is over the lowercased parts; the address keeps the case it was given
    ['Bob.Smith+tag@Remote.Example', 'SRS0=WLbl=LB=Remote.Example=Bob.Smith+tag@fwd.example'],
    // '=' in a local part: the original local part is everything after the third '='
    ['a=b@example.org', 'SRS0=rsvq=LB=example.org=a=b@fwd.example'],
    // SMTPUTF8: UTF-8 bytes hashed as they are (C's tolower leaves them), an IDN domain as given
    ['josé@xn--bcher-kva.example', 'SRS0=UlaJ=LB=xn--bcher-kva.example=josé@fwd.example'],
    // a quoted local part is hashed unquoted and the SRS local part quoted whole
    ['"john doe"@example.com', '"SRS0=UJZ3=LB=example.com=john doe"@fwd.example'],
  ])('%s → %s', (sender, srs) => {
    expect(srsForward(sender, 'fwd.example', SECRET, NOW)).toBe(srs)
  })

  it('a sender of the forwarding domain itself is left as it is (libsrs2 and postsrsd do so)', () => {
    expect(srsForward('carol@Fwd.Example', 'fwd.example', SECRET, NOW)).toBe('carol@Fwd.Example')
  })

  it('another forwarder’s SRS0 address becomes SRS1: its opaque part kept, our hash over its domain and that part', () => {
    expect(srsForward('SRS0=XYZW=AB=orig.example=alice@first.example', 'fwd.example', SECRET, NOW)).toBe('SRS1=0++H=first.example==XYZW=AB=orig.example=alice@fwd.example')
  })

  it('an SRS1 address forwarded again keeps its first forwarder and opaque part, with our hash', () => {
    const srs1 = srsForward('SRS0=XYZW=AB=orig.example=alice@first.example', 'second.example', SECRET, NOW)
    expect(srs1).toMatch(/^SRS1=....=first\.example==XYZW=AB=orig\.example=alice@second\.example$/)
    expect(srsForward(srs1, 'fwd.example', SECRET, NOW)).toBe('SRS1=0++H=first.example==XYZW=AB=orig.example=alice@fwd.example')
  })

  it('a sender that only looks like SRS1 (a forged or broken one) is wrapped in SRS0 as any address, and reverses to itself', () => {
    for (const sender of ['SRS1=broken@remote.example', 'srs1=a=b@remote.example', 'SRS1=x==y@remote.example']) {
      const srs = srsForward(sender, 'fwd.example', SECRET, NOW)
      expect(srs).toMatch(/^SRS0=/)
      expect(srsReverse(srs, SECRET, NOW)).toBe(sender)
    }
  })

  it('refuses what is not an address', () => {
    for (const bad of ['', 'alice', '@remote.example', 'alice@']) expect(() => srsForward(bad, 'fwd.example', SECRET, NOW)).toThrow(/not an address/)
  })
})

describe('srsReverse', () => {
  const senders = ['alice@remote.example', 'Bob.Smith+tag@Remote.Example', 'a=b@example.org', 'josé@xn--bcher-kva.example', '"john doe"@example.com', 'x/y+z@sub.example.net']

  it.each(senders)('round trip: %s', (sender) => {
    const srs = srsForward(sender, 'fwd.example', SECRET, NOW)
    expect(isSrsAddress(srs)).toBe(true)
    expect(srsReverse(srs, SECRET, NOW)).toBe(sender)
  })

  it('the hash and stamp are checked case-insensitively: a lowercased address still reverses', () => {
    const srs = srsForward('Alice@Remote.Example', 'fwd.example', SECRET, NOW)
    expect(srsReverse(srs.toLowerCase(), SECRET, NOW)).toBe('alice@remote.example')
    expect(srsReverse(srs.toUpperCase(), SECRET, NOW)).toBe('ALICE@REMOTE.EXAMPLE')
  })

  it('tampering with any part, or another secret, fails the hash', () => {
    const srs = 'SRS0=SEms=LB=remote.example=alice@fwd.example'
    expect(srsReverse(srs, SECRET, NOW)).toBe('alice@remote.example')
    for (const forged of [
      'SRS0=SEmt=LB=remote.example=alice@fwd.example',
      'SRS0=SEms=LB=remote.example=mallory@fwd.example',
      'SRS0=SEms=LB=evil.example=alice@fwd.example',
      'SRS0=SEms=LC=remote.example=alice@fwd.example',
      'SRS0=SEm=LB=remote.example=alice@fwd.example',
    ]) {
      expect(srsReverse(forged, SECRET, NOW)).toBeUndefined()
    }
    expect(srsReverse(srs, Buffer.from('another secret'), NOW)).toBeUndefined()
    expect(srsRefusal('SRS0=SEmt=LB=remote.example=alice@fwd.example', SECRET, NOW)).toBe('SRS address hash does not match')
  })

  it('a hash longer than 4 characters is checked on its first 4 (libsrs2)', () => {
    expect(srsReverse('SRS0=SEmsXX=LB=remote.example=alice@fwd.example', SECRET, NOW)).toBe('alice@remote.example')
  })

  it('expiry: valid up to maxAgeDays days after its day, refused after; a future stamp reads as ~1024 days old', () => {
    const srs = srsForward('alice@remote.example', 'fwd.example', SECRET, NOW)
    expect(srsReverse(srs, SECRET, NOW + 21 * DAY)).toBe('alice@remote.example')
    expect(srsReverse(srs, SECRET, NOW + 22 * DAY)).toBeUndefined()
    expect(srsRefusal(srs, SECRET, NOW + 22 * DAY)).toBe('SRS address expired')
    expect(srsReverse(srs, SECRET, NOW + 5 * DAY, 3)).toBeUndefined()
    expect(srsReverse(srs, SECRET, NOW + 3 * DAY, 3)).toBe('alice@remote.example')
    expect(srsReverse(srs, SECRET, NOW - DAY)).toBeUndefined()
    // across the wrap of the 1024-day cycle
    const late = 1023 * DAY + 5 * 3_600_000
    const wrapped = srsForward('alice@remote.example', 'fwd.example', SECRET, late)
    expect(wrapped).toContain('=77=')
    expect(srsReverse(wrapped, SECRET, late + 2 * DAY)).toBe('alice@remote.example')
  })

  it('SRS1 reverses to the first forwarder’s SRS0 address, unchecked; that forwarder reverses the rest', () => {
    const first = Buffer.from('first forwarder secret')
    const srs0 = srsForward('alice@orig.example', 'first.example', first, NOW)
    const srs1 = srsForward(srs0, 'fwd.example', SECRET, NOW)
    expect(srs1.startsWith('SRS1=')).toBe(true)
    expect(srsReverse(srs1, SECRET, NOW)).toBe(srs0)
    expect(srsReverse(srs0, first, NOW)).toBe('alice@orig.example')
    // our hash covers the first forwarder and the opaque part
    expect(srsReverse(srs1.replace('first.example', 'evil.example'), SECRET, NOW)).toBeUndefined()
    expect(srsReverse(srs1.replace('alice', 'mallory'), SECRET, NOW)).toBeUndefined()
    expect(srsReverse(srs1, first, NOW)).toBeUndefined()
  })

  it('what is not SRS, or is malformed, is undefined', () => {
    for (const address of [
      'alice@fwd.example',
      'SRS2=SEms=LB=remote.example=alice@fwd.example',
      'SRS0_SEms=LB=remote.example=alice@fwd.example',
      'SRS0=SEms=LB=remote.example@fwd.example',
      'SRS0=SEms=LB==alice@fwd.example',
      'SRS0=SEms=L=remote.example=alice@fwd.example',
      'SRS0=SEms=L1=remote.example=alice@fwd.example',
      'SRS1=0++H=first.example@fwd.example',
      'SRS1==first.example==x@fwd.example',
    ]) {
      expect(srsReverse(address, SECRET, NOW)).toBeUndefined()
    }
    expect(srsRefusal('SRS0=SEms=LB=remote.example@fwd.example', SECRET, NOW)).toBe('malformed SRS address')
  })
})

describe('isSrsAddress', () => {
  it('SRS0 or SRS1, any case, then a separator of = + -', () => {
    for (const yes of ['SRS0=a=b=c=d@x.example', 'srs1=a=b=c@x.example', 'SRS0+a=b=c=d@x.example', 'SRS0-a@x.example', '"SRS0=a=b=c=d d"@x.example']) {
      expect(isSrsAddress(yes)).toBe(true)
    }
    for (const no of ['alice@x.example', 'SRS2=a@x.example', 'SRS0a@x.example', 'xSRS0=a@x.example', '']) expect(isSrsAddress(no)).toBe(false)
  })
})
