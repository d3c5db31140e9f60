/**
 * Whether a domain is local, for what asks on every request from anyone (the HTTP side's
 * autoconfig and MTA-STS routes), without a store round trip per request.
 *
 * PostgreSQL: the set of local domains, held in memory: loaded at the first question and dropped
 * at each directory change the store reports (any node's, see ../store/backend.ts StoreChange).
 * A load that was under way when a change arrived still answers the questions asked before it,
 * but is not kept. LMDB: a live read each time, as cheap as a lookup in memory (the file is
 * mapped) and the only way to see a domain that `mailbox domain add`, another process, wrote:
 * the LMDB change feed reports this process's writes only.
 */
import type {MailboxStore} from '../store/backend.js'

export class LocalDomainCache {
  private held: Promise<Set<string>> | undefined
  private readonly unwatch: () => void

  constructor(private readonly store: Pick<MailboxStore, 'kind' | 'directory' | 'changes'>) {
    this.unwatch = store.changes.on((change) => {
      if (change.kind === 'directory' || change.kind === 'resync') this.held = undefined
    })
  }

  /** `domain` is an A-label, lower case */
  async has(domain: string): Promise<boolean> {
    if (this.store.kind === 'lmdb') return this.store.directory.isLocalDomain(domain)
    return (await this.domains()).has(domain)
  }

  private domains(): Promise<Set<string>> {
    if (this.held) return this.held
    const loading = this.store.directory.domains().then((list) => new Set(list.map((d) => d.name)))
    this.held = loading
    // a failed load is not kept: the next question tries again
    loading.catch(() => {
      if (this.held === loading) this.held = undefined
    })
    return loading
  }

  close(): void {
    this.unwatch()
  }
}
