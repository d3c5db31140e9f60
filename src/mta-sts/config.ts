/**
 * The `mtaSts` config section: the policy this server serves for its local domains (./route.ts,
 * and the `_mta-sts` id `mailbox domain dns` prints from the same text), and how remote domains'
 * policies are applied to outbound mail (./policies.ts, ../delivery/).
 */
import {formatStsPolicy, type StsMode} from './policy.js'

export interface MtaStsConfig {
  /** the served policy's mode: `testing` until the host has a CA-signed certificate */
  mode: StsMode
  /** the served policy's mx patterns; absent: the server's host name */
  mx?: string[]
  /** the served policy's max_age, seconds */
  maxAge: number
  /** apply remote domains' policies to outbound mail delivered by MX */
  outbound: boolean
  /** PEM CA certificates trusted for policy hosts and MX hosts under a policy, besides Node's */
  caFile?: string
  /** the port policies are fetched from: 443; another only for tests (a test cannot bind 443) */
  policyPort: number
  /** a policy fetch (connect, TLS, the whole body) ends within this */
  fetchTimeoutMs: number
  /** a policy body larger than this is refused (RFC 8461 §3.3 suggests 64 KiB) */
  maxPolicyBytes: number
}

export const DEFAULT_MTA_STS: MtaStsConfig = {
  mode: 'testing',
  maxAge: 604_800,
  outbound: true,
  policyPort: 443,
  fetchTimeoutMs: 10_000,
  maxPolicyBytes: 65_536,
}

/**
 * The policy text served for every local domain. `hostname` is the server's name as DNS
 * records give it; one function so that the served text and the `_mta-sts` id cannot differ.
 */
export function servedPolicy(config: Pick<MtaStsConfig, 'mode' | 'mx' | 'maxAge'>, hostname: string): string {
  const mx = config.mx?.length ? config.mx : [hostname]
  return formatStsPolicy({mode: config.mode, mx: mx.map((m) => m.trim().toLowerCase().replace(/\.$/, '')), maxAge: config.maxAge})
}
