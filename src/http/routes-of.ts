/**
 * The HTTP side's routes, in the order the server asks them (./server.ts): the first reply wins.
 * Each part that answers on HTTP adds its line here, in this order: the ACME HTTP-01 challenge,
 * the MTA-STS policy, the client autoconfiguration documents. What a route needs from the
 * running server it takes from `RoutesContext` (add a field there rather than a global).
 */
import {serveAutoconfig} from '../autoconfig/routes.js'
import {LocalDomainCache} from '../directory/local-domain-cache.js'
import type {Bus} from '../bus.js'
import type {ServeConfig} from '../config.js'
import type {Logger} from '../log.js'
import type {MailboxStore} from '../store/backend.js'
import {mtaStsRoute} from '../mta-sts/route.js'
import type {HttpRoute} from './route.js'

export interface RoutesContext {
  /** the running configuration (a reload assigns into its live sections) */
  config: ServeConfig
  store: MailboxStore
  log: Logger
  /** the actors' bus (logins go to the auth actor) */
  bus: Bus
  /** ACME on: the HTTP-01 challenge answers (../acme/challenges.ts) */
  acmeChallenge?: HttpRoute
}

/** the routes, and `close` that ends what they listen to (the local-domain cache's change listener) */
export function routesOf(context: RoutesContext): {routes: HttpRoute[]; close(): void} {
  const {config, store, bus} = context
  // the local domains, asked on every request from anyone: one cache for every route
  const domains = new LocalDomainCache(store)
  const routes = [
    ...(context.acmeChallenge ? [context.acmeChallenge] : []),
    mtaStsRoute({config: () => config.mtaSts, hostname: () => config.hostname, isLocalDomain: (domain) => domains.has(domain)}),
    serveAutoconfig(store, config, bus, domains).route,
  ]
  return {routes, close: () => domains.close()}
}
