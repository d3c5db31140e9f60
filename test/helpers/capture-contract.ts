/**
 * The contract of `store.capture` (src/store/backend.ts), as one test body that runs against any
 * backend: a test file calls `captureContract(name, open)` with a function that opens a fresh,
 * empty store of its kind (LMDB in a temp dir; PostgreSQL in a fresh schema). It uses nothing but
 * the interface: invalid rules are refused and write nothing, rules match oldest first and by
 * stage, a counted rule fires exactly its count (also when asked concurrently) and is then gone,
 * and a resolved write is seen through a second handle on the same store (committed).
 */
import {describe, expect, it} from 'vitest'
import type {CaptureStore} from '../../src/store/backend.js'
import {codeOfAsync} from './errors.js'

export interface OpenedCapture {
  backend: {capture: CaptureStore}
  /** a second, independent handle on the same store (another process or node would have one) */
  reopen(): Promise<{capture: CaptureStore; close(): Promise<void>}>
  close(): Promise<void>
}

export function captureContract(name: string, open: () => Promise<OpenedCapture>): void {
  const withStore = (title: string, body: (c: CaptureStore, opened: OpenedCapture) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend.capture, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.capture on ${name}`, () => {
    withStore('rules are added with an id and a default stage, listed oldest first, and seen by a second handle', async (c, opened) => {
      expect(await c.rules()).toEqual([])
      const a = await c.addRule({to: 'bob@x.test', reply: ' 451 4.3.0 try again later ', remaining: 2})
      const b = await c.addRule({to: '/@flaky\\.test$/', reply: '554 5.6.0 no', stage: 'data'})
      expect(a).toMatchObject({to: 'bob@x.test', reply: '451 4.3.0 try again later', stage: 'rcpt', remaining: 2})
      expect(b).not.toHaveProperty('remaining')
      expect(a.id < b.id).toBe(true)
      expect(await c.rules()).toEqual([a, b])
      const other = await opened.reopen()
      try {
        expect(await other.capture.rules()).toEqual([a, b])
      } finally {
        await other.close()
      }
    })

    withStore('invalid rules are refused with `invalid` and write nothing', async (c) => {
      expect(await codeOfAsync(c.addRule({to: 'x', reply: '250 ok'}))).toBe('invalid')
      expect(await codeOfAsync(c.addRule({to: 'x', reply: '451 a\r\nb'}))).toBe('invalid')
      expect(await codeOfAsync(c.addRule({to: '/(/', reply: '451 later'}))).toBe('invalid')
      expect(await codeOfAsync(c.addRule({to: 'x', reply: '451 later', remaining: 0}))).toBe('invalid')
      expect(await codeOfAsync(c.addRule({to: 'x', reply: '451 later', remaining: 1.5}))).toBe('invalid')
      expect(await codeOfAsync(c.addRule({to: 'x', reply: '451 later', stage: 'mail' as 'rcpt'}))).toBe('invalid')
      expect(await c.rules()).toEqual([])
    })

    withStore('removeRule removes one (`not-found` for an unknown id); clearRules removes all and counts them', async (c) => {
      const a = await c.addRule({to: 'a@x.test', reply: '451 later'})
      const b = await c.addRule({to: 'b@x.test', reply: '451 later'})
      expect(await c.removeRule(a.id)).toEqual(a)
      expect(await codeOfAsync(c.removeRule(a.id))).toBe('not-found')
      expect(await c.rules()).toEqual([b])
      await c.addRule({to: 'c@x.test', reply: '451 later'})
      expect(await c.clearRules()).toBe(2)
      expect(await c.clearRules()).toBe(0)
      expect(await c.rules()).toEqual([])
    })

    withStore('takeFault: the oldest rule of the stage matching any recipient; an uncounted rule fires always', async (c) => {
      expect(await c.takeFault('rcpt', ['bob@x.test'])).toBeUndefined()
      const data = await c.addRule({to: 'bob@x.test', reply: '554 5.6.0 no', stage: 'data'})
      const first = await c.addRule({to: '/^bob@/', reply: '550 5.1.1 gone'})
      await c.addRule({to: 'bob', reply: '451 later'})
      expect(await c.takeFault('rcpt', ['amy@x.test'])).toBeUndefined()
      for (let i = 0; i < 3; i++) expect(await c.takeFault('rcpt', ['amy@x.test', 'bob@x.test'])).toEqual(first)
      // the regex is case-sensitive as written; a plain pattern is a case-insensitive substring
      expect(await c.takeFault('rcpt', ['BOB@x.test'])).toMatchObject({to: 'bob'})
      expect(await c.takeFault('data', ['bob@x.test'])).toEqual(data)
      expect(await c.rules()).toHaveLength(3)
    })

    withStore('a counted rule fires its count, then is gone and the next matching rule answers', async (c) => {
      const counted = await c.addRule({to: 'bob@x.test', reply: '451 later', remaining: 2})
      const always = await c.addRule({to: 'bob@x.test', reply: '550 gone'})
      expect(await c.takeFault('rcpt', ['bob@x.test'])).toEqual(counted)
      expect((await c.rules())[0]).toEqual({...counted, remaining: 1})
      expect(await c.takeFault('rcpt', ['bob@x.test'])).toEqual({...counted, remaining: 1})
      expect(await c.rules()).toEqual([always])
      expect(await c.takeFault('rcpt', ['bob@x.test'])).toEqual(always)
    })

    withStore('a rule with remaining=5 asked 20 times at once fires exactly 5 times', async (c) => {
      const rule = await c.addRule({to: 'bob@x.test', reply: '451 later', remaining: 5})
      const taken = await Promise.all(Array.from({length: 20}, () => c.takeFault('rcpt', ['bob@x.test'])))
      expect(taken.filter((t) => t?.id === rule.id)).toHaveLength(5)
      expect(taken.filter((t) => t === undefined)).toHaveLength(15)
      expect(await c.rules()).toEqual([])
    })
  })
}
