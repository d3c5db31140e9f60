/**
 * DKIM key generation and DNS records. Each local domain signs with two keys at once, as mox
 * does: Ed25519 (RFC 8463, small and fast) and RSA-2048 (what every verifier understands), each
 * under its own selector. Selectors name the day they were made and the algorithm
 * (`mbx20261203e`, `mbx20261203r`); a second rotation on one day adds a counter.
 */
import type * as Crypto from 'node:crypto'
import {MailboxError} from '../errors.js'
import {lazyRequire} from '../lazy-require.js'
import type {DkimKeyRecord} from '../store/records.js'

export const RSA_BITS = 2048

/**
 * $MAILBOX_DKIM_RSA_BITS: a test suite's smaller RSA keys (1024 bits: still what every verifier
 * must accept, RFC 8301), as $MAILBOX_PASSWORD_HASH_COST is its cheaper hashes. A 2048-bit key
 * takes ~200 ms of CPU to make, once per `domain add`: hundreds of times in a suite. Unset: 2048.
 */
export const RSA_BITS_ENV = 'MAILBOX_DKIM_RSA_BITS'

export function rsaBits(): number {
  const value = process.env[RSA_BITS_ENV]
  if (!value) return RSA_BITS
  if (!['1024', '2048', '3072', '4096'].includes(value)) throw new MailboxError('invalid', `${RSA_BITS_ENV} must be 1024, 2048, 3072 or 4096, not ${JSON.stringify(value)}`)
  return Number(value)
}

const day = (at: number) => new Date(at).toISOString().slice(0, 10).replaceAll('-', '')

/** A fresh pair of active keys for `domain`, with selectors not in `taken`. */
export function generateDkimKeys(domain: string, at: number, taken: ReadonlySet<string> = new Set()): DkimKeyRecord[] {
  const free = (letter: string) => {
    const base = `mbx${day(at)}`
    for (let n = 1; ; n++) {
      const selector = n === 1 ? `${base}${letter}` : `${base}${letter}${n}`
      if (!taken.has(selector)) return selector
    }
  }
  // node:crypto at first use: the schema migrations import this module (lazy-require.ts)
  const {generateKeyPairSync} = lazyRequire<typeof Crypto>('node:crypto')
  const ed = generateKeyPairSync('ed25519')
  const rsa = generateKeyPairSync('rsa', {modulusLength: rsaBits()})
  const pem = (k: typeof ed.privateKey) => k.export({format: 'pem', type: 'pkcs8'}).toString()
  // RFC 8463: the Ed25519 p= is the raw 32-byte key, the last bytes of its SubjectPublicKeyInfo
  const edRaw = ed.publicKey.export({format: 'der', type: 'spki'}).subarray(-32)
  return [
    {domain, selector: free('e'), algorithm: 'ed25519', privateKey: pem(ed.privateKey), publicKey: edRaw.toString('base64'), state: 'active', createdAt: at},
    {domain, selector: free('r'), algorithm: 'rsa', privateKey: pem(rsa.privateKey), publicKey: rsa.publicKey.export({format: 'der', type: 'spki'}).toString('base64'), state: 'active', createdAt: at},
  ]
}

export interface DkimDnsRecord {
  /** owner name, without the trailing dot: `mbx20261203e._domainkey.example.com` */
  name: string
  type: 'TXT'
  value: string
  selector: string
  state: DkimKeyRecord['state']
}

export function dkimDnsRecord(key: DkimKeyRecord): DkimDnsRecord {
  const k = key.algorithm === 'ed25519' ? 'ed25519' : 'rsa'
  return {name: `${key.selector}._domainkey.${key.domain}`, type: 'TXT', value: `v=DKIM1; k=${k}; p=${key.publicKey}`, selector: key.selector, state: key.state}
}
