/**
 * Certificates obtained and renewed by themselves (ACME, RFC 8555), one per name (./names.ts).
 *
 * The kept certificates are served already (App installs store.certs at start and on each change:
 * ../certs/from-store.ts). From start a check runs in the background: the listeners are up,
 * serving the default (self-signed or configured) certificate for a name until its own arrives. A check orders each name that has no
 * certificate, or one expiring within `renewBeforeMs`; checks come every `checkIntervalMs`, sooner
 * when a renewal or a retry falls due, and a few seconds after the local domains change. A failed
 * order is logged and retried after `retryMinMs`, doubling with each failure up to `retryMaxMs`;
 * `status` shows each name's state, last error and next attempt. `renew()` (`mailbox cert renew`)
 * orders now, due or not.
 *
 * Invariants: one order at a time in this process (they queue on `ordering`), so an account is
 * registered once and a name is never ordered twice at once from one node. After an order the
 * certificate is put in the store (durably) before it is installed. With a PostgreSQL store the
 * nodes share certificates: each node serves what another put (the change feed), and re-reads a
 * name's certificate just before ordering it, so a node that finds it renewed by another takes
 * that one. Two nodes whose checks fall at the same moment may both order a name; the CA then
 * issues two certificates, both valid, and the last put is the one every node serves.
 */
import {X509Certificate} from 'node:crypto'
import type {CertificateStore, StoredCertificate, TlsCertificates} from '../certs/types.js'
import {MailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import {RepeatingTask} from '../repeating-task.js'
import type {ChangeFeed, DirectoryStore} from '../store/backend.js'
import {retryDelay, type AcmeConfig} from './config.js'
import {certificateNames} from './names.js'
import type {ChallengeType, OrderRequest} from './order.js'

/** after the local domains change, the check waits this long (a burst of `domain add` is one check) */
const DIRECTORY_SETTLE_MS = 5_000
/** at stop, how long an order under way may take to finish */
const STOP_GRACE_MS = 10_000
/** a check is never sooner than this after the previous one */
const MIN_CHECK_GAP_MS = 1_000

export type AcmeNameState = 'valid' | 'ordering' | 'failed' | 'pending'

export interface AcmeNameStatus {
  name: string
  /** valid: a certificate not yet due; pending: none yet, or due, the order not started; failed: waiting to retry */
  state: AcmeNameState
  notAfter?: number
  issuer?: string
  /** when the certificate falls due for renewal */
  renewAt?: number
  /** failed orders in a row */
  failures: number
  lastError?: string
  lastErrorAt?: number
  /** a failed name: when it is ordered again */
  nextAttemptAt?: number
  lastOrderAt?: number
}

export interface AcmeStatus {
  directory: string
  challenge: ChallengeType
  names: AcmeNameStatus[]
}

export interface AcmeRenewResult {
  name: string
  ok: boolean
  serial?: string
  notAfter?: number
  issuer?: string
  error?: string
}

export interface AcmeStore {
  directory: Pick<DirectoryStore, 'domains'>
  certs: CertificateStore
  changes: ChangeFeed
}

/** what orders a certificate: ./order.ts's AcmeOrderer (acme-client) */
export interface Orderer {
  order(request: OrderRequest): Promise<StoredCertificate>
}

export interface AcmeManagerOptions {
  hostname: string
  /** read at each check and order: a reload applies */
  config: () => AcmeConfig & {directory: string}
  challenge: ChallengeType
}

export class AcmeManager {
  private readonly states = new Map<string, AcmeNameStatus>()
  private ordering: Promise<unknown> = Promise.resolve()
  private checking?: Promise<void>
  private nextCheckAt = 0
  private settleTimer?: NodeJS.Timeout
  private unwatch: () => void = () => {}
  private readonly task: RepeatingTask
  private stopped = false

  constructor(
    private readonly store: AcmeStore,
    private readonly tls: Pick<TlsCertificates, 'install'>,
    private readonly orderer: Orderer,
    private readonly options: AcmeManagerOptions,
    private readonly log: Logger,
  ) {
    this.task = new RepeatingTask(
      () => this.check(),
      () => Math.max(MIN_CHECK_GAP_MS, this.nextCheckAt - Date.now()),
      (err) => this.log.error({err}, 'certificate check failed'),
    )
  }

  /**
   * Checks in the background from now on (the listeners do not wait for the CA). The kept
   * certificates are served already: App installs store.certs at start and on each change
   * (../certs/from-store.ts), another node's renewals included.
   */
  async start(): Promise<void> {
    this.unwatch = this.store.changes.on((change) => {
      if (change.kind === 'directory') this.settle()
    })
    this.nextCheckAt = Date.now()
    this.task.start()
  }

  /** no new orders; one under way may finish (and be kept) within STOP_GRACE_MS, else it is left to fail on the closed store */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.settleTimer)
    this.unwatch()
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS).unref()))
    await Promise.race([Promise.all([this.task.stop(), this.ordering]), grace])
    clearTimeout(timer)
  }

  status(): AcmeStatus {
    return {directory: this.options.config().directory, challenge: this.options.challenge, names: [...this.states.values()].map((s) => ({...s}))}
  }

  /** `mailbox cert renew [NAME]`: orders now, due or not; every name when none is given */
  async renew(name?: string): Promise<AcmeRenewResult[]> {
    const wanted = await this.names()
    const one = name?.toLowerCase().replace(/\.$/, '')
    if (one !== undefined && !wanted.includes(one)) throw new MailboxError('not-found', `${name} is not a name this server orders certificates for (${wanted.join(', ') || 'none'}): the host name, and mta-sts. and autoconfig. of each local domain`)
    const names = one === undefined ? wanted : [one]
    const results: AcmeRenewResult[] = []
    for (const n of names) results.push(await this.serialized(() => this.order(n)))
    return results
  }

  /** one check at a time; a check asked for while one runs is that one */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined))
    return this.checking
  }

  private async checkOnce(): Promise<void> {
    const config = this.options.config()
    const names = await this.names()
    for (const gone of [...this.states.keys()].filter((n) => !names.includes(n))) this.states.delete(gone)
    let next = Date.now() + config.checkIntervalMs
    for (const name of names) {
      if (this.stopped) return
      const state = this.stateOf(name)
      if (state.nextAttemptAt !== undefined && state.nextAttemptAt > Date.now()) {
        next = Math.min(next, state.nextAttemptAt)
        continue
      }
      const kept = await this.store.certs.get(name)
      if (kept && !this.due(kept)) {
        this.markValid(state, kept)
        next = Math.min(next, state.renewAt!)
        continue
      }
      await this.serialized(async () => {
        // another node (a shared store) may have renewed it while this one waited its turn
        const now = await this.store.certs.get(name)
        if (now && !this.due(now)) {
          this.markValid(state, now)
          return
        }
        await this.order(name)
      })
      const after = this.stateOf(name)
      next = Math.min(next, after.nextAttemptAt ?? after.renewAt ?? next)
    }
    this.nextCheckAt = next
  }

  private async order(name: string): Promise<AcmeRenewResult> {
    const config = this.options.config()
    const state = this.stateOf(name)
    state.state = 'ordering'
    state.lastOrderAt = Date.now()
    const started = Date.now()
    this.log.info({name, directory: config.directory, challenge: this.options.challenge}, 'ordering certificate')
    try {
      const certificate = await this.orderer.order({
        directory: config.directory,
        ...(config.email ? {email: config.email} : {}),
        name,
        challenge: this.options.challenge,
        orderTimeoutMs: config.orderTimeoutMs,
      })
      await this.store.certs.put(certificate)
      this.install(certificate)
      this.markValid(state, certificate)
      const serial = serialOf(certificate.certPem)
      this.log.info({name, serial, notAfter: new Date(certificate.notAfter).toISOString(), issuer: certificate.issuer, ms: Date.now() - started}, 'certificate obtained')
      return {name, ok: true, serial, notAfter: certificate.notAfter, issuer: certificate.issuer}
    } catch (err) {
      const message = errorText(err)
      state.state = 'failed'
      state.failures++
      state.lastError = message
      state.lastErrorAt = Date.now()
      state.nextAttemptAt = Date.now() + retryDelay(config, state.failures)
      if (!this.stopped) {
        this.log.warn({name, error: message, failures: state.failures, nextAttemptAt: new Date(state.nextAttemptAt).toISOString()}, 'certificate order failed')
      }
      return {name, ok: false, error: message}
    }
  }

  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const result = this.ordering.then(run)
    this.ordering = result.catch(() => {})
    return result
  }

  private async names(): Promise<string[]> {
    return certificateNames(this.options.hostname, (await this.store.directory.domains()).map((d) => d.name))
  }

  private due(certificate: StoredCertificate): boolean {
    return certificate.notAfter - this.options.config().renewBeforeMs <= Date.now()
  }

  private stateOf(name: string): AcmeNameStatus {
    let state = this.states.get(name)
    if (!state) this.states.set(name, (state = {name, state: 'pending', failures: 0}))
    return state
  }

  private markValid(state: AcmeNameStatus, certificate: StoredCertificate): void {
    state.state = 'valid'
    state.notAfter = certificate.notAfter
    state.issuer = certificate.issuer
    state.renewAt = certificate.notAfter - this.options.config().renewBeforeMs
    state.failures = 0
    delete state.nextAttemptAt
  }

  private install(certificate: StoredCertificate): void {
    try {
      this.tls.install(certificate)
    } catch (err) {
      this.log.error({name: certificate.names[0], error: errorText(err)}, 'a kept certificate does not load (`mailbox cert renew NAME` orders a new one)')
    }
  }

  private settle(): void {
    clearTimeout(this.settleTimer)
    this.settleTimer = setTimeout(() => void this.check().catch((err: unknown) => this.log.error({err}, 'certificate check failed')), DIRECTORY_SETTLE_MS).unref()
  }
}

export function serialOf(certPem: string): string {
  return new X509Certificate(certPem).serialNumber.toLowerCase()
}

/** an ACME problem's detail (RFC 7807) when the CA gave one, else the error's message */
function errorText(err: unknown): string {
  const e = err as Error & {response?: {data?: {detail?: string}}}
  return (e?.response?.data?.detail ?? e?.message ?? String(err)).slice(0, 1000)
}
