/**
 * What mail clients are told to connect to (Thunderbird autoconfig, Autodiscover, the Apple
 * profile of `mailbox user profile`): the server's host name and the ports it listens on, unless
 * the config's `clientSettings` says otherwise (NAT or a proxy maps other ports, or clients reach
 * the host by another name).
 *
 * Every listener this server runs for clients speaks TLS: the implicit-TLS ones (IMAPS, POP3S,
 * submission on 465) and the others through STARTTLS/STLS, which they always offer. So nothing is
 * ever advertised as plaintext, and implicit TLS comes first in each list (RFC 8314 §3: clients
 * should prefer it); a listener that is off (port 0) is not advertised.
 */
import type {ServeConfig} from '../config.js'

export type Security = 'tls' | 'starttls'
export type ClientProtocol = 'imap' | 'pop3' | 'smtp'

export interface ClientEndpoint {
  port: number
  /** tls: TLS from the first byte; starttls: plaintext, then STARTTLS (STLS for POP3) before login */
  security: Security
}

/** the client listeners, as named in `ports.*` */
export const CLIENT_PORT_NAMES = ['imaps', 'imap', 'pop3s', 'pop3', 'smtps', 'submission'] as const
export type ClientPortName = (typeof CLIENT_PORT_NAMES)[number]

/** each listener's protocol and security, in the order of preference within its protocol */
const LISTENERS: Record<ClientPortName, {protocol: ClientProtocol; security: Security}> = {
  imaps: {protocol: 'imap', security: 'tls'},
  imap: {protocol: 'imap', security: 'starttls'},
  pop3s: {protocol: 'pop3', security: 'tls'},
  pop3: {protocol: 'pop3', security: 'starttls'},
  smtps: {protocol: 'smtp', security: 'tls'},
  submission: {protocol: 'smtp', security: 'starttls'},
}

/** config `clientSettings` */
export interface ClientSettingsConfig {
  /** the host name clients connect to; absent: `hostname` */
  hostname?: string
  /** per listener, the port clients connect to (0: not advertised); absent: the listening port */
  ports: Partial<Record<ClientPortName, number>>
}

export const DEFAULT_CLIENT_SETTINGS: ClientSettingsConfig = {ports: {}}

/** What the documents advertise: one host, and per protocol its endpoints, preferred first. */
export interface ClientSettings {
  hostname: string
  imap: ClientEndpoint[]
  pop3: ClientEndpoint[]
  smtp: ClientEndpoint[]
}

export function clientSettingsOf(config: Pick<ServeConfig, 'hostname' | 'ports' | 'clientSettings'>): ClientSettings {
  const settings: ClientSettings = {hostname: (config.clientSettings.hostname ?? config.hostname).toLowerCase().replace(/\.$/, ''), imap: [], pop3: [], smtp: []}
  for (const name of CLIENT_PORT_NAMES) {
    if (config.ports[name] === 0) continue
    const port = config.clientSettings.ports[name] ?? config.ports[name]
    if (port === 0) continue
    const {protocol, security} = LISTENERS[name]
    settings[protocol].push({port, security})
  }
  return settings
}
