/**
 * Storing a user's Sieve script from the CLI: the text checked with parseSieve first (a script
 * that would not run is never stored), then `store.sieve.put`, and activated when asked. The
 * errors list every problem as `line N: message`, one per line (the CLI prints each as an
 * `Error:` line).
 */
import {MailboxError} from '../errors.js'
import {formatSieveErrors, parseSieve, type Script} from '../sieve/index.js'
import type {MailboxStore, SieveQuota, SieveScriptInfo} from '../store/backend.js'
import {checkSieveQuota, sieveSize} from '../store/sieve-rules.js'

/** the parsed script, or `invalid` with the errors, one `line N: …` per line */
export function checkedSieve(text: string, quota: Pick<SieveQuota, 'maxScriptBytes'>, what = 'the script'): Script {
  const parsed = parseSieve(text, {maxScriptBytes: quota.maxScriptBytes})
  if (parsed.ok) return parsed.script
  throw new MailboxError('invalid', `${what} has errors:\n${formatSieveErrors(parsed.errors).replaceAll('\r\n', '\n')}`)
}

/** Checks, stores and (with `activate`) activates one script; what `sieve put` does. */
export async function putSieveScript(store: MailboxStore, user: string, name: string, text: string, quota: SieveQuota, activate = false): Promise<SieveScriptInfo> {
  checkSieveQuota(quota, 0, true, sieveSize(text)) // the size first: a quota error, as the store would give
  checkedSieve(text, quota)
  const info = await store.sieve.put(user, name, text, quota)
  if (!activate || info.active) return info
  await store.sieve.activate(user, name)
  return {...info, active: true}
}
