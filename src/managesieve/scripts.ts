/**
 * What ManageSieve needs of the store: a user's scripts (store.sieve, both backends; it never
 * reads the active script the way delivery does), and the quota the configuration sets
 * (sieve.maxScripts, sieve.maxScriptBytes), read per command so a reload applies.
 */
import type {SieveQuota, SieveStore} from '../store/backend.js'

export type {SieveQuota}
export type SieveScripts = Pick<SieveStore, 'list' | 'get' | 'put' | 'activate' | 'remove' | 'rename'>
