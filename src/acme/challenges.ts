/**
 * The answers to the CA's challenges while an order waits for them (RFC 8555 §8.3, RFC 8737):
 * HTTP-01's key authorization per token, served at /.well-known/acme-challenge/TOKEN on the HTTP
 * port, and TLS-ALPN-01's self-signed certificate per name, served on the HTTPS port to a
 * ClientHello offering `acme-tls/1`. Kept in memory only (an order lives minutes, in one
 * process), put before the challenge is answered and removed when it is done. Bounded: past
 * MAX_PENDING the oldest goes (an order that never removed its own must not grow this).
 */
import {createSecureContext, type SecureContext} from 'node:tls'
import type {HttpReply, HttpRequest, HttpRoute} from '../http/route.js'

export const MAX_PENDING = 256
export const HTTP_CHALLENGE_PREFIX = '/.well-known/acme-challenge/'
/** RFC 8555 §8.3: the token is base64url, at least 128 bits; CAs use 43 characters */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/

export class ChallengeResponses {
  private readonly http = new Map<string, string>()
  private readonly alpn = new Map<string, SecureContext>()

  putHttp(token: string, keyAuthorization: string): void {
    bounded(this.http, token, keyAuthorization)
  }

  removeHttp(token: string): void {
    this.http.delete(token)
  }

  /** `certPem`/`keyPem`: the acmeIdentifier certificate for `name` (acme-client's createAlpnCertificate) */
  putAlpn(name: string, material: {certPem: string | Buffer; keyPem: string | Buffer}): void {
    bounded(this.alpn, name.toLowerCase(), createSecureContext({cert: material.certPem, key: material.keyPem}))
  }

  removeAlpn(name: string): void {
    this.alpn.delete(name.toLowerCase())
  }

  /** the HTTP server's `acmeTlsAlpn` hook: the context that answers the CA for `servername`, if an order waits for it */
  alpnContext(servername: string | undefined): SecureContext | undefined {
    return servername ? this.alpn.get(servername.toLowerCase().replace(/\.$/, '')) : undefined
  }

  get pending(): number {
    return this.http.size + this.alpn.size
  }

  /** HTTP-01 (RFC 8555 §8.3): GET /.well-known/acme-challenge/TOKEN → the key authorization, on any host */
  readonly route: HttpRoute = (request: HttpRequest): HttpReply | undefined => {
    if (!request.path.startsWith(HTTP_CHALLENGE_PREFIX)) return undefined
    if (request.method !== 'GET' && request.method !== 'HEAD') return {status: 405, headers: {Allow: 'GET, HEAD', 'Content-Type': 'text/plain'}, body: 'method not allowed\n'}
    const token = request.path.slice(HTTP_CHALLENGE_PREFIX.length)
    const answer = TOKEN.test(token) ? this.http.get(token) : undefined
    if (answer === undefined) return {status: 404, headers: {'Content-Type': 'text/plain'}, body: 'no such challenge\n'}
    return {status: 200, headers: {'Content-Type': 'application/octet-stream'}, body: answer}
  }
}

function bounded<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > MAX_PENDING) map.delete(map.keys().next().value!)
}
