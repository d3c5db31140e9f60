import {describe, expect, it} from 'vitest'
import {ConnectionLimits} from '../../src/connection-limits.js'

describe('ConnectionLimits', () => {
  it('counts per listener and address; release() gives a slot back exactly once', () => {
    const limits = new ConnectionLimits({maxConnections: 10, maxConnectionsPerIp: 2}, ['imap', 'imaps'])
    expect(limits.counts()).toEqual({open: 0, byListener: {imap: 0, imaps: 0}, addresses: 0, opened: 0, refused: 0})
    const a = limits.open('10.0.0.1', 'imap')
    const b = limits.open('10.0.0.1', 'imaps')
    const c = limits.open('10.0.0.1', 'imap')
    expect([a.accepted, b.accepted, c.accepted]).toEqual([true, true, false])
    expect(limits.counts()).toEqual({open: 3, byListener: {imap: 2, imaps: 1}, addresses: 1, opened: 3, refused: 1})
    c.release()
    c.release()
    a.release()
    a.release()
    expect(limits.counts()).toEqual({open: 1, byListener: {imap: 0, imaps: 1}, addresses: 1, opened: 3, refused: 1})
    // a slot released twice did not free someone else's: the address still holds one
    expect(limits.open('10.0.0.1', 'imap').accepted).toBe(true)
    expect(limits.open('10.0.0.1', 'imap').accepted).toBe(false)
    // the totals only grow: what metrics show as connections since the start, and refused by a limit
    expect(limits.counts()).toMatchObject({opened: 5, refused: 2})
  })

  it('the total limit counts every address; refused connections count until released', () => {
    const limits = new ConnectionLimits({maxConnections: 2, maxConnectionsPerIp: 5})
    const slots = ['a', 'b', 'c'].map((ip) => limits.open(ip, 'pop3'))
    expect(slots.map((s) => s.accepted)).toEqual([true, true, false])
    expect(limits.counts().addresses).toBe(3)
    for (const s of slots) s.release()
    expect(limits.counts()).toEqual({open: 0, byListener: {pop3: 0}, addresses: 0, opened: 3, refused: 1})
  })
})
