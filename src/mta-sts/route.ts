/**
 * The MTA-STS policy host (RFC 8461 §3.3): `GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt`
 * answers the policy of a local DOMAIN as text/plain. Only over HTTPS (a sender must not trust
 * a policy fetched in the clear, so none is given there), only for local domains; anything else
 * at that path is 404. The text is ./config.ts servedPolicy's, the one `domain dns` hashes into
 * the `_mta-sts` id.
 */
import type {HttpRoute} from '../http/route.js'
import {servedPolicy, type MtaStsConfig} from './config.js'

export const POLICY_PATH = '/.well-known/mta-sts.txt'
export const POLICY_HOST_PREFIX = 'mta-sts.'

export interface MtaStsRouteOptions {
  /** read at each request: a reload applies at once */
  config: () => Pick<MtaStsConfig, 'mode' | 'mx' | 'maxAge'>
  /** the server's host name (the policy's mx when the config names none) */
  hostname: () => string
  isLocalDomain: (domain: string) => Promise<boolean>
}

export function mtaStsRoute(options: MtaStsRouteOptions): HttpRoute {
  return async (request) => {
    if (request.path !== POLICY_PATH || !request.host.startsWith(POLICY_HOST_PREFIX)) return undefined
    const notFound = {status: 404, headers: {'Content-Type': 'text/plain; charset=utf-8'}, body: 'not found\n'}
    if (!request.secure) return notFound
    const domain = request.host.slice(POLICY_HOST_PREFIX.length)
    if (!domain || !(await options.isLocalDomain(domain))) return notFound
    if (request.method !== 'GET' && request.method !== 'HEAD') return {status: 405, headers: {Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8'}, body: 'method not allowed\n'}
    const body = servedPolicy(options.config(), options.hostname())
    // a sender caches by max_age, not by HTTP caching: the server's default no-store stays; a
    // HEAD gets the same headers (node:http sends no body for it)
    return {status: 200, headers: {'Content-Type': 'text/plain; charset=utf-8'}, body}
  }
}
