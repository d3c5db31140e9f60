/** The MailboxError code a call fails with; fails the test when it succeeds or throws something else. */
import {expect} from 'vitest'
import {MailboxError} from '../../src/errors.js'

export function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MailboxError)
    return (err as MailboxError).code
  }
  throw new Error('expected a MailboxError, nothing was thrown')
}

export async function codeOfAsync(work: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof work === 'function' ? work() : work)
  } catch (err) {
    expect(err).toBeInstanceOf(MailboxError)
    return (err as MailboxError).code
  }
  throw new Error('expected a MailboxError, nothing was thrown')
}
