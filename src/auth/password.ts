/**
 * Password hashing: argon2id, PHC strings (the parameters travel inside each hash, so they can be
 * raised later without invalidating existing passwords). Hashing runs on libuv's thread pool and
 * does not block the event loop.
 */
import argon2 from 'argon2'
import {MailboxError} from '../errors.js'

/** argon2's defaults (m=64 MiB, t=3, p=4): about 170 ms a hash on this class of machine */
export const HASH_OPTIONS = {type: argon2.argon2id, memoryCost: 65536, timeCost: 3, parallelism: 4} as const
const MAX_PASSWORD_BYTES = 1024

export function checkPasswordShape(password: string): void {
  if (password.length === 0) throw new MailboxError('invalid', 'password must not be empty')
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new MailboxError('invalid', `password longer than ${MAX_PASSWORD_BYTES} bytes`)
  if (/[\u0000\r\n]/.test(password)) throw new MailboxError('invalid', 'password must not contain NUL or line breaks')
}

export async function hashPassword(password: string): Promise<string> {
  checkPasswordShape(password)
  return argon2.hash(password, HASH_OPTIONS)
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password)
  } catch {
    return false // a malformed stored hash never authenticates
  }
}

let dummyHash: Promise<string> | undefined
/** Verifies against a throwaway hash so an unknown user costs as much time as a known one. */
export async function burnVerify(password: string): Promise<void> {
  dummyHash ??= argon2.hash('mailbox-timing-equalizer', HASH_OPTIONS)
  await verifyPassword(await dummyHash, password)
}
