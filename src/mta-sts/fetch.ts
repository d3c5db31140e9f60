/**
 * Fetching a remote domain's policy (RFC 8461 §3.3): `GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt`
 * with the certificate verified for that name (Node's CAs plus `mtaSts.caFile`), no redirect
 * followed, 200 and text/plain required, the body bounded in bytes and the whole exchange in
 * time. The host's address comes from the configured resolver, as MX hosts' do. A failure says
 * which of RFC 8460's kinds it is: `sts-webpki-invalid` for the certificate, else
 * `sts-policy-fetch-error`.
 */
import {request} from 'node:https'
import type {SecureContext} from 'node:tls'
import type {TlsFailureType} from '../tls-rpt/outcome.js'
import {POLICY_HOST_PREFIX, POLICY_PATH} from './route.js'

export interface FetchOptions {
  /** the address to connect to (resolved by the caller) */
  address: string
  port: number
  timeoutMs: number
  maxBytes: number
  /** trust: Node's CAs plus the configured ones; absent: Node's */
  trust?: SecureContext
}

export class PolicyFetchError extends Error {
  constructor(
    message: string,
    readonly failure: Extract<TlsFailureType, 'sts-policy-fetch-error' | 'sts-webpki-invalid'>,
  ) {
    super(message)
  }
}

// OpenSSL's verification error codes and Node's name-check code
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH/

/** the policy body as text; rejects with a PolicyFetchError */
export function fetchPolicy(domain: string, options: FetchOptions): Promise<string> {
  const host = `${POLICY_HOST_PREFIX}${domain}`
  return new Promise((resolve, reject) => {
    let settled = false
    const fail = (message: string, failure: PolicyFetchError['failure'] = 'sts-policy-fetch-error') => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      reject(new PolicyFetchError(`${host}: ${message}`, failure))
    }
    const req = request({
      host: options.address,
      port: options.port,
      path: POLICY_PATH,
      method: 'GET',
      // SNI, and the name the certificate is checked for (Node checks servername before host)
      servername: host,
      headers: {Host: host, Accept: 'text/plain'},
      rejectUnauthorized: true,
      ...(options.trust ? {secureContext: options.trust} : {}),
      agent: false,
    })
    // one deadline for connect, TLS, headers and body: a slow-drip server cannot hold a sender
    const timer = setTimeout(() => fail(`no whole answer within ${options.timeoutMs} ms`), options.timeoutMs)
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? ''
      fail(CERTIFICATE_ERROR.test(code) ? `certificate not valid: ${err.message}` : err.message, CERTIFICATE_ERROR.test(code) ? 'sts-webpki-invalid' : 'sts-policy-fetch-error')
    })
    req.on('response', (res) => {
      // §3.3: redirects are not followed; anything but 200 is no policy
      if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode}${res.statusCode && res.statusCode >= 300 && res.statusCode < 400 ? ' (a redirect: not followed)' : ''}`)
      const type = String(res.headers['content-type'] ?? '')
      if (!/^text\/plain\s*(;|$)/i.test(type)) return fail(`Content-Type ${JSON.stringify(type)}, not text/plain`)
      const declared = Number(res.headers['content-length'])
      if (declared > options.maxBytes) return fail(`the policy is ${declared} bytes, over the limit of ${options.maxBytes}`)
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > options.maxBytes) return fail(`the policy is over the limit of ${options.maxBytes} bytes`)
        chunks.push(chunk)
      })
      res.on('error', (err) => fail(err.message))
      res.on('end', () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(Buffer.concat(chunks).toString('utf8'))
      })
    })
    req.end()
  })
}
