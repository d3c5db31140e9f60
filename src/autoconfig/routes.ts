/**
 * The HTTP routes of client autoconfiguration (../http/route.ts):
 *
 * - GET /.well-known/autoconfig/mail/config-v1.1.xml on any host, and GET /mail/config-v1.1.xml
 *   on `autoconfig.DOMAIN`: Thunderbird's document (./thunderbird.ts). The domain is that of
 *   `?emailaddress=` when given, else the host's (without `autoconfig.`).
 * - POST /autodiscover/autodiscover.xml (any case: Outlook sends /Autodiscover/Autodiscover.xml),
 *   on `autodiscover.DOMAIN` or any other host: Microsoft's POX Autodiscover (./autodiscover.ts),
 *   for the domain of the request's address.
 *
 * A domain that is not local is 404, so the server tells nobody about domains it does not serve.
 * An address of a local domain gets its answer whether or not it names a user: the documents hold
 * nothing per user but the address the client sent, and a different answer would tell anyone
 * which users exist.
 */
import {domainOf, normalizeAddress, normalizeDomain} from '../address.js'
import type {Bus} from '../bus.js'
import type {ServeConfig} from '../config.js'
import {LocalDomainCache} from '../directory/local-domain-cache.js'
import type {HttpReply, HttpRequest, HttpRoute} from '../http/route.js'
import type {MailboxStore} from '../store/backend.js'
import {autodiscoverAddress, autodiscoverResponse} from './autodiscover.js'
import {profileRoute} from './profile-route.js'
import {clientSettingsOf, type ClientSettings} from './settings.js'
import {thunderbirdConfig} from './thunderbird.js'

export const WELL_KNOWN_AUTOCONFIG = '/.well-known/autoconfig/mail/config-v1.1.xml'
export const AUTOCONFIG_HOST_PATH = '/mail/config-v1.1.xml'
export const AUTODISCOVER_PATH = '/autodiscover/autodiscover.xml'

export interface AutoconfigRouteOptions {
  /** what to advertise, read per request (a reloaded config takes effect at once) */
  settings(): ClientSettings
  /** `domain`: an A-label, lower case */
  isLocalDomain(domain: string): Promise<boolean>
}

const XML = {'Content-Type': 'application/xml; charset=utf-8'}
const text = (status: number, body: string, headers: Record<string, string> = {}): HttpReply => ({status, headers: {'Content-Type': 'text/plain; charset=utf-8', ...headers}, body: `${body}\n`})
const notFound = () => text(404, 'not found')

/** the value parsed, or undefined when it is not one */
function attempt<T>(parse: () => T): T | undefined {
  try {
    return parse()
  } catch {
    return undefined
  }
}

export function autoconfigRoute(options: AutoconfigRouteOptions): HttpRoute {
  async function thunderbird(request: HttpRequest): Promise<HttpReply> {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'method not allowed', {Allow: 'GET, HEAD'})
    const given = request.query.get('emailaddress')
    let domain: string | undefined
    if (given !== null && given !== '') {
      const address = attempt(() => normalizeAddress(given))
      if (!address) return text(400, 'emailaddress is not a mail address')
      domain = domainOf(address)
    } else {
      domain = attempt(() => normalizeDomain(request.host.replace(/^autoconfig\./, '')))
    }
    if (!domain || !(await options.isLocalDomain(domain))) return notFound()
    return {status: 200, headers: XML, body: thunderbirdConfig(domain, options.settings())}
  }

  async function autodiscover(request: HttpRequest): Promise<HttpReply> {
    if (request.method !== 'POST') return text(405, 'method not allowed', {Allow: 'POST'})
    const given = autodiscoverAddress(request.body)
    const address = given === undefined ? undefined : attempt(() => normalizeAddress(given))
    if (!address) return text(400, 'not an Autodiscover request with an EMailAddress')
    if (!(await options.isLocalDomain(domainOf(address)))) return notFound()
    return {status: 200, headers: XML, body: autodiscoverResponse(address, options.settings())}
  }

  return (request) => {
    if (request.path === WELL_KNOWN_AUTOCONFIG || (request.path === AUTOCONFIG_HOST_PATH && request.host.startsWith('autoconfig.'))) return thunderbird(request)
    if (request.path.toLowerCase() === AUTODISCOVER_PATH) return autodiscover(request)
    return undefined
  }
}

/**
 * The routes as serve runs them, as one: the documents, and the profile download whose logins go
 * to the auth actor on `bus`. What the config advertises is worked out once (hostname, ports and
 * clientSettings change only with a restart); local domains come from a cache the directory's
 * change feed keeps current. `close` stops the cache listening.
 */
export function serveAutoconfig(
  store: Pick<MailboxStore, 'kind' | 'directory' | 'changes'>,
  config: Pick<ServeConfig, 'hostname' | 'ports' | 'clientSettings'>,
  bus: Pick<Bus, 'call'>,
  /** shared with the other routes that ask (MTA-STS): one cache, one change listener */
  domains = new LocalDomainCache(store),
): {route: HttpRoute; close(): void} {
  const settings = clientSettingsOf(config)
  const routes = [
    autoconfigRoute({settings: () => settings, isLocalDomain: (domain) => domains.has(domain)}),
    profileRoute({
      settings: () => settings,
      login: async (username, password, remoteAddress) => (await bus.call('auth.login', {username, password, remoteAddress, protocol: 'http', mechanism: 'PLAIN', tls: 'https'})).address,
    }),
  ]
  const route: HttpRoute = async (request) => {
    for (const each of routes) {
      const reply = await each(request)
      if (reply) return reply
    }
    return undefined
  }
  return {route, close: () => domains.close()}
}
