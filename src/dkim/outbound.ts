/**
 * Which outgoing messages are signed, and with what: a message whose From: address is in a local
 * domain (or a subdomain of one, as the bounces from MAILER-DAEMON@<hostname> are) is signed with
 * that domain's active keys, read from the store each time, so a rotation by `mailbox dkim rotate`
 * signs the next message with the new pair, server running or not.
 */
import {normalizeDomain} from '../address.js'
import type {Envelope} from '../mime/envelope.js'
import type {MailboxStore} from '../store/backend.js'
import {dkimSignatures, type SigningKey} from './sign.js'

/** config `dkim` (see config-schema.ts) */
export interface DkimConfig {
  /** sign outgoing mail of local domains; off: nothing is signed (but what `domains` turns on) */
  sign: boolean
  /** per local domain, instead of `sign`: {"example.org": false} leaves its mail unsigned */
  domains: Record<string, boolean>
}

export const DEFAULT_DKIM: DkimConfig = {sign: true, domains: {}}

/** does `config` have `domain` (a local domain, as signingDomainOf gives it) sign? */
export function signsFor(config: DkimConfig | undefined, domain: string): boolean {
  return config?.domains?.[domain] ?? config?.sign ?? true
}

/** the local domain that signs for `domain`: itself, else the nearest parent that is local */
export async function signingDomainOf(store: MailboxStore, domain: string): Promise<string | undefined> {
  let name: string
  try {
    name = normalizeDomain(domain)
  } catch {
    return undefined
  }
  for (let labels = name.split('.'); labels.length >= 2; labels = labels.slice(1)) {
    const candidate = labels.join('.')
    if (await store.directory.isLocalDomain(candidate)) return candidate
  }
  return undefined
}

/** the domain of the message's first From: address, if it has one */
export function fromDomain(envelope: Envelope): string | undefined {
  return envelope.from.find((a) => a.mailbox !== undefined && a.host)?.host
}

/**
 * What makes the signatures: in the server a mail-auth thread (`mailauth.sign`), so the event
 * loop does not; without one (`mailbox send` with the store alone) this process.
 */
export type Signer = (message: Buffer, domain: string, keys: SigningKey[]) => Promise<Buffer>

const signHere: Signer = (message, domain, keys) => dkimSignatures(message, domain, keys)

/**
 * The DKIM-Signature fields to put on top of `message`, or undefined when it is not ours to
 * sign (no From: in a local domain, a domain whose signing `config` turns off, or a domain without
 * active keys). Without `config` every local domain signs.
 */
export async function outboundSignatures(store: MailboxStore, message: Buffer, envelope: Envelope, options: {signer?: Signer; config?: DkimConfig} = {}): Promise<Buffer | undefined> {
  const {signer = signHere, config} = options
  const from = fromDomain(envelope)
  const domain = from && (await signingDomainOf(store, from))
  if (!domain || !signsFor(config, domain)) return undefined
  const keys = await store.dkim.activeKeys(domain)
  if (keys.length === 0) return undefined
  return signer(message, domain, keys.map(({selector, algorithm, privateKey}) => ({selector, algorithm, privateKey})))
}
