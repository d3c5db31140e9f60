/**
 * Server configuration: built-in defaults, then an optional config file (JSON with comments,
 * checked against config-schema.ts), then the environment and flags.
 * Ports follow DESIGN.md (unprivileged, 127.0.0.1); `0` turns a listener off. The matcher is the
 * exception: it hands out stored mail, so it listens only in capture mode or when its port is
 * given explicitly (see matcherPort).
 */
import {readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {resolve} from 'node:path'
import {createSecureContext} from 'node:tls'
import {DEFAULT_ACME, type AcmeConfig} from './acme/config.js'
import {DEFAULT_AUTH, type AuthConfig} from './auth/actor.js'
import {DEFAULT_CLIENT_SETTINGS, type ClientSettingsConfig} from './autoconfig/settings.js'
import {DEFAULT_CAPTURE_RETENTION, type CaptureRetentionConfig} from './capture/retention.js'
import {DEFAULT_RELAY, resolveRelay, type RelayConfig} from './delivery/relay.js'
import {DEFAULT_MTA_STS, type MtaStsConfig} from './mta-sts/config.js'
import {DEFAULT_DKIM, type DkimConfig} from './dkim/outbound.js'
import {DEFAULT_SIEVE_DELIVERY, type SieveDeliveryConfig} from './sieve-delivery/config.js'
import {DEFAULT_SIEVE_CONFIG, type SieveConfig} from './sieve-scripts/config.js'
import {ConfigError, isPlainObject, validateConfig} from './config-validate.js'
import {MailboxError} from './errors.js'
import {DEFAULT_IMAP_LIMITS, type ImapLimits} from './imap/limits.js'
import {DEFAULT_INBOUND_AUTH, type InboundAuthConfig} from './mail-auth/policy.js'
import {parseJsonc} from './jsonc.js'
import type {Level} from './log.js'
import {DEFAULT_MANAGESIEVE, type ManageSieveConfig} from './managesieve/limits.js'
import {DEFAULT_HTTP_LIMITS, type HttpLimits} from './http/limits.js'
import {DEFAULT_MATCHER_CONFIG, type MatcherConfig} from './matcher/server.js'
import {DEFAULT_METRICS, type MetricsConfig} from './metrics/config.js'
import {DEFAULT_POP3_LIMITS, type Pop3Limits} from './pop3/limits.js'
import {DEFAULT_QUEUE, type QueueConfig} from './queue/actor.js'
import {DEFAULT_SMTP_LIMITS, type SmtpLimits} from './smtp/server.js'
import {DEFAULT_RSPAMD, type RspamdConfig} from './spam/rspamd-config.js'
import {DEFAULT_SPAM, type SpamConfig} from './spam/config.js'
import {DEFAULT_SRS, type SrsConfig} from './srs/route.js'
import {DEFAULT_POOL_OPTIONS, type PgPoolOptions} from './store/pg/options.js'
import {DEFAULT_TLS_RPT, type TlsRptConfig} from './tls-rpt/config.js'

export const PORT_NAMES = ['smtp', 'submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s', 'http', 'https', 'matcher'] as const
export type PortName = (typeof PORT_NAMES)[number]

/** the port each listener uses when on; the matcher's only in capture mode unless set (matcherPort) */
export const DEFAULT_PORTS: Record<PortName, number> = {
  smtp: 2525,
  submission: 2587,
  smtps: 2465,
  imap: 2143,
  imaps: 2993,
  pop3: 2110,
  pop3s: 2995,
  // the HTTP side (ACME challenges, MTA-STS, autoconfig) is off unless a port is set or standardPorts
  http: 0,
  https: 0,
  matcher: 60510,
}

/** the IANA ports of a real mail host (`serve --standard-ports`, config `"standardPorts": true`) */
export const STANDARD_PORTS: Record<Exclude<PortName, 'matcher'>, number> = {
  smtp: 25,
  submission: 587,
  smtps: 465,
  imap: 143,
  imaps: 993,
  pop3: 110,
  pop3s: 995,
  http: 80,
  https: 443,
}

export interface ServeConfig {
  dataDir: string
  bind: string
  hostname: string
  /** the host's public IPv4/IPv6 addresses, for the DNS records `mailbox domain dns` prints; empty: not known */
  publicAddresses: string[]
  /** `matcher` absent: on (DEFAULT_PORTS.matcher) in capture mode, off otherwise */
  ports: Record<Exclude<PortName, 'matcher'>, number> & {matcher?: number}
  capture: boolean
  /** capture mode: how long captured mail is kept (src/capture/retention.ts) */
  captureRetention: CaptureRetentionConfig
  allowInsecureAuth: boolean
  /** what client autoconfiguration advertises when it is not the host name and listening ports (src/autoconfig/settings.ts) */
  clientSettings: ClientSettingsConfig
  /** smarthost for all outbound mail, its credentials and trust (see src/delivery/relay.ts) */
  relay: RelayConfig
  /** per-domain next hops, overriding DNS: {"example.net": "127.0.0.1:2626"} */
  routes: Record<string, string>
  /** DNS servers for MX lookups and inbound authentication (ip or ip:port); empty: the system's */
  dnsServers: string[]
  /** the MTA-STS policy served, and remote policies applied to outbound mail (src/mta-sts/) */
  mtaSts: MtaStsConfig
  /** PEM files; when absent a self-signed pair is generated into <dataDir>/tls/ */
  tlsCert?: string
  tlsKey?: string
  logLevel: Level
  /** SPF, DKIM, DMARC and ARC on the MX (src/mail-auth/) */
  inboundAuth: InboundAuthConfig
  /** the spam checks on the MX (src/spam/), and rspamd (src/spam/rspamd-config.ts) */
  spam: SpamConfig & {rspamd: RspamdConfig}
  auth: AuthConfig
  smtp: SmtpLimits
  imap: ImapLimits
  pop3: Pop3Limits
  /** the ManageSieve listener (src/managesieve/): off unless its port is set */
  managesieve: ManageSieveConfig
  /** the HTTP side's bounds (src/http/limits.ts) */
  http: HttpLimits
  matcher: MatcherConfig
  /** the monitoring listener (src/metrics/) */
  metrics: MetricsConfig
  /** certificates by ACME (src/acme/): off unless acme.directory is set */
  acme: AcmeConfig
  queue: QueueConfig
  dkim: DkimConfig
  /** users' Sieve scripts: what one may store (src/sieve-scripts/config.ts), and running them at delivery (src/sieve-delivery/) */
  sieve: SieveConfig & SieveDeliveryConfig
  /** SRS for forwarded mail and bounces to SRS addresses (src/srs/) */
  srs: SrsConfig
  /** the daily TLS reports to the domains mail goes to (RFC 8460, src/tls-rpt/) */
  tlsRpt: TlsRptConfig
  /** a postgres:// URL; absent: the LMDB store in dataDir */
  store?: string
  /** the pool of a PostgreSQL store (see src/store/pg/options.ts) */
  storePool: StorePoolConfig
  /** this node's id in a PostgreSQL store's registry; absent: nodeIdOf(hostname, dataDir) */
  nodeId?: string
}

export interface StorePoolConfig {
  size: number
  statementTimeoutMs: number
  idleInTransactionTimeoutMs: number
  connectTimeoutMs: number
}

export const DEFAULT_STORE_POOL: StorePoolConfig = {
  size: DEFAULT_POOL_OPTIONS.poolSize,
  statementTimeoutMs: DEFAULT_POOL_OPTIONS.statementTimeoutMs,
  idleInTransactionTimeoutMs: DEFAULT_POOL_OPTIONS.idleInTransactionTimeoutMs,
  connectTimeoutMs: DEFAULT_POOL_OPTIONS.connectTimeoutMs,
}

/** the pool options of a config's storePool */
export function poolOptionsOf(config: Pick<ServeConfig, 'storePool'>): PgPoolOptions {
  const {size, ...rest} = config.storePool
  return {poolSize: size, ...rest}
}

export function defaultConfig(dataDir: string): ServeConfig {
  return {
    dataDir: resolve(dataDir),
    bind: '127.0.0.1',
    hostname: hostname(),
    publicAddresses: [],
    ports: withoutMatcher(DEFAULT_PORTS),
    capture: false,
    captureRetention: {...DEFAULT_CAPTURE_RETENTION},
    allowInsecureAuth: false,
    clientSettings: structuredClone(DEFAULT_CLIENT_SETTINGS),
    logLevel: 'info',
    // copies, nested objects (queue.retry) included: a config never shares state with the defaults
    inboundAuth: structuredClone(DEFAULT_INBOUND_AUTH),
    spam: {...structuredClone(DEFAULT_SPAM), rspamd: structuredClone(DEFAULT_RSPAMD)},
    auth: structuredClone(DEFAULT_AUTH),
    smtp: structuredClone(DEFAULT_SMTP_LIMITS),
    imap: structuredClone(DEFAULT_IMAP_LIMITS),
    pop3: structuredClone(DEFAULT_POP3_LIMITS),
    managesieve: structuredClone(DEFAULT_MANAGESIEVE),
    http: structuredClone(DEFAULT_HTTP_LIMITS),
    matcher: structuredClone(DEFAULT_MATCHER_CONFIG),
    metrics: structuredClone(DEFAULT_METRICS),
    acme: {...DEFAULT_ACME},
    queue: structuredClone(DEFAULT_QUEUE),
    dkim: structuredClone(DEFAULT_DKIM),
    sieve: {...DEFAULT_SIEVE_CONFIG, ...DEFAULT_SIEVE_DELIVERY},
    srs: {...DEFAULT_SRS},
    tlsRpt: {...DEFAULT_TLS_RPT},
    storePool: {...DEFAULT_STORE_POOL},
    relay: structuredClone(DEFAULT_RELAY),
    routes: {},
    dnsServers: [],
    mtaSts: structuredClone(DEFAULT_MTA_STS),
  }
}

/** any subset of T's keys, at every depth (lists are set whole) */
export type DeepPartial<T> = {[K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K]}

/** What a config file (or the flags) may hold: ServeConfig's keys, and the keys it replaced. */
export type ConfigLayer = DeepPartial<ServeConfig> & {
  /** the smarthost before `relay` existed: same as relay.host */
  relayHost?: string
  /** every protocol port to its STANDARD_PORTS value first; this layer's own `ports` still override single ones */
  standardPorts?: boolean
}


/**
 * Reads and validates a config file: JSON, with // and /* *\/ comments allowed (as in
 * docs/mailbox.example.jsonc). Every problem is reported at once, each naming the file and the key
 * path; see config-validate.ts. Used at start and on reload.
 */
export function readConfigFile(path: string): ConfigLayer {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new MailboxError('invalid', `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code}`)
  }
  let parsed: unknown
  try {
    parsed = parseJsonc(text)
  } catch (err) {
    throw new ConfigError([`${path}: not valid JSON: ${(err as Error).message}`])
  }
  return validateConfig<ConfigLayer>(parsed, path)
}

/** Settings from the environment (serve's flags read the same variables; `config show` reads them here). */
export function envLayer(env: NodeJS.ProcessEnv = process.env): ConfigLayer {
  return {matcher: {token: env.MAILBOX_MATCHER_TOKEN || undefined}, metrics: {token: env.MAILBOX_METRICS_TOKEN || undefined}}
}

/**
 * Later layers win, key by key at every depth: a layer setting only queue.retry.maxLifetimeMs
 * keeps the default retry schedule. Lists are replaced whole; `undefined` (a flag not given)
 * changes nothing. Each layer is validated first (flags and environment: file layers were
 * checked when read, naming their file).
 */
export function mergeConfig(base: ServeConfig, ...layers: ConfigLayer[]): ServeConfig {
  let config = base
  for (const layer of layers) {
    const {relayHost, standardPorts, ...rest} = validateConfig<ConfigLayer>(layer, 'command line or environment', {commandLine: true})
    // the old key first, so relay.host in the same layer wins; the standard ports first, so the layer's own ports win
    config = deepMerge(deepMerge(config, {relay: {host: relayHost}, ports: standardPorts ? STANDARD_PORTS : {}}), rest)
  }
  config.dataDir = resolve(config.dataDir)
  return config
}

/** a copy of `base` with `layer`'s defined values over it; plain objects merge key by key */
function deepMerge<T>(base: T, layer: object): T {
  const out: Record<string, unknown> = {...(base as Record<string, unknown>)}
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue
    out[key] = isPlainObject(value) ? deepMerge(isPlainObject(out[key]) ? out[key] : {}, value) : Array.isArray(value) ? [...value] : value
  }
  return out as T
}

function withoutMatcher(ports: Record<PortName, number>): ServeConfig['ports'] {
  const {matcher: _, ...rest} = ports
  return rest
}

/** The matcher's port: as configured (0 = off), else DEFAULT_PORTS.matcher in capture mode, else off. */
export function matcherPort(config: Pick<ServeConfig, 'ports' | 'capture'>): number {
  return config.ports.matcher ?? (config.capture ? DEFAULT_PORTS.matcher : 0)
}

export interface ConfigSources {
  dataDir: string
  /** --config FILE */
  configFile?: string
  env?: NodeJS.ProcessEnv
  /** flags given on the command line (serve's) */
  flags?: ConfigLayer
}

/** What serve runs with, and `config show` shows: defaults, then the file, the environment, the flags. */
export function effectiveConfig(sources: ConfigSources): ServeConfig {
  const fromFile = sources.configFile ? readConfigFile(sources.configFile) : {}
  return mergeConfig(defaultConfig(sources.dataDir), fromFile, envLayer(sources.env), {...sources.flags, dataDir: sources.dataDir})
}

/**
 * `mailbox config check`: the effective configuration, plus what serve would only find out at
 * start — the relay's password and CA files, and that the TLS certificate and key are readable
 * and belong together. Throws what serve would; returns the configuration.
 */
export function checkConfig(sources: ConfigSources): ServeConfig {
  const config = effectiveConfig(sources)
  resolveRelay(config.relay, sources.env)
  if (config.tlsCert || config.tlsKey) {
    if (!config.tlsCert || !config.tlsKey) throw new MailboxError('invalid', 'tlsCert and tlsKey go together: give both')
    let cert: Buffer, key: Buffer
    try {
      cert = readFileSync(config.tlsCert)
      key = readFileSync(config.tlsKey)
    } catch (err) {
      throw new MailboxError('invalid', `cannot read TLS file ${(err as NodeJS.ErrnoException).path}: ${(err as NodeJS.ErrnoException).code}`)
    }
    try {
      createSecureContext({cert, key})
    } catch (err) {
      throw new MailboxError('invalid', `TLS certificate ${config.tlsCert} and key ${config.tlsKey} are not a usable pair: ${(err as Error).message}`)
    }
  }
  if (config.acme.caFile) {
    try {
      readFileSync(config.acme.caFile)
    } catch (err) {
      throw new MailboxError('invalid', `cannot read acme.caFile ${config.acme.caFile}: ${(err as NodeJS.ErrnoException).code}`)
    }
  }
  return config
}
