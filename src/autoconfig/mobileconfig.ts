/**
 * An Apple configuration profile (.mobileconfig, an unsigned XML property list) with one
 * com.apple.mail.managed payload: the user's IMAP account (POP3 when IMAP is off) and its
 * submission server, the preferred endpoint of each, TLS on, the address as user name and no
 * password (iOS and macOS ask for it when the profile is installed). Keys:
 * https://developer.apple.com/documentation/devicemanagement/mail
 *
 * Apple's profiles have one "use SSL" flag per server and no separate STARTTLS setting, so the
 * profile names the implicit-TLS endpoint when that listener is on (it comes first in settings),
 * and the flag is always on: nothing here is offered without TLS.
 *
 * The UUIDs and identifiers are derived from the address (name-based UUIDs, RFC 9562 §5.5), so a
 * profile made again for the same user, with changed settings, replaces the installed one
 * instead of adding a second account.
 */
import {createHash} from 'node:crypto'
import {domainOf} from '../address.js'
import {MailboxError} from '../errors.js'
import type {ClientSettings} from './settings.js'
import {xmlText} from './xml.js'

/** the namespace of this server's profile UUIDs (a random UUID, fixed once) */
const PROFILE_NAMESPACE = 'a3a1f3f0-6f0e-4c55-9d2e-5b8a61c0d7e4'

/** RFC 9562 §5.5: version 5, SHA-1 of namespace and name */
export function nameUuid(name: string, namespace = PROFILE_NAMESPACE): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toUpperCase()
}

export interface AppleProfile {
  /** the profile's PayloadIdentifier: the same for every profile of this address */
  identifier: string
  uuid: string
  /** the plist XML */
  text: string
}

type PlistValue = string | number | boolean | PlistValue[] | {[key: string]: PlistValue}

function plist(value: PlistValue, indent: string): string {
  if (typeof value === 'string') return `${indent}<string>${xmlText(value)}</string>`
  if (typeof value === 'number') return `${indent}<integer>${value}</integer>`
  if (typeof value === 'boolean') return `${indent}<${value}/>`
  if (Array.isArray(value)) return [`${indent}<array>`, ...value.map((v) => plist(v, `${indent}  `)), `${indent}</array>`].join('\n')
  return [`${indent}<dict>`, ...Object.entries(value).flatMap(([k, v]) => [`${indent}  <key>${xmlText(k)}</key>`, plist(v, `${indent}  `)]), `${indent}</dict>`].join('\n')
}

/** the profile for `address` (canonical) */
export function appleProfile(address: string, settings: ClientSettings): AppleProfile {
  const incoming = settings.imap[0] ? {type: 'EmailTypeIMAP', endpoint: settings.imap[0]} : settings.pop3[0] ? {type: 'EmailTypePOP', endpoint: settings.pop3[0]} : undefined
  const outgoing = settings.smtp[0]
  if (!incoming || !outgoing) throw new MailboxError('invalid', 'no IMAP or POP3 listener, or no submission listener, is on: a mail profile needs both')
  // reverse-DNS, as Apple's identifiers are; the address's domain keeps it the same when the host changes
  const base = `${domainOf(address).split('.').reverse().join('.')}.mailbox.${nameUuid(`account:${address}`)}`
  const uuid = nameUuid(`profile:${address}`)
  const mail = {
    EmailAccountDescription: address,
    EmailAccountName: address,
    EmailAccountType: incoming.type,
    EmailAddress: address,
    IncomingMailServerAuthentication: 'EmailAuthPassword',
    IncomingMailServerHostName: settings.hostname,
    IncomingMailServerPortNumber: incoming.endpoint.port,
    IncomingMailServerUseSSL: true,
    IncomingMailServerUsername: address,
    OutgoingMailServerAuthentication: 'EmailAuthPassword',
    OutgoingMailServerHostName: settings.hostname,
    OutgoingMailServerPortNumber: outgoing.port,
    OutgoingMailServerUseSSL: true,
    OutgoingMailServerUsername: address,
    OutgoingPasswordSameAsIncomingPassword: true,
    PayloadDescription: `Mail account ${address}`,
    PayloadDisplayName: address,
    PayloadIdentifier: `${base}.mail`,
    PayloadType: 'com.apple.mail.managed',
    PayloadUUID: nameUuid(`mail:${address}`),
    PayloadVersion: 1,
  }
  const profile = {
    PayloadContent: [mail],
    PayloadDescription: `Sets up the mail account ${address} on ${settings.hostname}.`,
    PayloadDisplayName: `Mail: ${address}`,
    PayloadIdentifier: base,
    PayloadRemovalDisallowed: false,
    PayloadType: 'Configuration',
    PayloadUUID: uuid,
    PayloadVersion: 1,
  }
  const text = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    plist(profile, ''),
    '</plist>',
    '',
  ].join('\n')
  return {identifier: base, uuid, text}
}
