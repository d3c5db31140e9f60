/**
 * Thunderbird's autoconfig document ("clientConfig" version 1.1), which Thunderbird, K-9/Thunderbird
 * for Android, Evolution and others fetch from `autoconfig.DOMAIN/mail/config-v1.1.xml` or
 * `DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml` (the format:
 * https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat). One incomingServer per
 * IMAP then POP3 endpoint and one outgoingServer per submission endpoint, preferred first; the
 * user name is the whole address (%EMAILADDRESS%, filled in by the client), the password sent as
 * is inside TLS (password-cleartext: the server has no challenge-response mechanism to offer).
 */
import type {ClientEndpoint, ClientSettings} from './settings.js'
import {xmlText} from './xml.js'

const SOCKET_TYPE = {tls: 'SSL', starttls: 'STARTTLS'} as const

function server(element: 'incomingServer' | 'outgoingServer', type: string, hostname: string, endpoint: ClientEndpoint): string {
  return [
    `    <${element} type="${type}">`,
    `      <hostname>${xmlText(hostname)}</hostname>`,
    `      <port>${endpoint.port}</port>`,
    `      <socketType>${SOCKET_TYPE[endpoint.security]}</socketType>`,
    '      <username>%EMAILADDRESS%</username>',
    '      <authentication>password-cleartext</authentication>',
    `    </${element}>`,
  ].join('\n')
}

/** the document for `domain` (an A-label: Thunderbird wants ASCII names) */
export function thunderbirdConfig(domain: string, settings: ClientSettings): string {
  const {hostname} = settings
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${xmlText(domain)}">`,
    `    <domain>${xmlText(domain)}</domain>`,
    `    <displayName>${xmlText(domain)}</displayName>`,
    `    <displayShortName>${xmlText(domain)}</displayShortName>`,
    ...settings.imap.map((e) => server('incomingServer', 'imap', hostname, e)),
    ...settings.pop3.map((e) => server('incomingServer', 'pop3', hostname, e)),
    ...settings.smtp.map((e) => server('outgoingServer', 'smtp', hostname, e)),
    '  </emailProvider>',
    '</clientConfig>',
    '',
  ].join('\n')
}
