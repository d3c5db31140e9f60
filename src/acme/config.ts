/**
 * ACME's settings (config `acme`, `serve --acme-directory/--acme-email/--acme-ca-file`). No
 * acme-client here: `config show`, `config check` and `init` read this, and must stay light.
 */

/** Let's Encrypt's production directory: what `mailbox init --acme-email` writes */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory'

export const ACME_CHALLENGES = ['auto', 'tls-alpn-01', 'http-01'] as const
export type AcmeChallengeChoice = (typeof ACME_CHALLENGES)[number]

export interface AcmeConfig {
  /** the CA's directory URL; unset: no certificates are ordered */
  directory?: string
  /** the account's contact (RFC 8555 §7.3): the CA writes about expiry and problems */
  email?: string
  /** PEM CA certificates trusted for the directory's HTTPS, besides Node's (a private or test CA) */
  caFile?: string
  /** a certificate is renewed this long before it expires */
  renewBeforeMs: number
  /** how often the certificates are checked for renewal (and new local domains for their names) */
  checkIntervalMs: number
  /** the wait after a failed order; it doubles with each failure in a row, up to retryMaxMs */
  retryMinMs: number
  retryMaxMs: number
  /** auto: TLS-ALPN-01 when the HTTPS port listens, else HTTP-01 */
  challenge: AcmeChallengeChoice
  /** one order, from its creation to the certificate, is given up after this */
  orderTimeoutMs: number
}

export const DEFAULT_ACME: AcmeConfig = {
  renewBeforeMs: 30 * 24 * 3600_000,
  checkIntervalMs: 12 * 3600_000,
  retryMinMs: 60_000,
  retryMaxMs: 24 * 3600_000,
  challenge: 'auto',
  orderTimeoutMs: 5 * 60_000,
}

/** the wait before the next order of a name after `failures` failed ones in a row (1, 2, …) */
export function retryDelay(config: Pick<AcmeConfig, 'retryMinMs' | 'retryMaxMs'>, failures: number): number {
  return Math.min(config.retryMaxMs, config.retryMinMs * 2 ** Math.min(Math.max(failures - 1, 0), 40))
}
