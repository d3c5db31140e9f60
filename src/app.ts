/**
 * The composition root of `mailbox serve`.
 *
 * Start: take the data dir's pid lock → open the store (checks and migrates the schema) → start
 * the actors → listen (control socket, then protocol listeners) → start the outbound queue →
 * publish `server.started`. Stop is the reverse: stop listening and drain → stop the actors →
 * flush and close the store → release the lock. A failure half-way through start (a port that
 * is taken) undoes what was started; the queue starts only once every listener is bound, so such
 * a start has sent nothing. Reload (SIGHUP) re-reads the TLS files and applies the settings
 * that can change without a restart (see reload()).
 */
import type {SecureContext} from 'node:tls'
import {AuthActor} from './auth/actor.js'
import {hashCostWarning} from './auth/password.js'
import {RSA_BITS, RSA_BITS_ENV, rsaBits} from './dkim/keys.js'
import {Bus, type Actor} from './bus.js'
import {matcherPort, poolOptionsOf, type ServeConfig} from './config.js'
import type {ConnectionCounts} from './connection-limits.js'
import {checkMetricsAccess} from './metrics/config.js'
import type {MetricsService} from './metrics/service.js'
import {readCaFile, readPasswordFile, resolveRelay, trustWith, type ResolvedRelay} from './delivery/relay.js'
import type {RouteConfig} from './delivery/route.js'
import {controlSocketPath} from './control/protocol.js'
import {ControlServer} from './control/server.js'
import type {Logger} from './log.js'
import {CaptureActor} from './capture/actor.js'
import {CaptureRetention} from './capture/retention.js'
import {GreylistActor} from './spam/greylist-actor.js'
import {MailAuthActor} from './mail-auth/actor.js'
import {MailstoreActor} from './mailstore/actor.js'
import {MatcherServer} from './matcher/server.js'
import {requiredToken} from './matcher/token.js'
import {acquirePidLock} from './pidlock.js'
import {ImapFrontEnd} from './imap/server.js'
import {Pop3FrontEnd} from './pop3/server.js'
import {ManageSieveFrontEnd} from './managesieve/server.js'
import {StsPolicies} from './mta-sts/policies.js'
import {QueueActor, type QueueActorOptions} from './queue/actor.js'
import {LearnActor} from './spam/learn-actor.js'
import {RspamdClient} from './spam/rspamd.js'
import {RspamdActor} from './spam/rspamd-actor.js'
import {SmtpFrontEnd} from './smtp/server.js'
import {SpamActor} from './spam/actor.js'
import {storeCounts, type ConnectionsStatus, type ListenerInfo, type ServerStatus} from './status.js'
import {guardCommitFailures} from './store/commit-failure.js'
import {clusterStatus} from './cluster-status.js'
import {nodeIdOf, startNodePresence} from './node-presence.js'
import type {MailboxStore} from './store/backend.js'
import {openStoreBackend} from './store/open.js'
import type {NodePresence} from './store/pg/nodes.js'
import {ensureDataDir, type Store} from './store/store.js'
import {LIVE_SECTIONS, assignLive, restartOnlyChanges} from './reload.js'
import {sieveQuotaOf} from './sieve-scripts/config.js'
import {loadTls, type TlsMaterial} from './tls.js'
import {ServedCertificates} from './certs/tls-certificates.js'
import {serveStoredCertificates} from './certs/from-store.js'
import {describeDefaultPem, describeStored, type CertificateInfo} from './certs/inventory.js'
import {HttpFrontEnd} from './http/server.js'
import {ChallengeResponses} from './acme/challenges.js'
import type {AcmeManager} from './acme/manager.js'
import {MailboxError} from './errors.js'
import {routesOf} from './http/routes-of.js'
import {MAX_PENDING_DAYS, boundsOf} from './tls-rpt/config.js'
import {TlsReportRecorder} from './tls-rpt/recorder.js'
import {TlsReporter} from './tls-rpt/reporter.js'
import {VERSION} from './version.js'

export class App {
  readonly bus = new Bus()
  readonly startedAt = Date.now()
  private readonly actors: Actor[] = []
  private readonly listeners: ListenerInfo[] = []
  private control?: ControlServer
  private auth?: AuthActor
  private mailAuth?: MailAuthActor
  private spam?: SpamActor
  private smtp?: SmtpFrontEnd
  private imap?: ImapFrontEnd
  private pop3?: Pop3FrontEnd
  private managesieve?: ManageSieveFrontEnd
  private http?: HttpFrontEnd
  /**
   * The certificates every TLS listener asks at each handshake: the default pair (tlsCert/tlsKey
   * or the self-signed one; a reload replaces it) and those kept in store.certs (installed at
   * start and on each change, ACME's included). Other parts (ACME) install into it.
   */
  certificates?: ServedCertificates
  private unwatchCertificates: () => void = () => {}
  /** ends the HTTP routes' change listener (their local-domain cache) */
  private closeRoutes: () => void = () => {}
  /** the default pair's certificate as served now (status shows it) */
  private defaultCertPem?: Buffer
  /** acme.directory set: the challenge answers (made before the HTTP side), and the manager (started once it listens) */
  private acmeResponses?: ChallengeResponses
  private acme?: AcmeManager
  private matcher?: MatcherServer
  private queue?: QueueActor
  /** Node's CAs plus mtaSts.caFile, for remote MTA-STS policy hosts (undefined: Node's alone) */
  private stsTrust?: SecureContext
  /** `metrics.port` set: counting from start-up, listening once the protocol listeners are */
  private metrics?: MetricsService
  /** in the store's node registry (a PostgreSQL store) */
  private presence?: NodePresence
  private unwatchQueue: () => void = () => {}
  private stopping?: Promise<void>
  /** a failed store commit is the writer's to handle, not a reason to end the process */
  private readonly unguardCommits: () => void

  private constructor(
    readonly config: ServeConfig,
    readonly store: MailboxStore,
    private readonly log: Logger,
    private readonly releaseLock: () => void,
  ) {
    this.bus.onListenerError = (err, event) => log.error({err, event: event.event}, 'event listener failed')
    this.unguardCommits = guardCommitFailures(log.child({component: 'store'}))
    // PostgreSQL's feed logs its listeners' failures itself (./store/pg/changes.ts)
    if (store.kind === 'lmdb') (store as Store).changeEmitter.onListenerError = (err, change) => log.error({err, change: change.kind}, 'a store change listener failed')
  }

  static async start(config: ServeConfig, log: Logger): Promise<App> {
    checkMetricsAccess(config.metrics)
    ensureDataDir(config.dataDir)
    // the data dir (TLS files, control socket) is one server's on either backend; nodes share a
    // PostgreSQL store on purpose, each with a data dir of its own
    const releaseLock = acquirePidLock(config.dataDir)
    let store: MailboxStore
    try {
      store = await openStoreBackend({dataDir: config.dataDir, store: config.store, pool: poolOptionsOf(config), node: config.nodeId ?? nodeIdOf(config.hostname, config.dataDir), log: log.child({component: 'store'})})
    } catch (err) {
      releaseLock()
      throw err
    }
    const app = new App(config, store, log, releaseLock)
    try {
      await app.startParts()
    } catch (err) {
      await app.stop()
      throw err
    }
    return app
  }

  private async startParts(): Promise<void> {
    const {bus, store, log, config} = this
    const material = await loadTlsOf(config)
    log.info({source: material.source}, 'tls certificate')
    const tls = (this.certificates = new ServedCertificates(material))
    this.defaultCertPem = material.cert
    this.unwatchCertificates = await serveStoredCertificates(tls, store, log.child({component: 'certs'}))
    // loaded only with ACME on; a challenge whose port is off is refused before anything listens
    const acme = config.acme.directory ? await import('./acme/start.js') : undefined
    if (acme) {
      acme.chooseChallenge(config.acme.challenge, {http: config.ports.http, https: config.ports.https})
      this.acmeResponses = new ChallengeResponses()
    }
    // $MAILBOX_PASSWORD_HASH_COST (test suites): said at every start, and a bad value stops it here
    const weakHashes = hashCostWarning()
    if (weakHashes) log.warn({component: 'auth'}, weakHashes)
    if (rsaBits() < RSA_BITS) log.warn({component: 'dkim'}, `${RSA_BITS_ENV} makes ${rsaBits()}-bit DKIM RSA keys at domain add (default ${RSA_BITS}): meant for test suites only`)
    this.auth = new AuthActor(bus, store, log.child({component: 'auth'}), config.auth)
    // the MX asks it about mail from outside, the mailstore for the signatures of mail that
    // leaves; capture mode takes every message unchecked and sends nothing out
    if (!config.capture) {
      this.mailAuth = new MailAuthActor(bus, store, log.child({component: 'mailauth'}), {hostname: config.hostname, config: config.inboundAuth, dnsServers: config.dnsServers})
      this.spam = new SpamActor(bus, log.child({component: 'spam'}), {hostname: config.hostname, config: config.spam, dnsServers: config.dnsServers})
      this.actors.push(this.mailAuth, this.spam)
    }
    this.actors.push(
      this.auth,
      new MailstoreActor(bus, store, log.child({component: 'mailstore'}), {
        hostname: config.hostname,
        capture: config.capture,
        maxMessageSize: config.smtp.maxMessageSize,
        sortCacheEntries: config.imap.sortCacheEntries,
        dkim: config.dkim,
        sieve: config.sieve,
        srs: config.srs,
        ...(this.mailAuth ? {signer: (message, domain, keys) => bus.call('mailauth.sign', {message, domain, keys})} : {}),
      }),
      new CaptureActor(bus, store),
    )
    this.startSpamActors()
    // after the mailstore, whose expunge it uses (and so stopped before it)
    if (config.capture) this.actors.push(new CaptureRetention(bus, store, log.child({component: 'capture'}), config.captureRetention))
    // capture mode takes every message: no greylisting (the config is read at each RCPT: a reload applies)
    if (!config.capture) this.actors.push(new GreylistActor(bus, store, log.child({component: 'greylist'}), () => config.spam.greylist))
    // capture mode never relays: no queue runner, so nothing can leave
    if (!config.capture) {
      const relay = this.resolveRelay(config)
      const tlsReports = this.startTlsReports()
      const stsTrustedCa = stsTrustOf(config)
      this.stsTrust = stsTrustedCa === undefined ? undefined : trustWith(stsTrustedCa)
      const sts = new StsPolicies(store.mtaSts, log.child({component: 'mta-sts'}), {config: () => config.mtaSts, dnsServers: () => config.dnsServers, trust: () => this.stsTrust})
      this.actors.push(sts)
      this.queue = new QueueActor(bus, store.queue, log.child({component: 'queue'}), {
        hostname: config.hostname,
        queue: config.queue,
        route: routeOf(config, relay),
        ...(relay.trustedCa ? {trustedCa: relay.trustedCa} : {}),
        ...tlsReports,
        sts,
        ...(stsTrustedCa ? {stsTrustedCa} : {}),
      })
      // stopped after the front-ends (which may still hand it mail), started after them (below)
      this.actors.push(this.queue)
      // entries another node made due (PostgreSQL's queue signal); on one node queue.added does it
      const foreman = this.queue
      this.unwatchQueue = store.changes.on((change) => {
        if (change.kind === 'queue') foreman.dueAt(change.dueAt)
        else if (change.kind === 'resync') foreman.kick()
      })
    }
    for (const actor of this.actors) if (actor !== this.queue) await actor.start()
    bus.handle('server.status', () => this.status())
    bus.handle('acme.renew', ({name}) => {
      if (!this.acme) throw new MailboxError('invalid', 'ACME is off on this server: set acme.directory (serve --acme-directory) to order certificates')
      return this.acme.renew(name)
    })
    await this.startMetrics()

    this.control = new ControlServer(bus, controlSocketPath(config.dataDir), log.child({component: 'control'}), {
      maxMessageSize: config.smtp.maxMessageSize,
    })
    await this.control.start()
    this.listeners.push({name: 'control', address: controlSocketPath(config.dataDir)})

    // protocol front-ends last: by the time a client connects, everything behind them runs
    const {ports, bind, hostname, capture, allowInsecureAuth} = config
    this.smtp = new SmtpFrontEnd(bus, {bind, hostname, ports, capture, allowInsecureAuth, limits: config.smtp}, tls, log.child({component: 'smtp'}))
    this.actors.push(this.smtp)
    await this.smtp.start()
    this.listeners.push(...this.smtp.listeners)
    this.imap = new ImapFrontEnd(bus, {bind, hostname, ports, allowInsecureAuth, limits: config.imap}, tls, log.child({component: 'imap'}))
    if (this.metrics) this.imap.commandDone = this.metrics.imapCommandDone
    this.actors.push(this.imap)
    await this.imap.start()
    this.listeners.push(...this.imap.listeners)
    this.pop3 = new Pop3FrontEnd(bus, {bind, hostname, ports, allowInsecureAuth, limits: config.pop3}, tls, log.child({component: 'pop3'}))
    this.actors.push(this.pop3)
    await this.pop3.start()
    this.listeners.push(...this.pop3.listeners)
    await this.startManageSieve(tls)
    await this.startHttp(tls)
    await this.startMatcher()
    if (this.metrics) this.listeners.push(await this.metrics.listen())
    // the challenge ports listen: orders may start (in the background; the self-signed pair serves meanwhile)
    if (acme) {
      const {hostname, ports} = config
      this.acme = await acme.startAcme({config: () => this.config.acme, hostname, ports: {http: ports.http, https: ports.https}, store, tls, responses: this.acmeResponses!, log: log.child({component: 'acme'})})
    }
    // every listener is bound: only now may mail leave (a failed start has delivered nothing)
    await this.queue?.start()
    // a PostgreSQL store: the other nodes' `status` sees this one, with what it listens on
    this.presence = await startNodePresence(store, {nodeId: config.nodeId, hostname: config.hostname, dataDir: config.dataDir, listeners: this.listeners}, log.child({component: 'node'}))

    bus.publish('server.started', {pid: process.pid})
    log.info({pid: process.pid, version: VERSION, dataDir: config.dataDir, store: store.path, listeners: this.listeners}, 'mailbox started')
  }

  /**
   * rspamd (spam.rspamd): the check the end-of-DATA decision asks (MX only: capture mode takes
   * every message unchecked), and the learning from users' moves, which runs without rspamd too
   * (the moves are then only counted)
   */
  private startSpamActors(): void {
    const {config, bus, store, log} = this
    const rspamd = config.spam.rspamd
    const warnings: string[] = []
    const password = rspamd.password ?? (rspamd.passwordFile ? readPasswordFile(rspamd.passwordFile, warnings, 'rspamd password file') : undefined)
    for (const warning of warnings) log.warn({component: 'rspamd'}, warning)
    const client =
      rspamd.url || rspamd.controllerUrl
        ? new RspamdClient({url: rspamd.url, controllerUrl: rspamd.controllerUrl, password, timeoutMs: rspamd.timeoutMs, maxConnections: rspamd.maxConnections, maxReplyBytes: rspamd.maxReplyBytes})
        : undefined
    if (client && rspamd.url && !config.capture) {
      this.actors.push(new RspamdActor(bus, client, log.child({component: 'rspamd'})))
      log.info({component: 'rspamd', url: rspamd.url, timeoutMs: rspamd.timeoutMs}, 'inbound mail is checked by rspamd')
    }
    const learning = rspamd.learn && rspamd.controllerUrl ? client : undefined
    this.actors.push(new LearnActor(bus, store, log.child({component: 'learn'}), rspamd, learning))
  }

  /**
   * TLS reporting (tlsRpt.enabled): the recorder the queue tells each MX session's TLS outcome,
   * and the daily reports. Both stop after the queue (they are before it in `actors`), so the
   * last attempts' outcomes are flushed. Returns what the queue asks and tells.
   */
  private startTlsReports(): Pick<QueueActorOptions, 'tlsOutcomes' | 'isTlsReport'> {
    const {config, bus, store} = this
    if (!config.tlsRpt.enabled) return {}
    const log = this.log.child({component: 'tls-rpt'})
    const live = config.tlsRpt
    const recorder = new TlsReportRecorder(store.tlsReports, log, {
      get flushMs() {
        return live.flushMs
      },
      get bounds() {
        return boundsOf(live)
      },
      maxPendingDays: MAX_PENDING_DAYS,
    })
    const reporter = new TlsReporter(bus, store, log, {config})
    this.actors.push(recorder, reporter)
    return {
      tlsOutcomes: (_entry, outcomes) => {
        for (const outcome of outcomes) recorder.record(outcome)
      },
      // report mail goes whatever the TLS, and its sessions are not counted (RFC 8460 §5.3)
      isTlsReport: (entry, message) => reporter.isReport(entry.from, message),
    }
  }

  /** loaded only when asked for: prom-client stays out of every other start-up */
  private async startMetrics(): Promise<void> {
    if (!this.config.metrics.port) return
    const {MetricsService} = await import('./metrics/service.js')
    this.metrics = new MetricsService(
      this.config.metrics,
      {
        bus: this.bus,
        store: this.store,
        connections: () => this.limiterCounts(),
        throttle: () => this.auth!.status(),
        listeners: () => this.listeners,
        stopping: () => this.stopping !== undefined,
      },
      this.log.child({component: 'metrics'}),
    )
  }

  /** only when its port is configured (managesieve.port, serve --managesieve-port) */
  private async startManageSieve(tls: ServedCertificates): Promise<void> {
    const {bind, hostname, allowInsecureAuth, managesieve} = this.config
    if (!managesieve.port) return
    this.managesieve = new ManageSieveFrontEnd(
      this.bus,
      {
        bind,
        hostname,
        allowInsecureAuth,
        config: managesieve,
        sieve: this.store.sieve,
        // read per command: a reload applies
        quota: () => sieveQuotaOf(this.config),
        maxRedirects: () => this.config.sieve.maxRedirects,
      },
      tls,
      this.log.child({component: 'managesieve'}),
    )
    this.actors.push(this.managesieve)
    await this.managesieve.start()
    this.listeners.push(...this.managesieve.listeners)
  }

  /** the HTTP side (ports.http, ports.https): only when a port is set */
  private async startHttp(tls: ServedCertificates): Promise<void> {
    const {bind, ports} = this.config
    if (!ports.http && !ports.https) return
    const log = this.log.child({component: 'http'})
    const {routes, close} = routesOf({config: this.config, store: this.store, log, bus: this.bus, ...(this.acmeResponses ? {acmeChallenge: this.acmeResponses.route} : {})})
    this.closeRoutes = close
    this.http = new HttpFrontEnd(
      {
        bind,
        ports: {http: ports.http, https: ports.https},
        limits: this.config.http,
        routes,
        certificates: tls,
        ...(this.acmeResponses ? {acmeTlsAlpn: this.acmeResponses.alpnContext.bind(this.acmeResponses)} : {}),
      },
      log,
    )
    this.actors.push(this.http)
    await this.http.start()
    this.listeners.push(...this.http.listeners)
  }

  /** only in capture mode or when its port is configured: it hands out stored mail */
  private async startMatcher(): Promise<void> {
    const {bind, dataDir} = this.config
    const port = matcherPort(this.config)
    if (!port) return
    const log = this.log.child({component: 'matcher'})
    const {token, generatedInto} = requiredToken({bind, dataDir, configured: this.config.matcher.token})
    if (generatedInto) log.info({tokenFile: generatedInto}, 'the matcher listens beyond loopback: clients need the token in this file')
    this.matcher = new MatcherServer(this.bus, {bind, port, config: {...this.config.matcher, token}}, log)
    this.actors.push(this.matcher)
    await this.matcher.start()
    this.listeners.push(...this.matcher.listeners)
  }

  private resolveRelay(config: ServeConfig): ResolvedRelay {
    const relay = resolveRelay(config.relay)
    for (const warning of relay.warnings) this.log.warn({component: 'queue'}, warning)
    if (relay.summary) this.log.info({component: 'queue', relay: relay.summary}, 'outbound relay')
    return relay
  }

  /**
   * SIGHUP: applies `next` (the config file read again) as far as it can change without a
   * restart — the TLS certificate and key (read again even from the same paths: certbot replaces
   * the files), the log level, routes, relay and DNS servers, inbound authentication
   * (inboundAuth), the spam checks (spam), MTA-STS (mtaSts, its CA file read again), and the limits of smtp, imap, pop3 and the queue. New connections and delivery
   * attempts take them; open ones keep what they have. What can fail (reading the TLS files and the relay's password file) is done before
   * anything changes, so a refused reload throws and leaves the server as it was.
   * Returns the settings that differ in `next` but wait for a restart (RESTART_ONLY).
   */
  async reload(next: ServeConfig): Promise<string[]> {
    const tls = await loadTlsOf(next)
    const relay = this.queue ? this.resolveRelay(next) : undefined
    const stsTrustedCa = stsTrustOf(next)
    const waiting = restartOnlyChanges(this.config, next)
    this.log.setLevel(next.logLevel)
    // in place: the front-ends and the queue hold these objects and read them as they go
    for (const section of LIVE_SECTIONS) assignLive(section, this.config[section], next[section])
    Object.assign(this.config, {logLevel: next.logLevel, routes: next.routes, relay: next.relay, dnsServers: next.dnsServers, tlsCert: next.tlsCert, tlsKey: next.tlsKey})
    this.mailAuth?.reconfigure(next.dnsServers)
    this.spam?.reconfigure(next.dnsServers)
    // every TLS listener asks it at each handshake: new connections get the new pair
    this.certificates?.setDefault(tls)
    this.defaultCertPem = tls.cert
    this.stsTrust = stsTrustedCa === undefined ? undefined : trustWith(stsTrustedCa)
    if (this.queue && relay) this.queue.reroute(routeOf(next, relay), relay.trustedCa, stsTrustedCa)
    this.log.info({tls: tls.source, logLevel: next.logLevel}, 'configuration reloaded')
    if (waiting.length) this.log.warn({settings: waiting}, 'changed settings that take effect only after a restart')
    return waiting
  }

  async status(): Promise<ServerStatus> {
    return {
      running: true,
      pid: process.pid,
      version: VERSION,
      hostname: this.config.hostname,
      dataDir: this.config.dataDir,
      startedAt: this.startedAt,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      listeners: this.listeners,
      connections: this.connections(),
      auth: await this.auth!.status(),
      counts: await storeCounts(this.store),
      ...(this.acme ? {acme: this.acme.status()} : {}),
      ...(this.presence ? {cluster: await clusterStatus(this.store, this.presence.timings)} : {}),
      certificates: await this.certificateStatus(),
    }
  }

  /** the default pair as served, then the stored certificates (a damaged one is left out, not a failed status) */
  private async certificateStatus(): Promise<CertificateInfo[]> {
    const pair = {dataDir: this.config.dataDir, ...(this.config.tlsCert ? {tlsCert: this.config.tlsCert} : {})}
    const out = this.defaultCertPem ? [await describeDefaultPem(this.defaultCertPem, pair)] : []
    for (const stored of await this.store.certs.list()) {
      try {
        out.push(await describeStored(stored))
      } catch (err) {
        this.log.warn({name: stored.names[0], reason: (err as Error).message}, 'a stored certificate cannot be read')
      }
    }
    return out
  }

  /** the limiters' counters of the protocol front-ends, as they are (see ConnectionsStatus) */
  private connections(): ConnectionsStatus {
    const limited = this.limiterCounts()
    const byListener: Record<string, number> = {}
    const addresses: Record<string, number> = {}
    for (const [frontEnd, counts] of Object.entries(limited)) {
      Object.assign(byListener, counts?.byListener)
      addresses[frontEnd] = counts?.addresses ?? 0
    }
    return {
      control: this.control?.connections ?? 0,
      smtp: limited.smtp?.open ?? 0,
      imap: limited.imap?.open ?? 0,
      pop3: limited.pop3?.open ?? 0,
      managesieve: limited.managesieve?.open ?? 0,
      matcher: limited.matcher?.open ?? 0,
      http: this.http?.connectionCount ?? 0,
      byListener,
      addresses,
    }
  }

  /** each protocol front-end's connection limiter, as it counts (undefined: not running) */
  private limiterCounts(): Record<'smtp' | 'imap' | 'pop3' | 'managesieve' | 'matcher', ConnectionCounts | undefined> {
    return {smtp: this.smtp?.connections, imap: this.imap?.connections, pop3: this.pop3?.connections, managesieve: this.managesieve?.connections, matcher: this.matcher?.connectionCounts}
  }

  /** Idempotent: a second signal during shutdown waits for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown()
    return this.stopping
  }

  private async shutdown(): Promise<void> {
    this.bus.publish('server.stopping', {pid: process.pid})
    this.unwatchQueue()
    this.unwatchCertificates()
    this.closeRoutes()
    // no new orders; one under way is left to fail on the closed store (./acme/manager.ts)
    await this.acme?.stop().catch((err: unknown) => this.log.warn({err}, 'acme failed to stop'))
    // front-ends first (they are last in `actors`): stop accepting, let open transactions finish
    for (const actor of [...this.actors].reverse()) {
      try {
        await actor.stop()
      } catch (err) {
        this.log.error({err, actor: actor.name}, 'actor failed to stop')
      }
    }
    await this.control?.stop()
    // last of the listeners: a scrape during the drain still gets an answer (healthz: shutting down)
    await this.metrics?.stop().catch((err: unknown) => this.log.warn({err}, 'metrics listener failed to stop'))
    await this.presence?.stop().catch((err: unknown) => this.log.warn({err}, 'could not leave the node registry (peers will list this node as stale)'))
    await this.store.close()
    this.unguardCommits()
    this.releaseLock()
    this.log.info('mailbox stopped')
  }
}

function loadTlsOf(config: ServeConfig): Promise<TlsMaterial> {
  return loadTls({dataDir: config.dataDir, hostname: config.hostname, certFile: config.tlsCert, keyFile: config.tlsKey})
}

/** mtaSts.caFile's PEM, read and checked (at start, at a reload) */
function stsTrustOf(config: ServeConfig): string | undefined {
  return config.mtaSts.caFile ? readCaFile(config.mtaSts.caFile, 'MTA-STS CA file') : undefined
}

function routeOf(config: ServeConfig, relay: ResolvedRelay): RouteConfig {
  return {routes: config.routes, dnsServers: config.dnsServers, insecure: relay.insecure, ...(relay.hop ? {relay: relay.hop} : {})}
}
