/**
 * Mail address and domain normalization. Every address that becomes a store key passes through
 * here first, so `Alice@Example.COM` and `alice@example.com` are one user.
 *
 * Domains are lowercased and converted to their ASCII (punycode) form; local parts are NFC
 * normalized and lowercased (mailbox treats local parts case-insensitively, as nearly every
 * server does). Limits follow RFC 5321 §4.5.3.1: local part 64 octets, domain 255, path 256.
 */
import {domainToASCII} from 'node:url'
import {MailboxError} from './errors.js'

const MAX_LOCAL = 64
const MAX_DOMAIN = 253
const MAX_ADDRESS = 254
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/
// Anything printable except the specials that would need quoting (RFC 5322 §3.2.3), plus UTF-8.
const LOCAL_ATOM = /^[\p{L}\p{N}\p{M}!#$%&'*+\-/=?^_`{|}~]+$/u

/**
 * Results of the normalizations, kept: every SMTP transaction normalizes the same few addresses
 * and domains several times (RCPT, the delivery, the policy checks), and NFC, IDNA and the label
 * checks were ~4 % of the server's CPU per message in `npm run bench -- smtp`. Both functions are
 * pure, so a kept result is the result; a refusal is not kept (it throws, and is rare). Bounded:
 * emptied when full, so a client sending many distinct addresses costs at most this many entries.
 */
const KEPT_MAX = 2048
const keptDomains = new Map<string, string>()
const keptAddresses = new Map<string, string>()

function keep(kept: Map<string, string>, input: string, output: string): string {
  if (kept.size >= KEPT_MAX) kept.clear()
  kept.set(input, output)
  return output
}

export function normalizeDomain(input: string): string {
  return keptDomains.get(input) ?? keep(keptDomains, input, normalizeDomainNow(input))
}

function normalizeDomainNow(input: string): string {
  const raw = input.trim().replace(/\.$/, '')
  if (!raw || /[\s\u0000-\u001f@]/.test(raw)) throw new MailboxError('invalid', `invalid domain: ${JSON.stringify(input)}`)
  const ascii = domainToASCII(raw.normalize('NFC').toLowerCase())
  if (!ascii || ascii.length > MAX_DOMAIN || !ascii.includes('.') && ascii !== 'localhost') {
    throw new MailboxError('invalid', `invalid domain: ${JSON.stringify(input)}`)
  }
  const labels = ascii.split('.')
  if (!labels.every((l) => DOMAIN_LABEL.test(l))) throw new MailboxError('invalid', `invalid domain: ${JSON.stringify(input)}`)
  return ascii
}

/**
 * An SRS local part (src/srs/) holds a whole address besides its own fields, so it often passes 64
 * octets, as RFC 5321 §4.5.3.1 allows a server to accept: these are bounded by the path alone.
 */
const SRS_LOCAL = /^srs[01][=+-]/

export function normalizeLocalPart(input: string): string {
  const local = input.normalize('NFC').toLowerCase()
  const ok =
    local.length > 0 &&
    Buffer.byteLength(local) <= (SRS_LOCAL.test(local) ? MAX_ADDRESS : MAX_LOCAL) &&
    !local.startsWith('.') &&
    !local.endsWith('.') &&
    !local.includes('..') &&
    local.split('.').every((atom) => LOCAL_ATOM.test(atom))
  if (!ok) throw new MailboxError('invalid', `invalid address: ${JSON.stringify(input)}`)
  return local
}

/** `Local@Domain` → `local@domain`; throws `invalid` on anything that is not a plain address. */
export function normalizeAddress(input: string): string {
  return keptAddresses.get(input) ?? keep(keptAddresses, input, normalizeAddressNow(input))
}

function normalizeAddressNow(input: string): string {
  if (/\s/.test(input)) throw new MailboxError('invalid', `invalid address: ${JSON.stringify(input)}`)
  const at = input.lastIndexOf('@')
  if (at <= 0 || at === input.length - 1) throw new MailboxError('invalid', `invalid address: ${JSON.stringify(input)}`)
  let local: string
  let domain: string
  try {
    local = normalizeLocalPart(input.slice(0, at))
    domain = normalizeDomain(input.slice(at + 1))
  } catch {
    throw new MailboxError('invalid', `invalid address: ${JSON.stringify(input)}`)
  }
  const address = `${local}@${domain}`
  if (Buffer.byteLength(address) > MAX_ADDRESS) throw new MailboxError('invalid', `address too long: ${JSON.stringify(input)}`)
  return address
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1)
}

/** An alias key is a full address, or `@domain` for a domain's catch-all. */
export function normalizeAliasKey(input: string): string {
  if (input.startsWith('@')) return '@' + normalizeDomain(input.slice(1))
  return normalizeAddress(input)
}
