/**
 * Gauges (and the connection totals) read when Prometheus scrapes, from what the server already
 * keeps: the connection limiters' counters, the queue's counts by state and its shape by age
 * (src/queue/summary.ts), the store's stats and the login throttle's. Nothing here runs between
 * scrapes. The queue's age buckets read the waiting entries (queued, sending, deferred) at each
 * scrape: cheap for the queues a single server holds; a scrape interval of 15 s or more suits
 * queues of hundreds of thousands.
 */
import {Counter, Gauge, type Registry} from 'prom-client'
import type {ConnectionCounts} from '../connection-limits.js'
import {AGE_LABELS, queueShape} from '../queue/summary.js'
import type {MailboxStore, StoreStats} from '../store/backend.js'

export interface ScrapeSources {
  store: MailboxStore
  /** each protocol front-end's connection counts (undefined: it does not run) */
  connections(): Record<string, ConnectionCounts | undefined>
  /** the login throttle: sources refused outright, and sources answered after a delay */
  throttle(): Promise<{blockedAddresses: number; slowedAddresses: number}>
}

export function scrapeCollectors(registry: Registry, sources: ScrapeSources): void {
  const registers = [registry]
  const running = () => Object.entries(sources.connections()).filter((e): e is [string, ConnectionCounts] => e[1] !== undefined)

  new Gauge({
    name: 'mailbox_connections',
    help: 'connections open now, by protocol (refused ones until their socket is gone)',
    labelNames: ['protocol'],
    registers,
    collect() {
      for (const [protocol, counts] of running()) this.set({protocol}, counts.open)
    },
  })
  // totals the limiters keep: set, not counted twice
  const total = (name: string, help: string, of: (c: ConnectionCounts) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['protocol'],
      registers,
      collect() {
        this.reset()
        for (const [protocol, counts] of running()) this.inc({protocol}, of(counts))
      },
    })
  total('mailbox_connections_total', 'connections accepted since the start, by protocol', (c) => c.opened)
  total('mailbox_connections_refused_total', 'connections refused for a connection limit (total or per IP) since the start, by protocol', (c) => c.refused)

  new Gauge({
    name: 'mailbox_queue_messages',
    help: 'outbound queue entries by state',
    labelNames: ['state'],
    registers,
    async collect() {
      for (const [state, n] of Object.entries(await sources.store.queue.counts())) this.set({state}, n)
    },
  })
  new Gauge({
    name: 'mailbox_queue_waiting_messages',
    help: 'queue entries waiting for delivery (queued, sending, deferred) by age since accepted, in minutes (buckets as `mailbox queue summary`)',
    labelNames: ['age'],
    registers,
    async collect() {
      const shape = await queueShape(sources.store.queue)
      AGE_LABELS.forEach((age, i) => this.set({age}, shape.total.ages[i]!))
    },
  })

  // one stats() call per scrape serves all three
  let stats: ReturnType<MailboxStore['stats']> | undefined
  const storeStats = () => (stats ??= sources.store.stats().finally(() => setImmediate(() => (stats = undefined))))
  new Gauge({
    name: 'mailbox_store_size_bytes',
    help: "the store on disk: LMDB's data file, or on PostgreSQL the size of the whole database",
    registers,
    async collect() {
      this.set((await storeStats()).sizeBytes)
    },
  })
  // LMDB's alone: not registered on PostgreSQL (a 0 there would read as "no free pages")
  if (sources.store.kind === 'lmdb') {
    const lmdbGauge = (name: string, help: string, of: (stats: StoreStats) => number | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(of(await storeStats()) ?? 0)
        },
      })
    lmdbGauge('mailbox_store_free_pages', 'LMDB: pages of the data file no database uses, reused before the file grows', (s) => s.freePages)
    lmdbGauge('mailbox_store_page_size_bytes', 'LMDB: the page size', (s) => s.pageSize)
  }

  new Gauge({
    name: 'mailbox_auth_throttled_addresses',
    help: 'sources (IPv4 address or IPv6 /64) with failed logins in the throttle window: blocked (refused outright) or slowed (answered after a delay)',
    labelNames: ['state'],
    registers,
    async collect() {
      const {blockedAddresses, slowedAddresses} = await sources.throttle()
      this.set({state: 'blocked'}, blockedAddresses)
      this.set({state: 'slowed'}, slowedAddresses)
    },
  })
}
