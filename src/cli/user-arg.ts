/** Resolves a USER argument to an existing user's canonical address. */
import {normalizeAddress} from '../address.js'
import {MailboxError} from '../errors.js'
import type {MailboxStore} from '../store/backend.js'

export async function existingUser(store: MailboxStore, input: string): Promise<string> {
  const address = normalizeAddress(input)
  if (!(await store.directory.user(address))) throw new MailboxError('not-found', `no user ${address}`)
  return address
}
