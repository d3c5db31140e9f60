/**
 * What a move says (src/spam/learn.ts), the learning backoff, and checkv2's reply as the client
 * reads it (src/spam/rspamd.ts parseCheckReply): symbols by score, unknown actions refused.
 */
import {describe, expect, it} from 'vitest'
import {learnBackoff, learnKindOf} from '../../src/spam/learn.js'
import {parseCheckReply, RspamdError} from '../../src/spam/rspamd.js'

describe('learnKindOf', () => {
  it.each([
    [undefined, '\\Junk', 'spam'],
    ['\\Sent', '\\Junk', 'spam'],
    ['\\Trash', '\\Junk', 'spam'],
    ['\\Junk', '\\Junk', undefined],
    ['\\Junk', undefined, 'ham'],
    ['\\Junk', '\\Archive', 'ham'],
    ['\\Junk', '\\Trash', undefined],
    [undefined, '\\Trash', undefined],
    [undefined, undefined, undefined],
  ] as const)('%s → %s: %s', (source, target, kind) => {
    expect(learnKindOf(source, target)).toBe(kind)
  })
})

describe('learnBackoff', () => {
  it('doubles from the first wait, up to an hour', () => {
    expect([1, 2, 3, 4].map((n) => learnBackoff(n, 60_000))).toEqual([60_000, 120_000, 240_000, 480_000])
    expect(learnBackoff(20, 60_000)).toBe(3600_000)
  })
})

describe('parseCheckReply', () => {
  const reply = (o: object) => Buffer.from(JSON.stringify(o))

  it('takes action, score, required score and subject; symbols by score, then name', () => {
    const parsed = parseCheckReply(
      reply({
        action: 'rewrite subject',
        score: 7.5,
        required_score: 15,
        subject: '*** SPAM *** hi',
        symbols: {B: {score: 1}, A: {score: 1}, NEG: {score: -0.5}, BIG: {score: 5}, ZERO: {score: 0}},
      }),
    )
    expect(parsed).toEqual({action: 'rewrite subject', score: 7.5, required: 15, subject: '*** SPAM *** hi', symbols: ['BIG', 'A', 'B', 'ZERO', 'NEG']})
  })

  it('refuses what is not JSON, and an action it does not know', () => {
    expect(() => parseCheckReply(Buffer.from('<html>'))).toThrow(RspamdError)
    expect(() => parseCheckReply(reply({action: 'discard', score: 1}))).toThrow(/unknown action "discard"/)
  })
})
