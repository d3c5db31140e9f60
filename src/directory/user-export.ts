/**
 * `user export`: every user (or a domain's), with the aliases that forward to that user alone,
 * in the shape `user import` reads back. An alias with several targets belongs to no single
 * user and is not part of it (`alias list` shows those). The hash only when asked for.
 */
import {domainOf, normalizeDomain} from '../address.js'
import type {MailboxStore} from '../store/backend.js'
import {requireDomain} from './domains.js'
import type {ExportedUser} from './user-file.js'

export async function exportUsers(store: MailboxStore, options: {domain?: string; withHashes?: boolean} = {}): Promise<ExportedUser[]> {
  const domain = options.domain === undefined ? undefined : normalizeDomain(options.domain)
  if (domain) await requireDomain(store, domain)
  const [aliases, users] = await Promise.all([store.directory.aliases(), store.directory.users()])
  const aliasesOf = new Map<string, string[]>()
  for (const value of aliases) {
    if (value.targets.length !== 1) continue
    const target = value.targets[0]!
    aliasesOf.set(target, [...(aliasesOf.get(target) ?? []), value.alias])
  }
  const exported: ExportedUser[] = []
  for (const user of users) {
    if (domain && domainOf(user.address) !== domain) continue
    exported.push({
      address: user.address,
      // an empty hash is a user without a password (capture mode makes those): nothing to export
      ...(options.withHashes && user.passwordHash ? {passwordHash: user.passwordHash} : {}),
      quota: user.quota,
      maxMessages: user.maxMessages ?? 0,
      aliases: aliasesOf.get(user.address) ?? [],
      disabled: user.disabled,
    })
  }
  return exported
}
