/**
 * ACME in `serve`: the challenge chosen by the ports that listen, and the manager made with the
 * store, the listeners' certificates and the orderer. App imports this module only when
 * acme.directory is set, so a server without ACME loads none of it.
 */
import type {TlsCertificates} from '../certs/types.js'
import {MailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import type {AcmeConfig} from './config.js'
import type {ChallengeResponses} from './challenges.js'
import {AcmeManager, type AcmeStore} from './manager.js'
import {AcmeOrderer, type ChallengeType} from './order.js'

/** auto: TLS-ALPN-01 on the HTTPS port when it listens (no port 80 needed), else HTTP-01; a choice whose port is off is refused at start */
export function chooseChallenge(choice: AcmeConfig['challenge'], ports: {http: number; https: number}): ChallengeType {
  const https = choice === 'tls-alpn-01' || (choice === 'auto' && ports.https > 0)
  const port = https ? ports.https : ports.http
  if (!port) {
    const needs = choice === 'auto' ? 'the HTTPS port (TLS-ALPN-01) or the HTTP port (HTTP-01)' : https ? 'the HTTPS port' : 'the HTTP port'
    throw new MailboxError('invalid', `acme.directory is set, and the CA's challenge (${choice}) needs ${needs}: set ports.https / ports.http (--https-port, --http-port, or --standard-ports for 443 and 80)`)
  }
  return https ? 'tls-alpn-01' : 'http-01'
}

export interface AcmeStart {
  config: () => AcmeConfig
  hostname: string
  ports: {http: number; https: number}
  store: AcmeStore
  tls: Pick<TlsCertificates, 'install'>
  responses: ChallengeResponses
  log: Logger
}

/** the manager, started: kept certificates installed, the first check under way in the background */
export async function startAcme(s: AcmeStart): Promise<AcmeManager> {
  const directory = s.config().directory
  if (!directory) throw new MailboxError('invalid', 'acme.directory is not set')
  const challenge = chooseChallenge(s.config().challenge, s.ports)
  const orderer = new AcmeOrderer(s.store.certs, s.responses, () => s.config().caFile)
  const manager = new AcmeManager(s.store, s.tls, orderer, {hostname: s.hostname, challenge, config: () => ({...s.config(), directory})}, s.log)
  await manager.start()
  s.log.info({directory, challenge}, 'ACME on: certificates are ordered and renewed by themselves')
  return manager
}
