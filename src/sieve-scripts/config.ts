/**
 * The `sieve` config keys that bound what a user may store (config `sieve.maxScripts`,
 * `sieve.maxScriptBytes`): the CLI's `sieve put` and `user vacation`, and ManageSieve, pass them
 * to `store.sieve.put` as its quota.
 */
import type {SieveQuota} from '../store/backend.js'

export type SieveConfig = SieveQuota

export const DEFAULT_SIEVE_CONFIG: SieveConfig = {maxScripts: 20, maxScriptBytes: 65_536}

/** the quota a config gives (a copy: the caller may not change the config through it) */
export const sieveQuotaOf = (config: {sieve: SieveConfig}): SieveQuota => ({maxScripts: config.sieve.maxScripts, maxScriptBytes: config.sieve.maxScriptBytes})
