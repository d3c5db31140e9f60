/**
 * What ManageSieve needs of the store: a user's scripts (store.sieve, both backends), and the
 * quota the configuration sets (sieve.maxScripts, sieve.maxScriptBytes), read per command so a
 * reload applies.
 */
// TODO(managesieve): until h21-store lands, the contract's shape (docs/briefs h21-shared, Contract 1)
export interface SieveScriptInfo {
  name: string
  active: boolean
  size: number
  updatedAt: number
}
export interface SieveScript {
  name: string
  content: string
  active: boolean
}
export interface SieveQuota {
  maxScripts: number
  maxScriptBytes: number
}
export interface SieveScripts {
  list(user: string): Promise<SieveScriptInfo[]>
  get(user: string, name: string): Promise<SieveScript | undefined>
  put(user: string, name: string, content: string, quota: SieveQuota): Promise<SieveScriptInfo>
  activate(user: string, name: string | null): Promise<void>
  remove(user: string, name: string): Promise<void>
  rename(user: string, from: string, to: string): Promise<void>
}
