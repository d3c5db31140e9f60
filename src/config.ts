/**
 * Server configuration: built-in defaults, then an optional JSON config file, then flags.
 * Ports follow DESIGN.md (unprivileged, 127.0.0.1); `0` turns a listener off. The matcher is the
 * exception: it hands out stored mail, so it listens only in capture mode or when its port is
 * given explicitly (see matcherPort).
 */
import {readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {resolve} from 'node:path'
import {DEFAULT_AUTH, type AuthConfig} from './auth/actor.js'
import {DEFAULT_RELAY, type RelayConfig} from './delivery/relay.js'
import {MailboxError} from './errors.js'
import {DEFAULT_IMAP_LIMITS, type ImapLimits} from './imap/limits.js'
import type {Level} from './log.js'
import {DEFAULT_MATCHER_CONFIG, type MatcherConfig} from './matcher/server.js'
import {DEFAULT_POP3_LIMITS, type Pop3Limits} from './pop3/limits.js'
import {DEFAULT_QUEUE, type QueueConfig} from './queue/actor.js'
import {DEFAULT_SMTP_LIMITS, type SmtpLimits} from './smtp/server.js'

export const PORT_NAMES = ['smtp', 'submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s', 'matcher'] as const
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
  matcher: 60510,
}

export interface ServeConfig {
  dataDir: string
  bind: string
  hostname: string
  /** `matcher` absent: on (DEFAULT_PORTS.matcher) in capture mode, off otherwise */
  ports: Record<Exclude<PortName, 'matcher'>, number> & {matcher?: number}
  capture: boolean
  allowInsecureAuth: boolean
  /** smarthost for all outbound mail, its credentials and trust (see src/delivery/relay.ts) */
  relay: RelayConfig
  /** per-domain next hops, overriding DNS: {"example.net": "127.0.0.1:2626"} */
  routes: Record<string, string>
  /** DNS servers for MX lookups (ip or ip:port); empty: the system's */
  dnsServers: string[]
  /** PEM files; when absent a self-signed pair is generated into <dataDir>/tls/ */
  tlsCert?: string
  tlsKey?: string
  logLevel: Level
  auth: AuthConfig
  smtp: SmtpLimits
  imap: ImapLimits
  pop3: Pop3Limits
  matcher: MatcherConfig
  queue: QueueConfig
}

export function defaultConfig(dataDir: string): ServeConfig {
  return {
    dataDir: resolve(dataDir),
    bind: '127.0.0.1',
    hostname: hostname(),
    ports: withoutMatcher(DEFAULT_PORTS),
    capture: false,
    allowInsecureAuth: false,
    logLevel: 'info',
    auth: {...DEFAULT_AUTH},
    smtp: {...DEFAULT_SMTP_LIMITS},
    imap: {...DEFAULT_IMAP_LIMITS},
    pop3: {...DEFAULT_POP3_LIMITS},
    matcher: {...DEFAULT_MATCHER_CONFIG},
    queue: {...DEFAULT_QUEUE},
    relay: {...DEFAULT_RELAY},
    routes: {},
    dnsServers: [],
  }
}

type DeepPartial<T> = {[K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K]}

/** What a config file (or the flags) may hold: ServeConfig's keys, and the keys it replaced. */
export type ConfigLayer = DeepPartial<ServeConfig> & {
  /** the smarthost before `relay` existed: same as relay.host */
  relayHost?: string
}

/** Reads a JSON config file shaped like ServeConfig (any subset of its keys). */
export function readConfigFile(path: string): ConfigLayer {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new MailboxError('invalid', `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code}`)
  }
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
    return parsed as ConfigLayer
  } catch (err) {
    throw new MailboxError('invalid', `config file ${path} is not a JSON object: ${(err as Error).message}`)
  }
}

export function mergeConfig(base: ServeConfig, ...layers: ConfigLayer[]): ServeConfig {
  let config = base
  for (const {relayHost, ...layer} of layers) {
    const defined = Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined))
    config = {
      ...config,
      ...defined,
      ports: {...config.ports, ...stripUndefined(layer.ports)},
      auth: {...config.auth, ...stripUndefined(layer.auth)},
      smtp: {...config.smtp, ...stripUndefined(layer.smtp)},
      imap: {...config.imap, ...stripUndefined(layer.imap)},
      pop3: {...config.pop3, ...stripUndefined(layer.pop3)},
      matcher: {...config.matcher, ...stripUndefined(layer.matcher)},
      queue: {...config.queue, ...stripUndefined(layer.queue)},
      routes: {...config.routes, ...stripUndefined(layer.routes)},
      relay: {...config.relay, ...stripUndefined({host: relayHost}), ...stripUndefined(layer.relay)},
    } as ServeConfig
  }
  for (const name of PORT_NAMES) {
    const port = config.ports[name]
    if (name === 'matcher' && port === undefined) continue // not configured: matcherPort decides
    if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) throw new MailboxError('invalid', `invalid ${name} port: ${port}`)
  }
  for (const [key, value] of Object.entries(config.auth)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new MailboxError('invalid', `invalid auth.${key}: ${JSON.stringify(value)}`)
  }
  // the limits: a string such as "128MiB" compares as NaN (smtp.maxBufferedBytes would pause every
  // session but the oldest) and a timer takes it as 1 ms, so each must be a number like its default
  for (const section of LIMIT_SECTIONS) {
    for (const [key, value] of Object.entries(config[section])) {
      if (typeof base[section][key as keyof ServeConfig[typeof section]] !== 'number') continue
      if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new MailboxError('invalid', `invalid ${section}.${key}: ${JSON.stringify(value)}`)
    }
  }
  config.dataDir = resolve(config.dataDir)
  return config
}

/** config sections of numeric limits, checked like their defaults */
const LIMIT_SECTIONS = ['smtp', 'imap', 'pop3', 'matcher', 'queue'] as const

function withoutMatcher(ports: Record<PortName, number>): ServeConfig['ports'] {
  const {matcher: _, ...rest} = ports
  return rest
}

/** The matcher's port: as configured (0 = off), else DEFAULT_PORTS.matcher in capture mode, else off. */
export function matcherPort(config: Pick<ServeConfig, 'ports' | 'capture'>): number {
  return config.ports.matcher ?? (config.capture ? DEFAULT_PORTS.matcher : 0)
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>
}
