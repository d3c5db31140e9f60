/**
 * The store parts Sieve delivery uses that other branches of issue 21 add: `store.sieve`
 * (h21-store) and `store.settings.secret` (h21-srs). STAND-IN until they are merged.
 */
import {randomBytes} from 'node:crypto'
import type {MailboxStore} from '../store/backend.js'
import type {SieveDeliveryStore} from './index.js'

export const sieveStoreOf = (store: MailboxStore): SieveDeliveryStore => (store as unknown as {sieve: SieveDeliveryStore}).sieve

const standInSecret = randomBytes(32)
export const srsSecretOf = async (_store: MailboxStore): Promise<Buffer> => standInSecret
