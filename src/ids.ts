/**
 * Ids for blobs, queue entries and SMTP transactions: time-ordered (base36 milliseconds), then
 * a random tag drawn once per process (so the server and CLI processes never collide), then a
 * counter. No per-id entropy: ids are unique, not secret, and random bytes cost a syscall.
 */
import {randomBytes} from 'node:crypto'

const TAG = randomBytes(4).toString('hex')
let counter = 0

export function newId(): string {
  counter = (counter + 1) % 36 ** 4
  return Date.now().toString(36).padStart(9, '0') + TAG + counter.toString(36).padStart(4, '0')
}
