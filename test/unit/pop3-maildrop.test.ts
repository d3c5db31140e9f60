import {describe, expect, it} from 'vitest'
import {defaultConfig, mergeConfig} from '../../src/config.js'
import {viewOf, type MailboxView} from '../../src/mailstore/mailbox-view.js'
import {DEFAULT_POP3_LIMITS} from '../../src/pop3/limits.js'
import {Maildrop} from '../../src/pop3/maildrop.js'

const view = (): MailboxView =>
  viewOf({id: 7, user: 'a@x.test', name: 'INBOX', uidValidity: 1700000000, uidNext: 12, highestModseq: 9, subscribed: true, messages: 3, unseen: 2, size: 30, createdAt: 0}, [
    {uid: 3, blobId: 'b3', flags: ['\\Seen'], internalDate: 0, size: 10, modseq: 1},
    {uid: 5, blobId: 'b5', flags: [], internalDate: 0, size: 10, modseq: 2},
    {uid: 11, blobId: 'b11', flags: ['\\Flagged'], internalDate: 0, size: 10, modseq: 3},
  ])

describe('Maildrop', () => {
  it('numbers the snapshot from 1 in UID order; UIDL is UIDVALIDITY.UID', () => {
    const drop = new Maildrop(view())
    expect(drop.entries.map((e) => [e.n, e.uid, e.seen])).toEqual([
      [1, 3, true],
      [2, 5, false],
      [3, 11, false],
    ])
    expect(drop.entries.map((e) => drop.uidl(e))).toEqual(['1700000000.3', '1700000000.5', '1700000000.11'])
    expect(drop.mailboxId).toBe(7)
  })

  it('is a copy: the shared view is not changed by the session', () => {
    const v = view()
    const drop = new Maildrop(v)
    drop.entries[0]!.deleted = true
    drop.entries.pop()
    expect(v.records).toHaveLength(3)
    expect(v.records[0]).not.toHaveProperty('deleted')
  })

  it('find: a message number, or the reason it names none', () => {
    const drop = new Maildrop(view())
    expect(drop.find('2')).toMatchObject({uid: 5})
    for (const bad of [undefined, '', 'x', '-1', '+1', '1.0', '12345678901']) expect(drop.find(bad)).toMatch(/^syntax/)
    expect(drop.find('0')).toBe('no such message, only 3 in maildrop')
    expect(drop.find('4')).toBe('no such message, only 3 in maildrop')
    drop.entries[1]!.deleted = true
    expect(drop.find('2')).toBe('message 2 already deleted')
  })

  it('marks, lists what is left, and RSET undoes the marks', () => {
    const drop = new Maildrop(view())
    drop.entries[0]!.deleted = true
    drop.entries[2]!.deleted = true
    expect(drop.live().map((e) => e.n)).toEqual([2])
    expect(drop.deletedUids()).toEqual([3, 11])
    expect(drop.reset()).toBe(2)
    expect(drop.deletedUids()).toEqual([])
    expect(drop.live()).toHaveLength(3)
  })
})

describe('config: pop3 limits', () => {
  it('defaults, and a config file layer overrides single keys', () => {
    expect(defaultConfig('data').pop3).toEqual(DEFAULT_POP3_LIMITS)
    expect(DEFAULT_POP3_LIMITS.maxLineLength).toBeGreaterThanOrEqual(512)
    expect(DEFAULT_POP3_LIMITS.idleTimeoutMs).toBeGreaterThanOrEqual(10 * 60_000)
    const merged = mergeConfig(defaultConfig('data'), {pop3: {idleTimeoutMs: 1000}}, {pop3: {maxLineLength: undefined}})
    expect(merged.pop3).toEqual({...DEFAULT_POP3_LIMITS, idleTimeoutMs: 1000})
  })
})
