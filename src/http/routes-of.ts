/**
 * The HTTP side's routes, in the order the server asks them (./server.ts): the first reply wins.
 * Each part that answers on HTTP adds its line here, in this order: the ACME HTTP-01 challenge,
 * the MTA-STS policy, the client autoconfiguration documents. What a route needs from the
 * running server it takes from `RoutesContext` (add a field there rather than a global).
 */
import type {ServeConfig} from '../config.js'
import type {Logger} from '../log.js'
import type {MailboxStore} from '../store/backend.js'
import type {HttpRoute} from './route.js'

export interface RoutesContext {
  /** the running configuration (a reload assigns into its live sections) */
  config: ServeConfig
  store: MailboxStore
  log: Logger
  /** ACME on: the HTTP-01 challenge answers (../acme/challenges.ts) */
  acmeChallenge?: HttpRoute
}

export function routesOf(context: RoutesContext): HttpRoute[] {
  return [...(context.acmeChallenge ? [context.acmeChallenge] : [])]
}
