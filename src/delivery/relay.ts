/**
 * The smarthost settings, resolved once when `serve` starts: where all outbound mail goes (when
 * no route names the domain), who we log in as, and what its certificate is checked against.
 *
 * - The password comes from `relay.passwordFile` (`--relay-password-file`), else the environment
 *   variable MAILBOX_RELAY_PASSWORD, else the legacy `user:pass@host` form, which still works
 *   but shows the password to anyone who runs `ps` (a warning says so).
 * - A hop with credentials (the smarthost, or a route written `user:pass@host:port`) is sent AUTH
 *   only over TLS whose certificate verified — Postfix's `secure` level: STARTTLS required (or
 *   implicit TLS on port 465), the chain checked against Node's trust store plus `relay.caFile`,
 *   the host name checked. `relay.insecure` lifts this for a lab.
 * - Nothing here ever puts the password in a message, a log field or the start log's summary.
 */
import {readFileSync, statSync} from 'node:fs'
import {createSecureContext, rootCertificates, type SecureContext} from 'node:tls'
import {MailboxError} from '../errors.js'
import {parseHostPort, tlsLevelOf, type Hop, type TlsLevel} from './route.js'

export interface RelayConfig {
  /** HOST[:PORT] (default port 587); `USER:PASS@HOST:PORT` still works but shows in `ps` */
  host?: string
  user?: string
  /** a file holding the password (one trailing newline is ignored) */
  passwordFile?: string
  /** PEM file of CA certificates trusted for hops with credentials, besides Node's trust store */
  caFile?: string
  /** send credentials without verified TLS (a lab only) */
  insecure: boolean
}

export const DEFAULT_RELAY: RelayConfig = {insecure: false}

export const RELAY_PASSWORD_ENV = 'MAILBOX_RELAY_PASSWORD'

export interface ResolvedRelay {
  /** the smarthost, with its credentials; absent when mail goes by routes and MX */
  hop?: Hop
  /** CA certificates (PEM) that hops with credentials are verified against besides Node's trust store (see trustWith) */
  trustedCa?: string
  insecure: boolean
  /** things the operator should hear about at start (never holding the password) */
  warnings: string[]
  /** for the start log */
  summary?: {host: string; port: number; user?: string; passwordFrom?: string; caFile?: string; tls: TlsLevel}
}

/** Reads the password and CA files and builds the smarthost hop. */
export function resolveRelay(config: RelayConfig, env: NodeJS.ProcessEnv = process.env): ResolvedRelay {
  const warnings: string[] = []
  const trustedCa = config.caFile ? readCaFile(config.caFile) : undefined
  if (config.insecure) warnings.push('relay.insecure is set: credentials may be sent to a relay host without verified TLS (a lab setting)')
  if (!config.host) {
    if (config.user || config.passwordFile) throw new MailboxError('invalid', 'a relay user or password file was given without a relay host')
    return {insecure: config.insecure, warnings, ...(trustedCa ? {trustedCa} : {})}
  }
  const parsed = parseHostPort(config.host, 587)
  const inline = parsed.auth
  const user = config.user ?? inline?.user
  let pass: string | undefined
  let passwordFrom: string | undefined
  if (config.passwordFile) {
    pass = readPasswordFile(config.passwordFile, warnings)
    passwordFrom = config.passwordFile
  } else if (env[RELAY_PASSWORD_ENV]) {
    pass = env[RELAY_PASSWORD_ENV]
    passwordFrom = `$${RELAY_PASSWORD_ENV}`
  } else if (inline?.pass) {
    pass = inline.pass
    passwordFrom = 'relay host'
  }
  if (user && !pass) throw new MailboxError('invalid', `relay user ${JSON.stringify(user)} has no password: give --relay-password-file or set ${RELAY_PASSWORD_ENV}`)
  if (!user && config.passwordFile) throw new MailboxError('invalid', 'a relay password file was given without a relay user (--relay-user)')
  const hop: Hop = {host: parsed.host, port: parsed.port, ...(user && pass ? {auth: {user, pass}} : {})}
  return {
    hop,
    insecure: config.insecure,
    warnings,
    ...(trustedCa ? {trustedCa} : {}),
    summary: {
      host: hop.host,
      port: hop.port,
      ...(hop.auth ? {user: hop.auth.user, passwordFrom} : {}),
      ...(config.caFile ? {caFile: config.caFile} : {}),
      tls: tlsLevelOf(hop, config.insecure),
    },
  }
}

/** a password file's one line (a trailing newline dropped); `what` names it in errors and warnings */
export function readPasswordFile(path: string, warnings: string[], what = 'relay password file'): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
    if (statSync(path).mode & 0o077) warnings.push(`${what} ${path} can be read by other users: chmod 600 it`)
  } catch (err) {
    throw new MailboxError('invalid', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  const pass = text.replace(/\r?\n$/, '')
  if (!pass) throw new MailboxError('invalid', `${what} ${path} is empty`)
  return pass
}

/**
 * The file's PEM, checked here (at start or reload) so a bad file is an error then, not at a
 * delivery; `what` names it in errors (the relay's, MTA-STS's).
 */
export function readCaFile(caFile: string, what = 'relay CA file'): string {
  let pem: string
  try {
    pem = readFileSync(caFile, 'utf8')
  } catch (err) {
    throw new MailboxError('invalid', `cannot read ${what} ${caFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new MailboxError('invalid', `${what} ${caFile} holds no PEM certificate`)
  try {
    trustWith(pem)
  } catch (err) {
    throw new MailboxError('invalid', `${what} ${caFile} is not usable: ${(err as Error).message}`)
  }
  return pem
}

/** Node's bundled CAs plus `pem`'s: giving `ca` alone would replace the defaults, not add to them. */
export const trustWith = (pem: string): SecureContext => createSecureContext({ca: [...rootCertificates, pem]})
