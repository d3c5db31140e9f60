/**
 * One ACME order (RFC 8555 §7.4) through acme-client: the account (its key made once per
 * directory and kept in the store before it is registered, so a crash never orphans an account
 * the CA knows), a fresh key and CSR for the name, the challenge answered through
 * ChallengeResponses, and the certificate with its chain as StoredCertificate.
 *
 * acme-client (with axios and an X.509 stack) is imported at the first order: `serve` without
 * ACME and the light CLI commands never load it. Its HTTP client is a process-wide axios
 * instance, configured here through its documented `acme.axios.defaults`: the CA file's trust
 * (besides Node's roots), a timeout per request, and few retries of its own (a failed order is
 * retried by the manager, with backoff).
 */
import {X509Certificate} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {Agent} from 'node:https'
import {rootCertificates} from 'node:tls'
import type * as AcmeClient from 'acme-client'
import type {AcmeAccount, CertificateStore, StoredCertificate} from '../certs/types.js'
import {MailboxError} from '../errors.js'
import type {ChallengeResponses} from './challenges.js'

export type ChallengeType = 'tls-alpn-01' | 'http-01'

export interface OrderRequest {
  directory: string
  email?: string
  name: string
  challenge: ChallengeType
  orderTimeoutMs: number
}

/** each request to the CA is given up after this (acme-client would wait for ever) */
const REQUEST_TIMEOUT_MS = 30_000
/** acme-client's own retries of a request that failed with 5xx or 429 or no answer */
const REQUEST_RETRIES = 2

type Acme = typeof AcmeClient
let loaded: {acme: Acme; caFile: string | undefined} | undefined

/** acme-client, its HTTP client trusting Node's roots and `caFile` (read at each change of it) */
async function acmeClient(caFile: string | undefined): Promise<Acme> {
  if (loaded && loaded.caFile === caFile) return loaded.acme
  const acme = loaded?.acme ?? ((await import('acme-client')) as unknown as {default: Acme}).default
  let ca: string[] | undefined
  if (caFile) {
    try {
      ca = [...rootCertificates, readFileSync(caFile, 'utf8')]
    } catch (err) {
      throw new MailboxError('invalid', `cannot read acme.caFile ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  acme.axios.defaults.httpsAgent = ca ? new Agent({ca, keepAlive: false}) : undefined
  acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS
  ;(acme.axios.defaults as {acmeSettings?: {retryMaxAttempts: number}}).acmeSettings!.retryMaxAttempts = REQUEST_RETRIES
  loaded = {acme, caFile}
  return acme
}

export class AcmeOrderer {
  constructor(
    private readonly certs: CertificateStore,
    private readonly responses: ChallengeResponses,
    private readonly caFile: () => string | undefined,
  ) {}

  async order(request: OrderRequest): Promise<StoredCertificate> {
    const acme = await acmeClient(this.caFile())
    const account = await this.account(acme, request)
    const client = new acme.Client({
      directoryUrl: request.directory,
      accountKey: account.keyPem,
      ...(account.url ? {accountUrl: account.url} : {}),
      // polling the order and its authorizations: quick at first (a CA validates in seconds)
      backoffAttempts: 10,
      backoffMin: 1000,
      backoffMax: 10_000,
    })
    const key = await acme.crypto.createPrivateEcdsaKey('P-256')
    // RFC 5280's ub-common-name is 64: a longer name goes in the SAN alone (CAs refuse such a CN)
    const [, csr] = await acme.crypto.createCsr({...(request.name.length <= 64 ? {commonName: request.name} : {}), altNames: [request.name]}, key)
    const certPem = await withTimeout(
      client.auto({
        csr,
        ...(request.email ? {email: request.email} : {}),
        termsOfServiceAgreed: true,
        // the CA checks; our own check would ask the system's DNS, which may not point here yet
        skipChallengeVerification: true,
        challengePriority: [request.challenge],
        challengeCreateFn: async (authz, challenge, keyAuthorization) => {
          if (challenge.type === 'http-01') this.responses.putHttp(challenge.token, keyAuthorization)
          else {
            const [alpnKey, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization)
            this.responses.putAlpn(authz.identifier.value, {certPem: alpnCert, keyPem: alpnKey})
          }
        },
        challengeRemoveFn: async (authz, challenge) => {
          if (challenge.type === 'http-01') this.responses.removeHttp(challenge.token)
          else this.responses.removeAlpn(authz.identifier.value)
        },
      }),
      request.orderTimeoutMs,
      `the order for ${request.name} took longer than acme.orderTimeoutMs (${request.orderTimeoutMs} ms)`,
    )
    if (account.url && account.email !== request.email) await client.updateAccount({contact: request.email ? [`mailto:${request.email}`] : []})
    if (!account.url || account.email !== request.email) {
      await this.certs.putAccount({...account, url: client.getAccountUrl(), ...(request.email ? {email: request.email} : {})})
    }
    return storedCertificate(request, certPem, key.toString())
  }

  /** the directory's account: its key made and kept once; the CA registers it at the first order */
  private async account(acme: Acme, request: OrderRequest): Promise<AcmeAccount> {
    const kept = await this.certs.account(request.directory)
    if (kept) return kept
    const account: AcmeAccount = {directory: request.directory, keyPem: (await acme.crypto.createPrivateEcdsaKey('P-256')).toString(), ...(request.email ? {email: request.email} : {})}
    await this.certs.putAccount(account)
    return account
  }
}

/** the leaf's dates and issuer read from the PEM (the leaf first, then the chain) */
export function storedCertificate(request: Pick<OrderRequest, 'name' | 'directory'>, certPem: string, keyPem: string): StoredCertificate {
  const leaf = new X509Certificate(certPem)
  return {
    names: [request.name],
    certPem,
    keyPem,
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
    issuer: leaf.issuer.split('\n').join(', '),
    source: 'acme',
    directory: request.directory,
    updatedAt: Date.now(),
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms).unref()))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
