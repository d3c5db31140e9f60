/**
 * Ids for blobs, queue entries and SMTP transactions: time-ordered (base36 milliseconds), then
 * a random tag drawn once per process (so the server and CLI processes never collide), then a
 * counter. No per-id entropy: ids are unique, not secret, and random bytes cost a syscall.
 *
 * The tag is drawn at the first id, not when this module loads: every store open loads the
 * mail store's writers (which make ids), and node:crypto is not for commands that only read
 * (`user list`, test/e2e/cli-startup.test.ts).
 */
import type * as Crypto from 'node:crypto'
import {lazyRequire} from './lazy-require.js'

let tag: string | undefined
let counter = 0

export function newId(): string {
  tag ??= lazyRequire<typeof Crypto>('node:crypto').randomBytes(4).toString('hex')
  counter = (counter + 1) % 36 ** 4
  return Date.now().toString(36).padStart(9, '0') + tag + counter.toString(36).padStart(4, '0')
}
